// Idempotency claims on the real Postgres, each tied to the request holding it (issue 13.6): after a
// takeover, the former holder's late operations change nothing. A stalled request's lapsed lock is
// set in the row directly, so no test waits for a clock.
import { randomUUID } from 'node:crypto';
import type pg from 'pg';
import { createPool } from '@orderflow/db';
import { createTestDatabase, type TestDatabase } from '@orderflow/testing';
import { INITIAL_COMPENSATIONS } from '../saga/order-saga';
import { createSagaRepository } from '../saga/saga-repository';
import { createIdempotencyStore, type HeldClaim, type IdempotencyStore, type StoredResponse } from './idempotency-store';

let db: TestDatabase;
let pool: pg.Pool;
let store: IdempotencyStore;

beforeAll(async () => {
  db = await createTestDatabase('orchestrator', 'idempotency_store');
  pool = createPool(db.url, 4);
  store = createIdempotencyStore(pool, { ttlHours: 24, lockSeconds: 10 });
});

afterAll(async () => {
  await pool.end();
  await db.drop();
});

const response = (text: string): StoredResponse => ({ status: 202, headers: { 'Content-Type': 'text/plain' }, body: Buffer.from(text) });
const row = async (h: { caller: string; key: string }) =>
  (await pool.query('SELECT state, resource_id, locked_until, response_body FROM idempotency_keys WHERE caller = $1 AND key = $2', [h.caller, h.key])).rows[0];
/** The lock of a request that stalled (or died) has run out. */
const lapse = (h: { caller: string; key: string }) =>
  pool.query(`UPDATE idempotency_keys SET locked_until = now() - interval '1 second' WHERE caller = $1 AND key = $2`, [h.caller, h.key]);

async function claim(caller: string, key: string, resourceId = randomUUID()): Promise<HeldClaim & { resourceId: string; resumed: boolean }> {
  const claimed = await store.claim(caller, key, 'fingerprint', resourceId);
  if (claimed.kind !== 'claimed') throw new Error(`expected a claim, got ${claimed.kind}`);
  return { caller, key, owner: claimed.owner, resourceId: claimed.resourceId, resumed: claimed.resumed };
}

/** A first request that stalled past its lock, and a retry that took its claim over. */
async function takenOver() {
  const first = await claim(`caller-${randomUUID()}`, randomUUID());
  await lapse(first);
  const second = await claim(first.caller, first.key);
  expect(second).toMatchObject({ resumed: true, resourceId: first.resourceId });
  expect(second.owner).not.toBe(first.owner);
  return { first, second };
}

