import express from 'express';
import type { Server } from 'node:http';
import { waitFor } from '@orderflow/testing';
import {
  closeServer,
  createHealthMonitor,
  createMetricsRegistry,
  listen,
  opsRoutes,
  serveOps,
  type DependencyCheck,
  type HealthMonitorOptions,
  type StatusReport,
} from './index';

const up = (name: string): DependencyCheck => ({ name, check: async () => undefined });
const refused = (name: string, message = 'ECONNREFUSED'): DependencyCheck => ({ name, check: async () => Promise.reject(new Error(message)) });
const hanging = (name: string): DependencyCheck => ({ name, check: () => new Promise<void>(() => undefined) });

/** A dependency whose health the test switches, counting how often it is checked. */
function switchable(name: string) {
  const state = { ok: true, calls: 0 };
  const check: DependencyCheck = {
    name,
    check: async () => {
      state.calls++;
      if (!state.ok) throw new Error(`${name} refused the connection`);
    },
  };
  return { check, state };
}

const servers: Server[] = [];
const monitors: { stop(): Promise<void> }[] = [];
afterEach(async () => {
  for (const server of servers.splice(0)) await closeServer(server);
  for (const monitor of monitors.splice(0)) await monitor.stop();
});

async function serve(checks: DependencyCheck[], overrides: Partial<HealthMonitorOptions> = {}) {
  const registry = createMetricsRegistry('test');
  const monitor = createHealthMonitor({
    service: 'test',
    version: '1.2.3',
    checks,
    requiredForReadiness: ['postgres'],
    intervalMs: 50,
    timeoutMs: 100,
    registry,
    ...overrides,
  });
  monitors.push(monitor);
  await monitor.start();
  monitor.markStarted();
  const { server, port } = await listen(express().use(opsRoutes({ monitor, registry })), '127.0.0.1', 0);
  servers.push(server);
  const url = `http://127.0.0.1:${port}`;
  const get = async (path: string) => {
    const res = await fetch(`${url}${path}`);
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  };
  return { monitor, url, get, status: async () => (await get('/status')).body as unknown as StatusReport };
}

describe('readiness', () => {
  it('stays ready while shared brokers are down or hang, because only the own database counts', async () => {
    const { get } = await serve([up('postgres'), refused('kafka'), hanging('redis'), refused('grpc:inventory')]);
    expect(await get('/readyz')).toEqual({ status: 200, body: { status: 'ready', down: [] } });
  });

  it('answers 503 naming the own database when it does not answer', async () => {
    const { get } = await serve([refused('postgres'), up('kafka')]);
    expect(await get('/readyz')).toEqual({ status: 503, body: { status: 'unavailable', down: ['postgres'] } });
  });

  it('answers 503 while starting and once shutdown has begun', async () => {
    const monitor = createHealthMonitor({
      service: 'test',
      version: 'v',
      checks: [up('postgres')],
      requiredForReadiness: ['postgres'],
      intervalMs: 50,
      timeoutMs: 100,
    });
    monitors.push(monitor);
    await monitor.start();
    expect(monitor.readiness()).toEqual({ ready: false, down: ['starting'] });
    monitor.markStarted();
    expect(monitor.readiness()).toEqual({ ready: true, down: [] });
    monitor.markDraining();
    expect(monitor.readiness()).toEqual({ ready: false, down: ['shutting-down'] });
  });
});

