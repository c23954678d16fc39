// Idempotency-Key end to end (issue 4; README, Idempotency-Key): the four apps as processes, checked over REST and
// in the real databases. One system with the default TTL hosts everything but the expiry test, which
// gets a second one (started alongside) whose keys live 3.6 s.
import { randomUUID } from 'node:crypto';
import type pg from 'pg';
import { createPool, databaseUrl } from '@orderflow/db';
import { testInfra, waitFor } from '@orderflow/testing';
import { apiClient, mails, type ApiResponse } from './support/client';
import { startSystem, type System } from './support/system';

interface Harness {
  system: System;
  api: ReturnType<typeof apiClient>;
  orderDb: pg.Pool;
  orchestratorDb: pg.Pool;
  admin: string;
}

async function harness(label: string, env: Record<string, string>): Promise<Harness> {
  const system = await startSystem(label, { env });
  const db = (service: string) => createPool(databaseUrl(testInfra().databaseUrl, `${system.prefix}orderflow_${service}`), 3);
  return { system, api: apiClient(system.url), orderDb: db('order'), orchestratorDb: db('orchestrator'), admin: system.token('ops', 'admin') };
}

async function close(h: Harness | undefined): Promise<void> {
  await h?.orderDb.end();
  await h?.orchestratorDb.end();
  await h?.system.stop();
}

const count = async (db: pg.Pool, sql: string, params: unknown[]) => Number((await db.query(sql, params)).rows[0].count);
const ordersOf = (h: Harness, customer: string) => count(h.orderDb, 'SELECT count(*) FROM orders WHERE customer_id = $1', [customer]);
const sagasOf = (h: Harness, orderId: string) => count(h.orchestratorDb, 'SELECT count(*) FROM sagas WHERE order_id = $1', [orderId]);
const factsOf = (h: Harness, orderId: string, type: string) =>
  count(h.orchestratorDb, `SELECT count(*) FROM outbox WHERE destination = 'kafka' AND message_key = $1 AND payload->>'type' = $2`, [orderId, type]);

async function product(h: Harness, stock = 1_000): Promise<string> {
  const sku = `IDEM-${randomUUID().slice(0, 8)}`.toUpperCase();
  expect((await h.api.putProduct(h.admin, sku, { name: `Tea ${sku}`, priceCents: 700, stock })).status).toBe(201);
  return sku;
}

function customer(h: Harness, label: string) {
  const id = `${label}-${randomUUID()}`;
  return { id, token: h.system.token(id) };
}

/** The same answer, byte for byte: status, body and the headers a replay must repeat. */
function expectSameAnswer(replay: ApiResponse, original: ApiResponse): void {
  expect(replay.status).toBe(original.status);
  expect(replay.text).toBe(original.text);
  for (const header of ['content-type', 'content-length', 'location']) expect(replay.headers.get(header)).toBe(original.headers.get(header));
}

function expectProblem(res: ApiResponse, status: number, type: string): void {
  expect({ status: res.status, contentType: res.headers.get('content-type'), type: res.body?.type }).toEqual({
    status,
    contentType: expect.stringMatching(/^application\/problem\+json/),
    type: expect.stringMatching(new RegExp(`/${type}$`)),
  });
}

const isInUse = (res: ApiResponse) => res.status === 409 && /\/idempotency-key-in-use$/.test(res.body?.type);

/** Holds the sagas table, so a placement blocks in its transaction: after CreateOrder, before its answer is stored. */
async function holdSagas(h: Harness): Promise<() => Promise<void>> {
  const client = await h.orchestratorDb.connect();
  await client.query('BEGIN');
  await client.query('LOCK TABLE sagas IN EXCLUSIVE MODE');
  return async () => {
    await client.query('ROLLBACK');
    client.release();
  };
}

type Settled<T> = { outcome?: { ok: true; value: T } | { ok: false; error: unknown } };
/** Lets a request run without awaiting it; `outcome` is set once it ends. */
function settle<T>(promise: Promise<T>): Settled<T> {
  const settled: Settled<T> = {};
  promise.then(
    (value) => (settled.outcome = { ok: true, value }),
    (error: unknown) => (settled.outcome = { ok: false, error }),
  );
  return settled;
}