describe('an idempotency claim taken over by a retry', () => {
  it("a late release after a takeover leaves the new owner's claim", async () => {
    const { first, second } = await takenOver();
    expect(await store.release(first)).toBe(false);
    expect(await row(second)).toMatchObject({ state: 'IN_FLIGHT', resource_id: second.resourceId });
    // A third retry still meets the running second request, not a free key with a new resource id.
    expect(await store.claim(first.caller, first.key, 'fingerprint', randomUUID())).toEqual({ kind: 'in-flight' });
    expect(await store.release(second)).toBe(true);
  });

  it("a late complete after a takeover does not overwrite the new owner's response", async () => {
    const { first, second } = await takenOver();
    expect(await store.complete(first, response('late'))).toBe(false);
    expect(await row(second)).toMatchObject({ state: 'IN_FLIGHT' });
    expect(await store.outcome(first)).toEqual({ kind: 'in-flight' });

    expect(await store.complete(second, response('owner'))).toBe(true);
    expect(await store.complete(first, response('late'))).toBe(false);
    expect((await row(second)).response_body.toString()).toBe('owner');
    expect(await store.outcome(second)).toEqual({ kind: 'ours' });
    expect(await store.outcome(first)).toEqual({ kind: 'replay', response: response('owner') });
  });

  it('a late placement after a takeover stores no response under the key', async () => {
    const { first, second } = await takenOver();
    const sagas = createSagaRepository(pool);
    const saga = {
      orderId: first.resourceId,
      customerId: first.caller,
      step: 'RESERVE_STOCK',
      compensations: INITIAL_COMPENSATIONS,
      data: { items: [], totalCents: 0, email: 'a@example.com' },
      watchdogMs: 30_000,
    };
    expect(await sagas.createMany([{ saga, messages: [], completion: { ...first, response: response('late') } }])).toEqual([
      expect.objectContaining({ orderId: saga.orderId, version: 0 }),
    ]);
    expect(await row(second)).toMatchObject({ state: 'IN_FLIGHT', response_body: null });
    // The holder's own completion in the same kind of statement is stored (the saga part is skipped: it exists).
    expect(await sagas.createMany([{ saga, messages: [], completion: { ...second, response: response('ours') } }])).toEqual([undefined]);
    expect(await row(second)).toMatchObject({ state: 'COMPLETED' });
    expect((await row(second)).response_body.toString()).toBe('ours');
  });

  it('a cancel stores its response only when the cancel was taken, and only while it holds the key', async () => {
    const sagas = createSagaRepository(pool);
    const sagaAt = async (step: string) => {
      const orderId = randomUUID();
      const data = { items: [], totalCents: 0, email: 'a@example.com' };
      await sagas.create({ orderId, customerId: 'alice', step: 'RESERVE_STOCK', compensations: INITIAL_COMPENSATIONS, data, watchdogMs: 30_000 }, []);
      if (step !== 'RESERVE_STOCK')
        await sagas.apply((await sagas.load(orderId))!, { step, nextAttemptInMs: 30_000, log: { step: 'RESERVE_STOCK', outcome: 'DONE' } });
      return orderId;
    };
    const refused = await claim(`caller-${randomUUID()}`, randomUUID());
    expect(await sagas.requestCancel(await sagaAt('REJECT_ORDER'), { ...refused, response: response('refused') })).toBe(false);
    expect(await row(refused)).toMatchObject({ state: 'IN_FLIGHT', response_body: null });

    const { first, second } = await takenOver();
    expect(await sagas.requestCancel(await sagaAt('RESERVE_STOCK'), { ...first, response: response('late') })).toBe(true);
    expect(await row(second)).toMatchObject({ state: 'IN_FLIGHT', response_body: null });
    expect(await sagas.requestCancel(await sagaAt('RESERVE_STOCK'), { ...second, response: response('ours') })).toBe(true);
    expect((await row(second)).response_body.toString()).toBe('ours');
  });

  it('claims of concurrent requests share one insert, and of two with the same key exactly one wins', async () => {
    let statements = 0;
    const counting = { query: (...args: Parameters<pg.Pool['query']>) => (statements++, pool.query(...args)) } as unknown as pg.Pool;
    const grouped = createIdempotencyStore(counting, { ttlHours: 24, lockSeconds: 10 });
    const caller = `caller-${randomUUID()}`;
    const keys = [randomUUID(), randomUUID(), randomUUID()];
    const results = await Promise.all([...keys, keys[0]!].map((key) => grouped.claim(caller, key, 'fingerprint', randomUUID())));
    expect(results.map((r) => r.kind)).toEqual(['claimed', 'claimed', 'claimed', 'in-flight']);
    // One insert for the four, then the loser's read of the row that beat it.
    expect(statements).toBe(2);
  });

  it("renew by a former owner does not extend the new owner's lock", async () => {
    const { first, second } = await takenOver();
    await lapse(second); // the new owner stalled too: its lock has run out
    const lapsedAt = (await row(second)).locked_until;
    expect(await store.renew(first)).toBe(false);
    expect((await row(second)).locked_until).toEqual(lapsedAt);
    expect(await store.renew(second)).toBe(true);
    expect((await row(second)).locked_until.getTime()).toBeGreaterThan(lapsedAt.getTime());
  });

  it("a late unlock after a takeover leaves the new owner's lock", async () => {
    const { first, second } = await takenOver();
    expect(await store.unlock(first)).toBe(false);
    expect(await store.claim(first.caller, first.key, 'fingerprint', randomUUID())).toEqual({ kind: 'in-flight' });
    expect(await store.unlock(second)).toBe(true);
  });
});

describe('expired keys', () => {
  const expire = (h: { caller: string; key: string }) =>
    pool.query(`UPDATE idempotency_keys SET expires_at = now() - interval '1 second' WHERE caller = $1 AND key = $2`, [h.caller, h.key]);

  it('the purge keeps an expired key whose lock is still live', async () => {
    const live = await claim(`caller-${randomUUID()}`, randomUUID());
    const done = await claim(live.caller, randomUUID());
    await store.complete(done, response('done'));
    await Promise.all([expire(live), expire(done)]);

    while ((await store.purgeExpired()) > 0); // other files' keys live in other databases
    expect(await row(done)).toBeUndefined();
    expect(await row(live)).toMatchObject({ state: 'IN_FLIGHT', resource_id: live.resourceId });

    await lapse(live);
    await store.purgeExpired();
    expect(await row(live)).toBeUndefined();
  });

  it('a retry does not free an expired key whose lock is still live', async () => {
    const live = await claim(`caller-${randomUUID()}`, randomUUID());
    await expire(live);
    expect(await store.claim(live.caller, live.key, 'fingerprint', randomUUID())).toEqual({ kind: 'in-flight' });
    await lapse(live);
    expect(await store.claim(live.caller, live.key, 'fingerprint', randomUUID())).toMatchObject({ kind: 'claimed', resumed: false });
  });
});
