// The console's routes in-process, over a made-up bundle directory: the HTML shell for /console and its
// client-side paths, the assets as files (a missing one is 404, never the shell), and a clear 503 when
// the bundle was never built.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import express from 'express';
import helmet from 'helmet';
import { consoleRoutes } from './routes';

const built = mkdtempSync(join(tmpdir(), 'console-assets-'));
const empty = mkdtempSync(join(tmpdir(), 'console-unbuilt-'));
writeFileSync(join(built, 'app.js'), 'console.log("hi")');
writeFileSync(join(built, 'app.css'), 'body{}');
let server: Server;
let base: string;

beforeAll(async () => {
  const app = express();
  app.use(helmet());
  app.use('/console', consoleRoutes(built));
  app.use('/unbuilt', consoleRoutes(empty));
  server = app.listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
  rmSync(built, { recursive: true, force: true });
  rmSync(empty, { recursive: true, force: true });
});

it('answers the shell for /console, /console/ and client-side paths, under the default CSP', async () => {
  for (const path of ['/console', '/console/', '/console/sagas/7b0f', '/console/dead-letters']) {
    const res = await fetch(base + path);
    expect({ path, status: res.status, type: res.headers.get('content-type') }).toEqual({ path, status: 200, type: 'text/html; charset=utf-8' });
    const html = await res.text();
    expect(html).toContain('<script type="module" src="/console/assets/app.js"></script>');
    expect(html).toContain('<link rel="stylesheet" href="/console/assets/app.css">');
    expect(html).not.toMatch(/<script>|<style|style=/);
    expect(res.headers.get('content-security-policy')).toContain("script-src 'self'");
  }
});

it('serves the bundle as files with their types, and a missing asset as 404', async () => {
  const js = await fetch(`${base}/console/assets/app.js`);
  expect([js.status, js.headers.get('content-type')]).toEqual([200, 'text/javascript; charset=utf-8']);
  const css = await fetch(`${base}/console/assets/app.css`);
  expect([css.status, css.headers.get('content-type')]).toEqual([200, 'text/css; charset=utf-8']);
  expect((await fetch(`${base}/console/assets/other.js`)).status).toBe(404);
});

it('says how to build the console when its bundle is missing', async () => {
  const res = await fetch(`${base}/unbuilt/`);
  expect(res.status).toBe(503);
  expect(await res.text()).toContain('node scripts/build.mjs console');
});
