// Fault tests: the database itself fails under load. Postgres crashes (immediate stop, crash recovery
// on start), restarts, or stalls (connections open, nothing answers: a partition). Throughout, no app
// process dies, writes answer 503 problem+json with Retry-After within their bounded waits, readiness
// follows the database, and afterwards every answered order is there, ended, and answered again the
// same way. They stop the Postgres server every suite uses, so they run with the serial fault suites.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { repoRoot } from '@orderflow/config';
import { startFreezableProxy, testInfra, waitFor, type FreezableProxy } from '@orderflow/testing';
import { apiClient } from '../support/client';
import { postgresServer } from '../support/faults';
import { waitForExclusiveBrokers } from '../support/freeze';
import { expectEveryOrderConfirmed } from '../support/invariants';
import { createProducts, orderLoad, type Api, type OrderLoad } from '../support/load';
import { startSystem, type Instance, type System } from '../support/system';

let system: System;
let api: Api;
let admin: string;
let proxy: FreezableProxy;

// Once the health checks have found the database down (readiness 503), a write is refused at once
// instead of waiting out the pool's bounds (PG_CONNECT_TIMEOUT_MS, PG_QUERY_TIMEOUT_MS: 15 s on a stall).
const FAIL_FAST_MS = 1_000;
/** Measured recovery, for the README's table (var/test/postgres-faults.json). */
const measured: Record<string, unknown> = {};

beforeAll(async () => {
  await waitForExclusiveBrokers(); // a manual run must not stop the database under someone else's tests
  // Every app reaches Postgres through a proxy the stall test can freeze; crash and restart go through it too.
  const server = new URL(testInfra().databaseUrl);
  proxy = await startFreezableProxy({ host: server.hostname, port: Number(server.port || 5432) });
  const viaProxy = new URL(server);
  viaProxy.hostname = '127.0.0.1';
  viaProxy.port = String(proxy.port);
  system = await startSystem('faults_pg', {
    env: { DATABASE_URL: viaProxy.toString(), SAGA_WATCHDOG_MS: '3000', SAGA_RETRY_MAX_MS: '1000' },
  });
  api = apiClient(system.url);
  admin = system.token('ops', 'admin');
}, 16 * 60_000);

afterAll(async () => {
  proxy?.thaw();
  // A failed test may have left the database down; every later suite needs it.
  if (!(await postgresServer.reachable())) await postgresServer.start();
  await system?.stop();
  await proxy?.close();
  const file = join(repoRoot(), 'var', 'test', 'postgres-faults.json');
  mkdirSync(join(repoRoot(), 'var', 'test'), { recursive: true });
  writeFileSync(file, JSON.stringify({ ...readJson(file), ...measured, at: new Date().toISOString() }, null, 2));
});

function readJson(file: string): Record<string, unknown> {
  try {
    return JSON.parse(readFileSync(file, 'utf8'));
  } catch {
    return {};
  }
}

const readyStatus = (instance: Instance) =>
  fetch(`${system.opsUrl(instance)}/readyz`, { signal: AbortSignal.timeout(2_000) }).then(
    (r) => r.status,
    () => 0,
  );
const everyApp = async (status: number) => (await Promise.all(system.instances().map(readyStatus))).every((s) => s === status);

/** One write sent while the database is out of reach: its status, headers, body and how long its answer took. */
async function probeWrite(token: string, sku: string) {
  const sentAt = Date.now();
  const res = await api.placeOrder(token, [{ sku, quantity: 1 }], randomUUID());
  return { ms: Date.now() - sentAt, status: res.status, type: res.headers.get('content-type'), retryAfter: res.headers.get('retry-after'), body: res.body };
}

interface Fault {
  name: string;
  /** Takes the database away; resolves once it is away. */
  inject(): Promise<void>;
  /** Brings it back; resolves once it accepts connections again. */
  recover(): Promise<void>;
  /** How long it stays away (the load keeps running meanwhile). */
  downMs: number;
  /** Whether the server process restarts (crash, restart) or stays up unreachable (stall). */
  restarts: boolean;
}

/** When the Postgres server process started: a crash or restart that really happened moves it. */
async function serverStartedAt(): Promise<number> {
  const client = new pg.Client({ connectionString: testInfra().databaseUrl });
  await client.connect();
  try {
    return (await client.query('SELECT pg_postmaster_start_time() AS at')).rows[0].at.getTime();
  } finally {
    await client.end();
  }
}

/**
 * Steady load from several clients; the fault; what a client and the probes see while it lasts; the
 * recovery; then the invariants and the durability check over every order the system answered 202.
 */
