// ReserveStock and ReleaseStock for the same order arriving together (a cancel through one orchestrator
// replica while another is mid-reserve, or a reserve straggling past its deadline), on the real
// Postgres. The saga drops RELEASE_STOCK whatever it answers, so whatever the interleaving, no stock
// may stay reserved for an order once a release for it has returned.
import { randomUUID } from 'node:crypto';
import { setTimeout as delay } from 'node:timers/promises';
import type { Pool } from 'pg';
import { createPool } from '@orderflow/db';
import { createTestDatabase, waitFor, type TestDatabase } from '@orderflow/testing';
import { createStockUseCases, type StockUseCases } from '../stock';
import { createStockRepository } from './stock-repository';

let db: TestDatabase;
let pool: Pool;
let stock: StockUseCases;
const useCases = (p: Pool) => createStockUseCases(createStockRepository(p), { topic: 'inventory-events' });

beforeAll(async () => {
  db = await createTestDatabase('inventory', 'reserve_release_race');
  pool = createPool(db.url, 16);
  stock = useCases(pool);
});

afterAll(async () => {
  await pool.end();
  await db.drop();
});

const newSku = (label: string) => `${label}-${randomUUID().slice(0, 8)}`;
const addProduct = (sku: string, onHand: number) => stock.upsertProduct({ sku, name: sku, priceCents: 100, stock: onHand });

function gate() {
  let open!: () => void;
  const promise = new Promise<void>((resolve) => (open = resolve));
  return { promise, resolve: () => open() };
}

/** A pool whose transactions stop right after their first statement matching `pattern`, until `resume()`. */
function pausingPool(pattern: RegExp) {
  const paused = gate();
  const resumed = gate();
  const p = createPool(db.url, 1);
  p.on('connect', (client) => {
    const query = client.query.bind(client) as (text: string | { text: string }, values?: unknown[]) => Promise<unknown>;
    client.query = (async (text: string | { text: string }, values?: unknown[]) => {
      const result = await query(text, values);
      if (pattern.test(typeof text === 'string' ? text : text.text)) {
        paused.resolve();
        await resumed.promise;
      }
      return result;
    }) as typeof client.query;
  });
  return { pool: p, paused: paused.promise, resume: () => resumed.resolve() };
}

/** Resolves once another session of the test database waits for a lock (the racing call is blocked). */
const someoneWaitsForALock = () =>
  waitFor(async () => (await pool.query(`SELECT 1 FROM pg_stat_activity WHERE datname = $1 AND wait_event_type = 'Lock'`, [db.name])).rowCount! > 0, {
    what: 'the racing call to wait for a lock',
  });

/** Stock reserved for `orderId` as the counters and the reservation lines see it. */
async function heldFor(orderId: string, sku: string) {
  const { rows } = await pool.query(
    `SELECT p.reserved,
            (SELECT coalesce(sum(i.quantity), 0)::int FROM reservation_items i JOIN reservations r USING (order_id) WHERE i.sku = p.sku AND r.status = 'RESERVED') AS lines,
            (SELECT status FROM reservations WHERE order_id = $1) AS status,
            (SELECT count(*)::int FROM outbox WHERE message_key = $1::text AND payload->>'type' = 'stock.released') AS "releasedFacts"
       FROM products p WHERE p.sku = $2`,
    [orderId, sku],
  );
  return rows[0];
}

describe('a release racing a reservation of the same order', () => {
  it('releases a reservation that was inserted but not yet committed when the release began', async () => {
    const sku = newSku('INFLIGHT');
    await addProduct(sku, 5);
    const orderId = randomUUID();
    const slow = pausingPool(/INSERT INTO reservations \(order_id, status, shortages\)/);
    try {
      const reserving = useCases(slow.pool).reserveStock(orderId, [{ sku, quantity: 2 }]);
      await slow.paused; // the reservation row and its stock are written, not committed
      const releasing = stock.releaseStock(orderId);
      await someoneWaitsForALock();
      slow.resume();
      expect(await reserving).toEqual({ reserved: true });
      expect({ released: await releasing, ...(await heldFor(orderId, sku)) }).toEqual({
        released: true,
        reserved: 0,
        lines: 0,
        status: 'RELEASED',
        releasedFacts: 1,
      });
    } finally {
      slow.resume();
      await slow.pool.end();
    }
  });

  it('keeps a reservation that arrives while the release is still uncommitted from taking stock', async () => {
    const sku = newSku('TOMBSTONE');
    await addProduct(sku, 5);
    const orderId = randomUUID();
    const slow = pausingPool(/INSERT INTO reservations \(order_id, status, released_at\)/);
    try {
      const releasing = useCases(slow.pool).releaseStock(orderId);
      await slow.paused; // the tombstone is written, not committed
      const reserving = stock.reserveStock(orderId, [{ sku, quantity: 2 }]);
      await someoneWaitsForALock();
      slow.resume();
      await reserving;
      expect({ released: await releasing, ...(await heldFor(orderId, sku)) }).toEqual({
        released: false,
        reserved: 0,
        lines: 0,
        status: 'RELEASED',
        releasedFacts: 0,
      });
    } finally {
      slow.resume();
      await slow.pool.end();
    }
  });
});

