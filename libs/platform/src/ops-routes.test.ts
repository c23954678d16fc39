import express from 'express';
import type { Server } from 'node:http';
import { closeServer, createMetricsRegistry, listen, opsRoutes, type DependencyCheck } from './index';

async function serve(checks: DependencyCheck[], accepting = () => true): Promise<{ server: Server; url: string }> {
  const app = express();
  app.use(opsRoutes({ checks, registry: createMetricsRegistry('test'), accepting, checkTimeoutMs: 200 }));
  const { server, port } = await listen(app, '127.0.0.1', 0);
  return { server, url: `http://127.0.0.1:${port}` };
}

describe('ops routes', () => {
  const up: DependencyCheck = { name: 'postgres', check: async () => undefined };
  const down: DependencyCheck = { name: 'kafka', check: async () => Promise.reject(new Error('ECONNREFUSED')) };
  const hanging: DependencyCheck = { name: 'redis', check: () => new Promise<void>(() => undefined) };

  it('answers ready when every dependency answers', async () => {
    const { server, url } = await serve([up]);
    const res = await fetch(`${url}/readyz`);
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ status: 'ready', down: [] });
    await closeServer(server);
  });

  it('answers 503 naming each dependency that is down or too slow', async () => {
    const { server, url } = await serve([up, down, hanging]);
    const res = await fetch(`${url}/readyz`);
    expect(res.status).toBe(503);
    const body = (await res.json()) as { down: string[]; dependencies: unknown[] };
    expect(body.down).toEqual(['kafka', 'redis']);
    expect(body.dependencies).toContainEqual({ name: 'kafka', ok: false, error: 'ECONNREFUSED' });
    expect((await fetch(`${url}/healthz`)).status).toBe(200);
    await closeServer(server);
  });

  it('answers 503 once shutdown has begun', async () => {
    const { server, url } = await serve([up], () => false);
    const res = await fetch(`${url}/readyz`);
    expect(res.status).toBe(503);
    expect(((await res.json()) as { down: string[] }).down).toEqual(['shutting-down']);
    await closeServer(server);
  });

  it('serves Prometheus metrics with the process metrics', async () => {
    const { server, url } = await serve([]);
    const text = await (await fetch(`${url}/metrics`)).text();
    expect(text).toMatch(/process_resident_memory_bytes\{service="test"\}/);
    await closeServer(server);
  });

  it('names the variable when the port is already taken', async () => {
    const { server } = await serve([]);
    const port = (server.address() as { port: number }).port;
    await expect(listen(express(), '127.0.0.1', port)).rejects.toThrow(`HTTP_PORT ${port} is already in use`);
    await closeServer(server);
  });
});
