import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import pino from 'pino';
import { createHttpApp, type HttpAppDeps } from './app';
import { PROBLEMS } from './problem';

let server: Server;
let base: string;

beforeAll(async () => {
  // Problem pages need no downstream: every dependency of /v1 is left out.
  const pass = ((_req: unknown, _res: unknown, next: () => void) => next()) as HttpAppDeps['requestLog'];
  const app = createHttpApp({
    auth: { JWT_SECRET: 'a-problem-pages-test-secret-of-32-chars' } as HttpAppDeps['auth'],
    requestLog: pass,
    admin: {} as HttpAppDeps['admin'],
    logger: pino({ level: 'silent' }),
  } as HttpAppDeps);
  server = app.listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise((resolve) => server.close(resolve)));

describe('problem type pages', () => {
  it('serves a page for every problem type', async () => {
    for (const [type, { title, status }] of Object.entries(PROBLEMS)) {
      const res = await fetch(`${base}/problems/${type}`);
      expect({ type, status: res.status, contentType: res.headers.get('content-type') }).toEqual({
        type,
        status: 200,
        contentType: 'text/html; charset=utf-8',
      });
      const html = await res.text();
      expect(html).toContain(title.replace(/'/g, '&#39;'));
      expect(html).toContain(`HTTP status ${status}`);
    }
  });

  it('answers an unknown problem type with a not-found problem', async () => {
    const res = await fetch(`${base}/problems/no-such-problem`);
    expect(res.status).toBe(404);
    expect(await res.json()).toMatchObject({ type: '/problems/not-found', status: 404 });
  });
});
