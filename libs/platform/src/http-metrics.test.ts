import express, { Router } from 'express';
import { Registry } from 'prom-client';
import { waitFor } from '@orderflow/testing';
import { cachedCollect, closeServer, httpMetrics, listen } from './index';

describe('httpMetrics', () => {
  it('labels requests with the route pattern express matched, also when an error unwinds the routers', async () => {
    const registry = new Registry();
    const app = express().use(httpMetrics(registry));
    const orders = Router();
    orders.get('/', (_req, res) => void res.json([]));
    orders.get('/:id', (req, res) => void (req.params.id === 'boom' ? res.status(409).end() : res.json({})));
    orders.post('/:id/cancel', () => {
      throw Object.assign(new Error('no'), { status: 422 });
    });
    const v1 = Router();
    v1.use((req, _res, next) => next(req.get('authorization') ? undefined : Object.assign(new Error('who?'), { status: 401 })));
    v1.use('/orders', orders);
    app.use('/v1', v1);
    app.use((_req, res) => void res.status(404).end());
    app.use(((error, _req, res, _next) => void res.status((error as { status: number }).status).end()) as express.ErrorRequestHandler);
    const { server, port } = await listen(app, '127.0.0.1', 0);
    const url = `http://127.0.0.1:${port}`;
    const auth = { authorization: 'x' };
    await fetch(`${url}/v1/orders`, { headers: auth });
    await fetch(`${url}/v1/orders/123`, { headers: auth });
    await fetch(`${url}/v1/orders/boom`, { headers: auth });
    await fetch(`${url}/v1/orders/123/cancel`, { method: 'POST', headers: auth });
    await fetch(`${url}/v1/orders/123`);
    await fetch(`${url}/nowhere/at/all`);
    await closeServer(server);

    const { values } = (await registry.getSingleMetric('orderflow_http_request_duration_seconds')!.get()) as {
      values: { metricName?: string; labels: Record<string, string>; value: number }[];
    };
    const counts = values.filter((v) => v.metricName?.endsWith('_count')).map((v) => `${v.labels.method} ${v.labels.route} ${v.labels.status_code} ${v.value}`);
    expect(counts.sort()).toEqual(
      [
        'GET /v1/orders 200 1',
        'GET /v1/orders/:id 200 1',
        'GET /v1/orders/:id 409 1',
        'POST /v1/orders/:id/cancel 422 1',
        'GET /v1/* 401 1',
        'GET unmatched 404 1',
      ].sort(),
    );
  });
});

describe('cachedCollect', () => {
  it('answers within its timeout, lands a slow read for the next scrape, and keeps the last values when a read fails', async () => {
    let answer: () => Promise<number> = async () => 1;
    const read = cachedCollect(() => answer(), { ttlMs: 0, timeoutMs: 50 });
    expect(await read()).toBe(1);

    let release!: () => void;
    answer = () => new Promise<number>((resolve) => (release = () => resolve(2)));
    const started = Date.now();
    expect(await read()).toBe(1); // the read in progress is slower than the timeout
    expect(Date.now() - started).toBeLessThan(1_000);
    release();
    expect(await read()).toBe(2); // the slow read landed: this scrape waits for it, not for a new one

    answer = async () => Promise.reject(new Error('down'));
    expect(await read()).toBe(2);
  });

  it('reads at most once per ttl', async () => {
    let reads = 0;
    const read = cachedCollect(async () => ++reads, { ttlMs: 60_000 });
    await Promise.all([read(), read()]);
    expect(await read()).toBe(1);
    expect(reads).toBe(1);
  });
});

describe('closeServer', () => {
  it('lets a request in flight finish, answered with Connection: close, and then stops', async () => {
    let finish: (() => void) | undefined;
    const app = express().get('/slow', async (_req, res) => {
      await new Promise<void>((resolve) => (finish = resolve));
      res.json({ done: true });
    });
    const { server, port } = await listen(app, '127.0.0.1', 0);
    const pending = fetch(`http://127.0.0.1:${port}/slow`);
    await waitFor(() => finish !== undefined, { what: 'the request to reach its handler' });
    let closed = false;
    const closing = closeServer(server).then(() => (closed = true));
    const refused = () =>
      fetch(`http://127.0.0.1:${port}/slow`).then(
        () => false,
        () => true,
      );
    await waitFor(refused, { what: 'new connections to be refused' });
    expect(closed).toBe(false);
    finish!();
    const res = await pending;
    expect(await res.json()).toEqual({ done: true });
    expect(res.headers.get('connection')).toBe('close');
    await closing;
    await expect(fetch(`http://127.0.0.1:${port}/slow`)).rejects.toThrow();
  });
});