const fail = (error: unknown): never => {
  throw error;
};
const createdOrder = (h: Harness, customerId: string) =>
  waitFor(async () => (await h.orderDb.query('SELECT id FROM orders WHERE customer_id = $1', [customerId])).rows[0]?.id as string | undefined, {
    what: 'the order service to create the order',
  });
const claimOf = async (h: Harness, caller: string, key: string) =>
  (await h.orchestratorDb.query('SELECT state, resource_id, locked_until FROM idempotency_keys WHERE caller = $1 AND key = $2', [caller, key])).rows[0];

let main: Harness;
let short: Harness;

beforeAll(async () => {
  const started = await Promise.allSettled([
    // A short lock, so a killed request's claim may be taken over after 4 s (a live one renews it).
    harness('e2e_idempotency', { IDEMPOTENCY_LOCK_SECONDS: '4' }),
    // Keys that live 3.6 s, purged every second (the TTL must exceed the lock, hence a 1 s lock).
    harness('e2e_idempotency_ttl', { IDEMPOTENCY_TTL_HOURS: '0.001', IDEMPOTENCY_LOCK_SECONDS: '1', IDEMPOTENCY_PURGE_INTERVAL_SECONDS: '1' }),
  ]);
  // Keep whichever started, so afterAll stops it even when the other failed.
  [main, short] = started.map((s) => (s.status === 'fulfilled' ? s.value : undefined)) as [Harness, Harness];
  for (const s of started) if (s.status === 'rejected') throw s.reason;
}, 120_000);

afterAll(() => Promise.all([close(main), close(short)]));

describe('POST /v1/orders with an Idempotency-Key', () => {
  it('replays a finished request byte for byte with Idempotent-Replayed, and runs nothing twice', async () => {
    const sku = await product(main);
    const alice = customer(main, 'alice');
    const key = randomUUID();
    const first = await main.api.placeOrder(alice.token, [{ sku, quantity: 2 }], key);
    expect(first.status).toBe(202);
    expect(first.headers.get('idempotent-replayed')).toBeNull();
    // Once the order has moved on, a re-run would answer CONFIRMED; the stored answer still says PENDING.
    await main.api.settled(alice.token, first.body.id, 'CONFIRMED');

    const replay = await main.api.placeOrder(alice.token, [{ sku, quantity: 2 }], key);
    expectSameAnswer(replay, first);
    expect(replay.headers.get('idempotent-replayed')).toBe('true');
    expect(replay.body).toMatchObject({ id: first.body.id, status: 'PENDING' });
    expect(await ordersOf(main, alice.id)).toBe(1);
    expect(await sagasOf(main, first.body.id)).toBe(1);
    expect(await factsOf(main, first.body.id, 'order.placed')).toBe(1);
  });

  it('lets 50 identical concurrent requests create exactly one order; the others get its 202 or a 409 in-use problem', async () => {
    const sku = await product(main);
    const bob = customer(main, 'bob');
    const key = randomUUID();
    const answers = await Promise.all(Array.from({ length: 50 }, () => main.api.placeOrder(bob.token, [{ sku, quantity: 1 }], key)));

    const accepted = answers.filter((r) => r.status === 202);
    // One request ran; any other 202 is a replay of its stored answer.
    expect(accepted.filter((r) => r.headers.get('idempotent-replayed') === null)).toHaveLength(1);
    for (const res of accepted) expect(res.body.id).toBe(accepted[0]!.body.id);
    for (const res of answers.filter((r) => r.status !== 202)) expectProblem(res, 409, 'idempotency-key-in-use');
    expect(await ordersOf(main, bob.id)).toBe(1);
    expect(await sagasOf(main, accepted[0]!.body.id)).toBe(1);
    expect(await factsOf(main, accepted[0]!.body.id, 'order.placed')).toBe(1);
    const replay = await main.api.placeOrder(bob.token, [{ sku, quantity: 1 }], key);
    expectSameAnswer(replay, accepted[0]!);
  });

  it('answers 422 for the same key with another body, treats reordered keys and whitespace as the same body, and scopes keys to the caller', async () => {
    const sku = await product(main);
    const carol = customer(main, 'carol');
    const key = randomUUID();
    const send = (who: { token: string }, raw: string) =>
      main.api.request('POST', '/v1/orders', { token: who.token, raw, headers: { 'content-type': 'application/json', 'idempotency-key': key } });

    const first = await send(carol, `{"items":[{"sku":"${sku}","quantity":3}]}`);
    expect(first.status).toBe(202);
    const reordered = await send(carol, `{\n  "items" : [ { "quantity" : 3 ,\t"sku" : "${sku}" } ]\n}`);
    expectSameAnswer(reordered, first);
    expect(reordered.headers.get('idempotent-replayed')).toBe('true');
    expectProblem(await send(carol, `{"items":[{"sku":"${sku}","quantity":4}]}`), 422, 'idempotency-key-reused');
    expect(await ordersOf(main, carol.id)).toBe(1);

    const dave = customer(main, 'dave');
    const theirs = await send(dave, `{"items":[{"sku":"${sku}","quantity":3}]}`);
    expect(theirs.status).toBe(202);
    expect(theirs.headers.get('idempotent-replayed')).toBeNull();
    expect(theirs.body.id).not.toBe(first.body.id);
    expect(theirs.body.customerId).toBe(dave.id);
  });

  it('answers 400 problem+json for a missing, empty or over-long key and creates nothing', async () => {
    const sku = await product(main);
    const erin = customer(main, 'erin');
    const post = (headers: Record<string, string>) =>
      main.api.request('POST', '/v1/orders', { token: erin.token, body: { items: [{ sku, quantity: 1 }] }, headers });

    const missing = await post({});
    const empty = await post({ 'idempotency-key': '' });
    const tooLong = await post({ 'idempotency-key': 'k'.repeat(256) });
    expectProblem(missing, 400, 'idempotency-key-missing');
    // An empty field value is how many clients and proxies spell "no key".
    expectProblem(empty, 400, 'idempotency-key-missing');
    expectProblem(tooLong, 400, 'idempotency-key-invalid');
    expect(await ordersOf(main, erin.id)).toBe(0);
    expect((await post({ 'idempotency-key': 'k'.repeat(255) })).status).toBe(202);
  });
});