/** mulberry32: a seeded generator; a failure reports its seed, which replays the plan of calls (not their timing). */
function random(seed: number) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe('a storm of reservations and releases of the same orders', () => {
  it('leaves every product reserved exactly as its RESERVED lines say, and every order as its calls answered', async () => {
    const seed = Date.now() % 2 ** 31;
    const rand = random(seed);
    const pick = <T>(xs: T[]) => xs[Math.floor(rand() * xs.length)]!;
    const skus = [newSku('STORM'), newSku('STORM'), newSku('STORM')];
    for (const sku of skus) await addProduct(sku, 40);

    type Calls = { items: { sku: string; quantity: number }[]; reserved: boolean[]; released: boolean[] };
    const orders = new Map<string, Calls>();
    const calls: { at: number; call: () => Promise<void> }[] = [];
    for (let n = 0; n < 80; n++) {
      const orderId = randomUUID();
      const lines = new Map<string, number>();
      for (let l = 0; l < 1 + Math.floor(rand() * 2); l++) lines.set(pick(skus), 1 + Math.floor(rand() * 3));
      const order: Calls = { items: [...lines].map(([sku, quantity]) => ({ sku, quantity })), reserved: [], released: [] };
      orders.set(orderId, order);
      const start = rand() * 30; // an order's calls start within 2 ms of each other, so they overlap in every order
      const at = () => Math.floor(start + rand() * 2);
      for (let r = 0; r < 1 + Math.floor(rand() * 2); r++)
        calls.push({ at: at(), call: async () => void order.reserved.push((await stock.reserveStock(orderId, order.items)).reserved) });
      for (let r = 0; r < Math.floor(rand() * 3); r++) calls.push({ at: at(), call: async () => void order.released.push(await stock.releaseStock(orderId)) });
    }
    // No call may fail either (as a deadlock between them would): it would leave its order unanswered.
    const violations: string[] = [];
    await Promise.all(calls.map(async ({ at, call }) => (await delay(at), call().catch((e: Error) => void violations.push(`a call failed: ${e.message}`)))));

    const { rows: products } = await pool.query(
      `SELECT p.sku, p.on_hand, p.reserved,
              (SELECT coalesce(sum(i.quantity), 0)::int FROM reservation_items i JOIN reservations r USING (order_id) WHERE i.sku = p.sku AND r.status = 'RESERVED') AS lines
         FROM products p WHERE p.sku = ANY($1::text[])`,
      [skus],
    );
    for (const p of products) {
      if (p.reserved !== p.lines) violations.push(`${p.sku}: reserved ${p.reserved}, RESERVED lines ${p.lines}`);
      if (p.on_hand - p.reserved < 0) violations.push(`${p.sku}: available ${p.on_hand - p.reserved}`);
    }
    const { rows: reservations } = await pool.query(
      `SELECT r.order_id, r.status,
              (SELECT count(*)::int FROM reservation_items i WHERE i.order_id = r.order_id) AS lines,
              (SELECT count(*)::int FROM outbox o WHERE o.message_key = r.order_id::text AND o.payload->>'type' = 'stock.reserved') AS "reservedFacts",
              (SELECT count(*)::int FROM outbox o WHERE o.message_key = r.order_id::text AND o.payload->>'type' = 'stock.released') AS "releasedFacts"
         FROM reservations r WHERE r.order_id = ANY($1::uuid[])`,
      [[...orders.keys()]],
    );
    const stored = new Map(reservations.map((r) => [r.order_id as string, r]));
    for (const [orderId, order] of orders) {
      const r = stored.get(orderId);
      const took = r?.lines > 0; // this order's stock moved to reserved once
      const releases = order.released.filter(Boolean).length;
      // A refused reserve is final; otherwise any answered release leaves the order RELEASED, and only one
      // of them, only if its stock was really taken, says it released it.
      const expected = {
        status: order.reserved.some((x) => !x) ? 'REJECTED' : order.released.length ? 'RELEASED' : 'RESERVED',
        releases: r?.status === 'RELEASED' && took ? 1 : 0,
        reservedFacts: took ? 1 : 0,
        releasedFacts: releases,
      };
      const actual = { status: r?.status, releases, reservedFacts: r?.reservedFacts, releasedFacts: r?.releasedFacts };
      if (new Set(order.reserved).size > 1) violations.push(`${orderId}: reserves answered ${order.reserved.join(', ')}`);
      if (JSON.stringify(actual) !== JSON.stringify(expected)) violations.push(`${orderId}: ${JSON.stringify(actual)}, expected ${JSON.stringify(expected)}`);
    }
    expect({ seed, violations }).toEqual({ seed, violations: [] });
  });
});