describe('status', () => {
  it('names every dependency with its state, latency, last check and since when, and the service itself', async () => {
    const { status } = await serve([up('postgres'), refused('kafka', 'Connection error: connect ECONNREFUSED')]);
    const report = await status();
    expect(report).toMatchObject({ service: 'test', version: '1.2.3', draining: false, ready: true, uptimeSeconds: expect.any(Number) });
    expect(report.dependencies).toEqual([
      { name: 'postgres', ok: true, latencyMs: expect.any(Number), checkedAt: expect.any(String), since: expect.any(String) },
      {
        name: 'kafka',
        ok: false,
        latencyMs: expect.any(Number),
        checkedAt: expect.any(String),
        since: expect.any(String),
        error: 'Connection error: connect ECONNREFUSED',
      },
    ]);
  });

  it('marks a dependency that does not answer as down after the check timeout', async () => {
    const { status } = await serve([up('postgres'), hanging('redis')], { timeoutMs: 80 });
    const redis = (await status()).dependencies.find((d) => d.name === 'redis')!;
    expect(redis).toMatchObject({ ok: false, error: 'redis did not answer within 80 ms' });
    expect(redis.latencyMs).toBeGreaterThanOrEqual(75);
  });

  it('answers from the background rounds: requests run no checks and return at once while a dependency hangs', async () => {
    const counted = switchable('postgres');
    const { get, monitor } = await serve([counted.check, hanging('kafka')], { intervalMs: 60_000, timeoutMs: 1_000 });
    const before = counted.state.calls;
    for (let i = 0; i < 20; i++) {
      for (const path of ['/status', '/readyz']) {
        const started = Date.now();
        expect((await get(path)).status).toBe(200);
        expect(Date.now() - started).toBeLessThan(500); // far below the 1 s a check of the hanging kafka takes
      }
    }
    expect(counted.state.calls).toBe(before);
    await monitor.stop();
  });

  it('keeps `since` while a state lasts and moves it when the state changes, in both directions', async () => {
    const kafka = switchable('kafka');
    const { status } = await serve([up('postgres'), kafka.check]);
    const kafkaState = async () => (await status()).dependencies.find((d) => d.name === 'kafka')!;
    const upSince = (await kafkaState()).since;
    await waitFor(async () => (await kafkaState()).checkedAt > upSince, { timeoutMs: 2_000, intervalMs: 20, what: 'another round' });
    expect((await kafkaState()).since).toBe(upSince);

    kafka.state.ok = false;
    const down = await waitFor(async () => ((s) => !s.ok && s)(await kafkaState()), { timeoutMs: 2_000, intervalMs: 20, what: 'kafka to be reported down' });
    expect(down.since > upSince).toBe(true);
    expect(down.error).toBe('kafka refused the connection');

    kafka.state.ok = true;
    const back = await waitFor(async () => ((s) => s.ok && s)(await kafkaState()), { timeoutMs: 2_000, intervalMs: 20, what: 'kafka to be reported back' });
    expect(back.since > down.since).toBe(true);
    expect(back).not.toHaveProperty('error');
  });

  it('never shows connection strings, credentials or internal addresses in errors', async () => {
    const leaky = refused(
      'rabbitmq',
      'connect ECONNREFUSED 10.1.2.3:5672 while opening amqp://orders:s3cret@rabbit.internal:5672/vhost and postgres://app:pw@db.internal.svc:5432/x',
    );
    const { url } = await serve([up('postgres'), leaky]);
    const text = await (await fetch(`${url}/status`)).text();
    expect(text).toContain('ECONNREFUSED');
    for (const secret of ['s3cret', 'orders:', 'pw@', '10.1.2.3', 'rabbit.internal', 'db.internal', '5672']) expect(text).not.toContain(secret);
  });

  it('shows breakers, the outbox, consumer lag and queue depth where the app has them, and only there', async () => {
    const { status } = await serve([up('postgres')], {
      sources: {
        breakers: () => [{ name: 'inventory', state: 'open' }],
        outbox: async () => ({ backlog: 3, oldestAgeSeconds: 1.5 }),
        consumerLag: async () => [{ group: 'g', topic: 't', lag: 7 }],
        queues: async () => [{ queue: 'notification.send', messages: 2, consumers: 1 }],
      },
    });
    expect(await status()).toMatchObject({
      breakers: [{ name: 'inventory', state: 'open' }],
      outbox: { backlog: 3, oldestAgeSeconds: 1.5 },
      consumerLag: [{ group: 'g', topic: 't', lag: 7 }],
      queues: [{ queue: 'notification.send', messages: 2, consumers: 1 }],
    });
    const plain = await (await serve([up('postgres')])).status();
    for (const part of ['breakers', 'outbox', 'consumerLag', 'queues']) expect(plain).not.toHaveProperty(part);
  });

  it('keeps the last reading when a later read fails, and shows null before the first success', async () => {
    let fail = true;
    let reads = 0;
    const { status } = await serve([up('postgres')], {
      sources: { outbox: async () => (++reads, fail ? Promise.reject(new Error('down')) : { backlog: reads, oldestAgeSeconds: 0 }) },
    });
    expect((await status()).outbox).toBeNull();
    fail = false;
    await waitFor(async () => (await status()).outbox !== null, { timeoutMs: 2_000, intervalMs: 20, what: 'a reading' });
    fail = true;
    const last = (await status()).outbox;
    const failedFrom = reads;
    await waitFor(() => reads >= failedFrom + 3, { timeoutMs: 2_000, intervalMs: 20, what: 'three failing reads' });
    expect((await status()).outbox).toEqual(last);
  });

  it('reports orderflow_dependency_up per dependency in /metrics', async () => {
    const { url } = await serve([up('postgres'), refused('kafka')]);
    const text = await (await fetch(`${url}/metrics`)).text();
    expect(text).toMatch(/orderflow_dependency_up\{dependency="postgres",service="test"\} 1/);
    expect(text).toMatch(/orderflow_dependency_up\{dependency="kafka",service="test"\} 0/);
  });
});

describe('ops server', () => {
  it('serves healthz, readyz, status and Prometheus metrics with the process metrics', async () => {
    const registry = createMetricsRegistry('test');
    const config = { HTTP_HOST: '127.0.0.1', STATUS_CHECK_INTERVAL_MS: 1_000, STATUS_CHECK_TIMEOUT_MS: 100 };
    const ops = await serveOps({ service: 'test', checks: [up('postgres')], registry, config, port: 0 });
    const url = `http://127.0.0.1:${ops.port}`;
    expect((await fetch(`${url}/healthz`)).status).toBe(200);
    expect((await fetch(`${url}/readyz`)).status).toBe(200);
    expect(((await (await fetch(`${url}/status`)).json()) as StatusReport).service).toBe('test');
    expect(await (await fetch(`${url}/metrics`)).text()).toMatch(/process_resident_memory_bytes\{service="test"\}/);
    ops.stopAccepting();
    expect((await fetch(`${url}/readyz`)).status).toBe(503);
    await ops.close();
  });

  it('names the variable when the port is already taken', async () => {
    const { server, port } = await listen(express(), '127.0.0.1', 0);
    servers.push(server);
    await expect(listen(express(), '127.0.0.1', port, 'OPS_PORT')).rejects.toThrow(`OPS_PORT ${port} is already in use`);
  });
});