describe('POST /v1/orders/{id}/cancel with an Idempotency-Key', () => {
  it('has one effect for concurrent identical cancels, replays the answer, and refuses a reused key, a missing key and a second cancel', async () => {
    const sku = await product(main);
    const frank = customer(main, 'frank');
    const [order, other] = await Promise.all([1, 2].map(() => main.api.placeOrder(frank.token, [{ sku, quantity: 1 }])));
    await main.api.settled(frank.token, order!.body.id, 'CONFIRMED');
    await main.api.settled(frank.token, other!.body.id, 'CONFIRMED');
    const id = order!.body.id;

    expectProblem(await main.api.request('POST', `/v1/orders/${id}/cancel`, { token: frank.token }), 400, 'idempotency-key-missing');
    const key = randomUUID();
    const answers = await Promise.all(Array.from({ length: 20 }, () => main.api.cancelOrder(frank.token, id, key)));
    const accepted = answers.filter((r) => r.status === 202);
    expect(accepted.filter((r) => r.headers.get('idempotent-replayed') === null)).toHaveLength(1);
    for (const res of accepted) expectSameAnswer(res, accepted[0]!);
    for (const res of answers.filter((r) => r.status !== 202)) expectProblem(res, 409, 'idempotency-key-in-use');
    expect(accepted[0]!.headers.get('location')).toBe(`/v1/orders/${id}`);

    const replay = await main.api.cancelOrder(frank.token, id, key);
    expectSameAnswer(replay, accepted[0]!);
    expect(replay.headers.get('idempotent-replayed')).toBe('true');
    expectProblem(await main.api.cancelOrder(frank.token, other!.body.id, key), 422, 'idempotency-key-reused');
    expectProblem(await main.api.cancelOrder(frank.token, id), 409, 'conflict');

    await main.api.settled(frank.token, id, 'CANCELLED');
    await waitFor(async () => (await factsOf(main, id, 'order.cancelled')) === 1, { what: 'the order.cancelled fact' });
    const cancellations = () => mails(main.system.mailDir).filter((m) => m.text.includes(id) && /^Subject: .*cancelled/im.test(m.text));
    await waitFor(() => cancellations().length === 1, { what: 'the cancellation e-mail' });
    expect((await main.api.getOrder(frank.token, other!.body.id)).body.status).toBe('CONFIRMED');
    expect(await factsOf(main, id, 'order.cancelled')).toBe(1);
    expect(cancellations()).toHaveLength(1);
  });
});

