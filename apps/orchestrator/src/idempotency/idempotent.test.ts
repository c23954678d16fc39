// Issue 13.6 through real HTTP on two orchestrator replicas sharing the real Postgres: a request on
// replica X stalls (its database connection frozen, so its lock is not renewed), a retry on Y takes
// its claim over, X's request then fails before its effect, and a third retry must still meet the
// second's claim rather than a free key (which would create a second order).
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { randomUUID } from 'node:crypto';
import express from 'express';
import type pg from 'pg';
import pino from 'pino';
import { createPool } from '@orderflow/db';
import { createTestDatabase, startFreezableProxy, waitFor, type FreezableProxy, type TestDatabase } from '@orderflow/testing';
import { errorHandler } from '../http/problem';
import { createIdempotencyStore, type IdempotencyStore } from './idempotency-store';
import { idempotent } from './idempotent';

let db: TestDatabase;
let proxy: FreezableProxy;
const pools: pg.Pool[] = [];
const servers: Server[] = [];

/** The test's stand-in for the order service: the ids of the orders it was asked to create. */
const created = new Set<string>();
/** Per request (the X-Test-Request header), what it waits for before its first effect. */
const gates = new Map<string, Promise<void>>();

function gate(name: string) {
  let open!: () => void;
  let fail!: (error: Error) => void;
  gates.set(name, new Promise<void>((resolve, reject) => ((open = resolve), (fail = reject))));
  return { open, fail };
}

async function replica(store: IdempotencyStore): Promise<string> {
  const app = express();
  app.use(express.json());
  app.use((req, _res, next) => ((req.caller = { id: 'alice', role: 'customer' }), next()));
  app.post(
    '/v1/orders',
    idempotent(store, async (req, claim) => {
      await gates.get(req.get('x-test-request') ?? '');
      claim.beginEffect();
      created.add(claim.resourceId);
      return { status: 202, headers: { 'Content-Type': 'application/json' }, body: Buffer.from(JSON.stringify({ id: claim.resourceId })) };
    }),
  );
  app.use(errorHandler(pino({ level: 'silent' })));
  const server = app.listen(0, '127.0.0.1');
  servers.push(server);
  await new Promise((resolve) => server.once('listening', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

beforeAll(async () => {
  db = await createTestDatabase('orchestrator', 'idempotent_takeover');
  const url = new URL(db.url);
  proxy = await startFreezableProxy({ host: url.hostname, port: Number(url.port || 5432) });
  const viaProxy = new URL(db.url);
  viaProxy.host = proxy.address;
  pools.push(createPool(viaProxy.toString(), 2), createPool(db.url, 4));
});

afterAll(async () => {
  // A failed run may leave a request waiting at its gate: drop its connection rather than wait for it.
  await Promise.all(servers.map((s) => new Promise((resolve) => (s.close(resolve), s.closeAllConnections()))));
  await Promise.all(pools.map((p) => p.end()));
  await proxy.close();
  await db.drop();
});

it('three retries around a takeover create exactly one order', async () => {
  const policy = { ttlHours: 24, lockSeconds: 1 };
  const [x, y] = await Promise.all(pools.map((pool) => replica(createIdempotencyStore(pool, policy))));
  const key = randomUUID();
  const place = (url: string, request: string) =>
    fetch(`${url}/v1/orders`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'idempotency-key': key, 'x-test-request': request },
      body: '{"items":[1]}',
    });
  const direct = pools[1]!;
  const claimRow = async () => (await direct.query(`SELECT resource_id, locked_until <= now() AS lapsed FROM idempotency_keys WHERE key = $1`, [key])).rows[0];

  // The first request claims on X, then X stalls: its renewals hang until the lock lapses.
  const first = gate('first');
  const firstAnswer = place(x!, 'first');
  const { resource_id: orderId } = await waitFor(claimRow, { what: 'the first request to claim the key' });
  proxy.freeze();
  await waitFor(async () => (await claimRow()).lapsed, { what: 'the stalled request lock to lapse' });

  // The second takes the claim over on Y and runs; the first then fails before its effect.
  const second = gate('second');
  const secondAnswer = place(y!, 'second');
  await waitFor(async () => !(await claimRow()).lapsed, { what: 'the retry to take the claim over' });
  first.fail(new Error('pricing failed'));
  proxy.thaw();
  expect((await firstAnswer).status).toBe(500);

  // The third meets the running second, not a free key.
  const third = await place(y!, 'third');
  expect(third.status).toBe(409);
  second.open();
  const done = await secondAnswer;
  expect(done.status).toBe(202);
  expect(await done.json()).toEqual({ id: orderId });
  expect([...created]).toEqual([orderId]);

  const replay = await place(y!, 'fourth');
  expect(replay.headers.get('idempotent-replayed')).toBe('true');
  expect(await replay.json()).toEqual({ id: orderId });
  expect([...created]).toEqual([orderId]);
}, 30_000);