async function survives(fault: Fault): Promise<void> {
  const products = await createProducts(api, admin, fault.name, 3, 2_000);
  const skus = [...products.keys()];
  const load = orderLoad(system, api, skus);
  let stopLoad = false;
  const placing = load.keepPlacing({ until: () => stopLoad, lanes: 3, everyMs: 100 });
  const probes: Awaited<ReturnType<typeof probeWrite>>[] = [];
  let result: Record<string, number> = {};
  try {
    await waitFor(() => load.accepted.length >= 15, { timeoutMs: 30_000, what: '15 orders before the fault' });
    const startedBefore = await serverStartedAt();
    const outageStart = Date.now();
    await fault.inject();
    // Readiness follows the database: every app stops taking traffic within a few check rounds.
    await waitFor(() => everyApp(503), { timeoutMs: 15_000, intervalMs: 250, what: 'every app to report not ready' });
    const notReadyAfterMs = Date.now() - outageStart;
    // Writes meanwhile: a clear 503 with Retry-After at once, never a hang or a 500.
    do probes.push(await probeWrite(system.token(`probe-${fault.name}`), skus[0]!));
    while (Date.now() - outageStart < fault.downMs);
    await fault.recover();
    const recoveredAt = Date.now();
    await waitFor(() => everyApp(200), { timeoutMs: 30_000, intervalMs: 250, what: 'every app to be ready again' });
    const readyAfterMs = Date.now() - recoveredAt;
    // The fault was real: the server went through a start (crash recovery after the immediate stop), or for the stall it never left.
    expect((await serverStartedAt()) > startedBefore).toBe(fault.restarts);
    const acceptedBefore = load.accepted.length;
    await waitFor(() => load.accepted.length >= acceptedBefore + 15, { timeoutMs: 60_000, what: '15 orders accepted after the recovery' });
    result = { downMs: recoveredAt - outageStart, notReadyAfterMs, readyAfterMs, firstAcceptedAfterMs: Date.now() - recoveredAt };
  } finally {
    stopLoad = true;
    await placing;
  }
  expect(probes.length).toBeGreaterThan(0);
  expect(probes.filter((p) => p.status !== 503 || !p.type?.startsWith('application/problem+json') || !p.retryAfter || p.ms > FAIL_FAST_MS)).toEqual([]);
  // No internals in what a client sees.
  expect(probes.map((p) => p.body.title)).toEqual(probes.map(() => 'A service this request needs is unavailable'));
  expect(JSON.stringify(probes.map((p) => p.body))).not.toMatch(/ECONN|5432|terminat|postgres|timeout exceeded/i);
  measured[fault.name] = { ...result, slowest503Ms: Math.max(...probes.map((p) => p.ms)), probes: probes.length };

  // The load's own requests: each was accepted, or refused with a 503 (or unanswered) and is now
  // retried with its own key, as a client would; nothing else.
  expect(load.refused.filter((r) => r.status !== 503)).toEqual([]);
  await load.retryRefused((r) => r.status === 503, 60_000);
  await load.retryUnanswered(60_000);
  await expectEveryOrderConfirmed(system, api, load, { products, adminToken: admin, atLeast: 30, timeoutMs: 120_000 });
  await expectAnsweredOrdersDurable(load);
  // An outage is not a poison message: nothing was dead-lettered on the way (Kafka facts, e-mail tasks, saga steps).
  const deadLettered = [...system.logs.values()].flat().filter((line) => /"(message|task) dead-lettered"/.test(line));
  expect(deadLettered).toEqual([]);
  expect((await api.request('GET', '/v1/admin/dead-letters?limit=10', { token: admin })).body.items).toEqual([]);
  // And no process died or was restarted on the way.
  expect(system.instances().filter((instance) => !system.isRunning(instance))).toEqual([]);
}

/** Every order answered 202 is there after the fault, and a retry of its request gets the stored answer: the same order. */
async function expectAnsweredOrdersDurable(load: OrderLoad): Promise<void> {
  const replays: { key: string; status: number; sameOrder: boolean; replayed: boolean }[] = [];
  for (let i = 0; i < load.accepted.length; i += 8) {
    const batch = load.accepted.slice(i, i + 8);
    replays.push(
      ...(await Promise.all(
        batch.map(async (order) => {
          const res = await api.placeOrder(order.token, order.items, order.key);
          return { key: order.key, status: res.status, sameOrder: res.body?.id === order.id, replayed: res.headers.get('idempotent-replayed') === 'true' };
        }),
      )),
    );
  }
  expect(replays.filter((r) => r.status !== 202 || !r.sameOrder || !r.replayed)).toEqual([]);
}

it('keeps every acknowledged order through a Postgres crash (immediate stop, started again after 5 s) under load', async () => {
  await survives({ name: 'crash', downMs: 5_000, restarts: true, inject: () => postgresServer.crash(), recover: () => postgresServer.start() });
}, 300_000);

it('keeps every acknowledged order through a fast restart of Postgres under load', async () => {
  await survives({
    name: 'restart',
    restarts: true,
    downMs: 0, // started again as soon as it is down and one write has been refused
    inject: () => postgresServer.stop(),
    recover: () => postgresServer.start(),
  });
}, 300_000);

it('keeps every acknowledged order through a 20 s stall (connections open, nothing answers) under load', async () => {
  await survives({
    name: 'stall',
    restarts: false,
    downMs: 20_000,
    inject: async () => proxy.freeze(),
    recover: async () => proxy.thaw(),
  });
}, 300_000);