describe('key expiry', () => {
  it('purges a key past its TTL, after which the same key with another body is a new order', async () => {
    const sku = await product(short);
    const hank = customer(short, 'hank');
    const key = randomUUID();
    const first = await short.api.placeOrder(hank.token, [{ sku, quantity: 1 }], key);
    expect(first.status).toBe(202);
    const row = () =>
      short.orchestratorDb.query('SELECT EXTRACT(EPOCH FROM expires_at - created_at)::float AS ttl FROM idempotency_keys WHERE caller = $1 AND key = $2', [
        hank.id,
        key,
      ]);
    expect((await row()).rows[0].ttl).toBeCloseTo(3.6, 3);
    expectProblem(await short.api.placeOrder(hank.token, [{ sku, quantity: 2 }], key), 422, 'idempotency-key-reused');

    await waitFor(async () => (await row()).rowCount === 0, { timeoutMs: 15_000, intervalMs: 200, what: 'the purge job to delete the expired key' });
    const again = await short.api.placeOrder(hank.token, [{ sku, quantity: 2 }], key);
    expect(again.status).toBe(202);
    expect(again.headers.get('idempotent-replayed')).toBeNull();
    expect(again.body.id).not.toBe(first.body.id);
    expect(await ordersOf(short, hank.id)).toBe(2);
  });
});

describe('a placement stopped after CreateOrder, before its answer is stored', () => {
  it('stays in flight while its process lives, even past its lock: a retry meanwhile is 409, later a replay', async () => {
    const sku = await product(main);
    const ivy = customer(main, 'ivy');
    const key = randomUUID();
    const place = () => main.api.placeOrder(ivy.token, [{ sku, quantity: 1 }], key);

    const release = await holdSagas(main);
    let first: Settled<ApiResponse>;
    try {
      first = settle(place());
      const orderId = await createdOrder(main, ivy.id);
      const claimedUntil = (await claimOf(main, ivy.id, key)).locked_until;
      // The lock it claimed with has run out, yet the live request has renewed it.
      await waitFor(async () => (await main.orchestratorDb.query('SELECT now() > $1 AS past', [claimedUntil])).rows[0].past, {
        what: 'the first lock (4 s) to run out',
      });
      expect((await claimOf(main, ivy.id, key)).locked_until.getTime()).toBeGreaterThan(claimedUntil.getTime());
      const retry = settle(place());
      const answer = await waitFor(() => retry.outcome, { timeoutMs: 5_000, what: 'the retry to answer while the first still runs' });
      expectProblem(answer.ok ? answer.value : fail(answer.error), 409, 'idempotency-key-in-use');
      expect(await sagasOf(main, orderId)).toBe(0);
    } finally {
      await release();
    }
    const done = await waitFor(() => first.outcome, { what: 'the first request to finish' });
    const original = done.ok ? done.value : fail(done.error);
    expect(original.status).toBe(202);
    const replay = await place();
    expectSameAnswer(replay, original);
    expect(replay.headers.get('idempotent-replayed')).toBe('true');
    expect(await ordersOf(main, ivy.id)).toBe(1);
    expect(await sagasOf(main, original.body.id)).toBe(1);
    expect(await factsOf(main, original.body.id, 'order.placed')).toBe(1);
  });

  it('is finished by a retry with its key after the orchestrator is killed: the same order id, one saga, one order.placed, CONFIRMED once', async () => {
    const sku = await product(main);
    const gina = customer(main, 'gina');
    const key = randomUUID();
    const place = () => main.api.placeOrder(gina.token, [{ sku, quantity: 1 }], key);

    const release = await holdSagas(main);
    let first: Settled<ApiResponse>;
    try {
      first = settle(place());
      const orderId = await createdOrder(main, gina.id);
      expect(await claimOf(main, gina.id, key)).toMatchObject({ state: 'IN_FLIGHT', resource_id: orderId });
      expect(await sagasOf(main, orderId)).toBe(0);
      await main.system.kill('orchestrator', 'SIGKILL');
    } finally {
      await release();
    }
    const lost = await waitFor(() => first.outcome, { timeoutMs: 5_000, what: 'the first request to fail with its connection' });
    expect(lost.ok).toBe(false);
    expect(String(lost.ok ? '' : ((lost.error as Error).cause ?? lost.error))).toMatch(/closed|reset|socket/i);

    await main.system.start('orchestrator');
    // 409 in-use until the dead request's claim lock (4 s here) runs out; then the retry takes it over.
    const retried = await waitFor(
      async () => {
        const res = await place();
        return isInUse(res) ? undefined : res;
      },
      { timeoutMs: 15_000, intervalMs: 200, what: 'a retry to take over the claim' },
    );
    expect(retried.status).toBe(202);
    const orderId = retried.body.id;
    expect(retried.headers.get('location')).toBe(`/v1/orders/${orderId}`);
    expect((await main.orderDb.query('SELECT id FROM orders WHERE customer_id = $1', [gina.id])).rows).toEqual([{ id: orderId }]);

    // Up to ~30 s: the restarted orchestrator joins its consumer group (and only then starts its saga
    // poller) once Kafka has evicted the killed member at the end of its session timeout.
    await main.api.settled(gina.token, orderId, 'CONFIRMED', 45_000);
    await waitFor(async () => (await factsOf(main, orderId, 'order.confirmed')) === 1, { what: 'the order.confirmed fact' });
    expect(await sagasOf(main, orderId)).toBe(1);
    expect(await factsOf(main, orderId, 'order.placed')).toBe(1);
    await waitFor(() => mails(main.system.mailDir).filter((m) => m.text.includes(orderId)).length === 1, { what: 'the one confirmation e-mail' });
    expectSameAnswer(await place(), retried);
  }, 90_000);

  it('resumes a placement that failed after creating its order at the prices it was created with, though a price changed since', async () => {
    const sku = await product(main);
    const hana = customer(main, 'hana');
    const key = randomUUID();
    const place = () => main.api.placeOrder(hana.token, [{ sku, quantity: 2 }], key);

    const release = await holdSagas(main);
    let first: Settled<ApiResponse>;
    try {
      first = settle(place());
      await createdOrder(main, hana.id);
      // The placement's write (not the saga poller's, also waiting), blocked on the held table, fails.
      const blocked = await waitFor(
        async () =>
          (
            await main.orchestratorDb.query(
              `SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock' AND query LIKE '%INSERT INTO sagas%'`,
            )
          ).rows[0]?.pid as number | undefined,
        { what: 'the placement to wait on the sagas table' },
      );
      await main.orchestratorDb.query('SELECT pg_cancel_backend($1)', [blocked]);
    } finally {
      await release();
    }
    const failed = await waitFor(() => first.outcome, { what: 'the first request to fail' });
    expect(failed.ok && failed.value.status).toBe(500);

    expect((await main.api.putProduct(main.admin, sku, { name: `Tea ${sku}`, priceCents: 950, stock: 1_000 })).status).toBe(200);
    const retried = await place();
    expect(retried.status).toBe(202);
    expect(retried.body.items).toEqual([{ sku, quantity: 2, unitPriceCents: 700 }]);
    expect(retried.body.totalCents).toBe(1_400);
    expect(await ordersOf(main, hana.id)).toBe(1);
    await main.api.settled(hana.token, retried.body.id, 'CONFIRMED', 30_000);
  }, 60_000);
});
