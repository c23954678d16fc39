import { randomUUID } from 'node:crypto';
import { status, type Server } from '@grpc/grpc-js';
import type { Pool } from 'pg';
import { createPool } from '@orderflow/db';
import {
  callUnary,
  createGrpcClient,
  createGrpcServer,
  InventoryServiceClient,
  InventoryServiceService,
  startGrpcServer,
  stopGrpcServer,
} from '@orderflow/proto';
import { createTestDatabase, type TestDatabase } from '@orderflow/testing';
import { createStockRepository } from '../db/stock-repository';
import { createStockUseCases } from '../stock';
import { createInventoryService } from './inventory-service';

let db: TestDatabase;
let pool: Pool;
let server: Server;
let client: InventoryServiceClient;
const opts = { timeoutMs: 10_000 };

beforeAll(async () => {
  db = await createTestDatabase('inventory');
  pool = createPool(db.url, 20);
  server = createGrpcServer();
  server.addService(InventoryServiceService, createInventoryService(createStockUseCases(createStockRepository(pool), { topic: 'inventory-events' })));
  const port = await startGrpcServer(server, '127.0.0.1', 0);
  client = createGrpcClient(InventoryServiceClient, `127.0.0.1:${port}`);
});

afterAll(async () => {
  client.close();
  await stopGrpcServer(server, 1_000);
  await pool.end();
  await db.drop();
});

const upsert = (sku: string, stock: number, priceCents = 1500) =>
  callUnary(client.upsertProduct.bind(client), { sku, name: `Product ${sku}`, priceCents, stock }, opts);
const reserve = (orderId: string, items: { sku: string; quantity: number }[]) => callUnary(client.reserveStock.bind(client), { orderId, items }, opts);
const release = (orderId: string) => callUnary(client.releaseStock.bind(client), { orderId }, opts);
const product = async (sku: string) => (await callUnary(client.getProducts.bind(client), { skus: [sku] }, opts)).products[0]!;
const reserveBatch = (reservations: { orderId: string; items: { sku: string; quantity: number }[]; traceparent?: string }[]) =>
  callUnary(client.reserveStockBatch.bind(client), { reservations: reservations.map((r) => ({ traceparent: '', ...r })) }, opts);
const traceparentOf = (n: number) => `00-${n.toString(16).padStart(32, '0')}-${'b7ad6b7169203331'}-01`;
const facts = async (type: string) => (await pool.query(`SELECT payload FROM outbox WHERE payload->>'type' = $1`, [type])).rows.map((r) => r.payload);

describe('InventoryService over gRPC', () => {
  it('creates a product, then updates it, recording a stock.adjusted fact each time', async () => {
    const sku = `SKU-${randomUUID().slice(0, 8)}`;
    expect(await upsert(sku, 10)).toMatchObject({ created: true, product: { sku, onHand: 10, available: 10, priceCents: 1500 } });
    expect(await upsert(sku, 12, 1700)).toMatchObject({ created: false, product: { onHand: 12, available: 12, priceCents: 1700 } });
    expect((await facts('stock.adjusted')).filter((f) => f.subject === sku)).toHaveLength(2);
  });

  it('reserves all lines or none', async () => {
    const a = `A-${randomUUID().slice(0, 8)}`;
    const b = `B-${randomUUID().slice(0, 8)}`;
    await upsert(a, 5);
    await upsert(b, 1);
    const refused = await reserve(randomUUID(), [
      { sku: a, quantity: 2 },
      { sku: b, quantity: 2 },
    ]);
    expect(refused).toMatchObject({ reserved: false, shortages: [{ sku: b, requested: 2, available: 1 }] });
    expect((await product(a)).available).toBe(5);
    const orderId = randomUUID();
    expect(
      await reserve(orderId, [
        { sku: a, quantity: 2 },
        { sku: b, quantity: 1 },
      ]),
    ).toMatchObject({ reserved: true, orderId });
    expect((await product(a)).available).toBe(3);
    expect((await product(b)).available).toBe(0);
    expect((await facts('stock.reserved')).filter((f) => f.subject === orderId)).toHaveLength(1);
  });

  it('answers a repeated reservation with the first outcome and moves stock once', async () => {
    const sku = `R-${randomUUID().slice(0, 8)}`;
    await upsert(sku, 3);
    const orderId = randomUUID();
    const outcomes = await Promise.all([1, 2, 3].map(() => reserve(orderId, [{ sku, quantity: 2 }])));
    expect(outcomes.every((o) => o.reserved)).toBe(true);
    expect((await product(sku)).available).toBe(1);
    // A shortage is remembered too: adding stock later does not turn the same order into a reservation.
    const short = randomUUID();
    expect((await reserve(short, [{ sku, quantity: 2 }])).reserved).toBe(false);
    await upsert(sku, 10);
    expect((await reserve(short, [{ sku, quantity: 2 }])).reserved).toBe(false);
  });

  it('releases a reservation exactly once', async () => {
    const sku = `L-${randomUUID().slice(0, 8)}`;
    await upsert(sku, 4);
    const orderId = randomUUID();
    await reserve(orderId, [{ sku, quantity: 3 }]);
    const releases = await Promise.all([1, 2, 3].map(() => release(orderId)));
    expect(releases.filter((r) => r.released)).toHaveLength(1);
    expect((await product(sku)).available).toBe(4);
    expect(await release(randomUUID())).toEqual({ released: false });
    expect((await facts('stock.released')).filter((f) => f.subject === orderId)).toHaveLength(1);
  });

  it('lets no stock be taken by a reservation that arrives after its order was released', async () => {
    const sku = `T-${randomUUID().slice(0, 8)}`;
    await upsert(sku, 2);
    const orderId = randomUUID();
    expect(await release(orderId)).toEqual({ released: false });
    await reserve(orderId, [{ sku, quantity: 2 }]);
    expect((await product(sku)).available).toBe(2);
  });

  it('lets exactly 50 of 100 concurrent one-unit orders reserve 50 units, never going negative', async () => {
    const sku = `RACE-${randomUUID().slice(0, 8)}`;
    await upsert(sku, 50);
    const outcomes = await Promise.all(Array.from({ length: 100 }, () => reserve(randomUUID(), [{ sku, quantity: 1 }])));
    expect(outcomes.filter((o) => o.reserved)).toHaveLength(50);
    expect(await product(sku)).toMatchObject({ onHand: 50, available: 0 });
  });

  it('refuses to set stock below what is reserved, and rejects malformed requests', async () => {
    const sku = `F-${randomUUID().slice(0, 8)}`;
    await upsert(sku, 5);
    await reserve(randomUUID(), [{ sku, quantity: 4 }]);
    await expect(upsert(sku, 3)).rejects.toMatchObject({ code: status.FAILED_PRECONDITION });
    await expect(reserve('not-a-uuid', [{ sku, quantity: 1 }])).rejects.toMatchObject({ code: status.INVALID_ARGUMENT });
    await expect(upsert('bad sku!', 1)).rejects.toMatchObject({ code: status.INVALID_ARGUMENT });
  });
});

describe('InventoryService.ReserveStockBatch over gRPC', () => {
  it('decides in request order against what the earlier ones left, each all-or-nothing, and moves stock exactly', async () => {
    const a = `BA-${randomUUID().slice(0, 8)}`;
    const b = `BB-${randomUUID().slice(0, 8)}`;
    await upsert(a, 5);
    await upsert(b, 2);
    const ids = Array.from({ length: 5 }, () => randomUUID());
    const { results } = await reserveBatch([
      {
        orderId: ids[0]!,
        items: [
          { sku: a, quantity: 1 },
          { sku: a, quantity: 1 },
          { sku: b, quantity: 1 },
        ],
      }, // lines of one sku merge
      { orderId: ids[1]!, items: [{ sku: a, quantity: 2 }] },
      {
        orderId: ids[2]!,
        items: [
          { sku: a, quantity: 1 },
          { sku: b, quantity: 2 },
        ],
      }, // b is short: takes nothing, not even a
      { orderId: ids[3]!, items: [{ sku: a, quantity: 2 }] }, // only 1 left
      {
        orderId: ids[4]!,
        items: [
          { sku: a, quantity: 1 },
          { sku: b, quantity: 1 },
        ],
      },
    ]);
    expect(results).toEqual([
      { reserved: true, orderId: ids[0], shortages: [] },
      { reserved: true, orderId: ids[1], shortages: [] },
      { reserved: false, orderId: ids[2], shortages: [{ sku: b, requested: 2, available: 1 }] },
      { reserved: false, orderId: ids[3], shortages: [{ sku: a, requested: 2, available: 1 }] },
      { reserved: true, orderId: ids[4], shortages: [] },
    ]);
    expect(await product(a)).toMatchObject({ onHand: 5, available: 0 });
    expect(await product(b)).toMatchObject({ onHand: 2, available: 0 });
    const { rows } = await pool.query(`SELECT order_id, sku, quantity FROM reservation_items WHERE order_id = ANY($1::uuid[]) ORDER BY sku`, [[ids[0]]]);
    expect(rows.map((r) => [r.sku, r.quantity])).toEqual([
      [a, 2],
      [b, 1],
    ]);
  });

  it('answers a repeated order, in the same batch or a later one, with the first decision and moves stock once', async () => {
    const sku = `BD-${randomUUID().slice(0, 8)}`;
    await upsert(sku, 4);
    const [x, y] = [randomUUID(), randomUUID()];
    const batch = [
      { orderId: x, items: [{ sku, quantity: 3 }] },
      { orderId: y, items: [{ sku, quantity: 3 }] },
      { orderId: x, items: [{ sku, quantity: 1 }] },
      { orderId: y.toUpperCase(), items: [{ sku, quantity: 1 }] }, // the same order, spelt otherwise
    ];
    const refusedY = { reserved: false, shortages: [{ sku, requested: 3, available: 1 }] };
    const first = await reserveBatch(batch);
    expect(first.results).toEqual([
      { reserved: true, orderId: x, shortages: [] },
      { orderId: y, ...refusedY },
      { reserved: true, orderId: x, shortages: [] },
      { orderId: y.toUpperCase(), ...refusedY },
    ]);
    expect((await product(sku)).available).toBe(1);
    await upsert(sku, 10); // more stock does not turn a refused order into a reservation
    expect(await reserveBatch(batch)).toEqual(first);
    expect((await reserve(y, [{ sku, quantity: 1 }])).reserved).toBe(false);
    expect((await product(sku)).available).toBe(7);
    expect((await facts('stock.reserved')).filter((f) => f.subject === x)).toHaveLength(1);
  });

  it('lets no stock be taken by a batch reservation of an order already released', async () => {
    const sku = `BT-${randomUUID().slice(0, 8)}`;
    await upsert(sku, 2);
    const released = randomUUID();
    const other = randomUUID();
    expect(await release(released)).toEqual({ released: false });
    const { results } = await reserveBatch([
      { orderId: released, items: [{ sku, quantity: 2 }] },
      { orderId: other, items: [{ sku, quantity: 2 }] },
    ]);
    // Answered as ReserveStock answers it (reserved, as far as the caller is concerned), and no stock moves for it.
    expect(results.map((r) => r.reserved)).toEqual([true, true]);
    expect((await product(sku)).available).toBe(0);
    expect((await facts('stock.reserved')).filter((f) => f.subject === released)).toHaveLength(0);
    expect(await release(other)).toEqual({ released: true });
  });

  it('fails the whole call with INVALID_ARGUMENT for any malformed reservation and moves nothing', async () => {
    const sku = `BI-${randomUUID().slice(0, 8)}`;
    await upsert(sku, 5);
    const good = { orderId: randomUUID(), items: [{ sku, quantity: 1 }] };
    const malformed = [
      { orderId: 'not-a-uuid', items: [{ sku, quantity: 1 }] },
      { orderId: randomUUID(), items: [{ sku: 'bad sku!', quantity: 1 }] },
      { orderId: randomUUID(), items: [] },
      { orderId: randomUUID(), items: [{ sku, quantity: 0 }] },
      { orderId: randomUUID(), items: [{ sku, quantity: 1 }], traceparent: 'not-a-traceparent' },
    ];
    for (const bad of malformed) {
      await expect(reserveBatch([good, bad])).rejects.toMatchObject({ code: status.INVALID_ARGUMENT });
    }
    const tooMany = Array.from({ length: 257 }, () => ({ orderId: randomUUID(), items: [{ sku, quantity: 1 }] }));
    await expect(reserveBatch(tooMany)).rejects.toMatchObject({ code: status.INVALID_ARGUMENT });
    expect((await product(sku)).available).toBe(5);
    const { rowCount } = await pool.query('SELECT 1 FROM reservations WHERE order_id = $1', [good.orderId]);
    expect(rowCount).toBe(0);
    expect(await reserveBatch([])).toEqual({ results: [] });
  });

  it('records one stock.reserved fact per reserved order, carrying that order’s traceparent', async () => {
    const sku = `BF-${randomUUID().slice(0, 8)}`;
    await upsert(sku, 2);
    const ids = [randomUUID(), randomUUID(), randomUUID(), randomUUID()];
    await reserveBatch([
      { orderId: ids[0]!, items: [{ sku, quantity: 1 }], traceparent: traceparentOf(1) },
      { orderId: ids[1]!, items: [{ sku, quantity: 5 }], traceparent: traceparentOf(2) }, // refused: no fact
      { orderId: ids[2]!, items: [{ sku, quantity: 1 }], traceparent: traceparentOf(3) },
      { orderId: ids[3]!, items: [{ sku, quantity: 1 }] }, // refused, no stock left
    ]);
    await reserveBatch([{ orderId: ids[0]!, items: [{ sku, quantity: 1 }], traceparent: traceparentOf(1) }]); // a repeat writes no second fact
    const { rows } = await pool.query(
      `SELECT message_key, payload, headers FROM outbox WHERE payload->>'type' = 'stock.reserved' AND message_key = ANY($1::text[]) ORDER BY id`,
      [ids],
    );
    expect(rows.map((r) => ({ key: r.message_key, traceparent: r.payload.traceparent, header: r.headers.traceparent, data: r.payload.data }))).toEqual([
      { key: ids[0], traceparent: traceparentOf(1), header: traceparentOf(1), data: { orderId: ids[0], items: [{ sku, quantity: 1 }] } },
      { key: ids[2], traceparent: traceparentOf(3), header: traceparentOf(3), data: { orderId: ids[2], items: [{ sku, quantity: 1 }] } },
    ]);
  });

  it('never oversells nor deadlocks with batches, single reserves and releases of the same skus at once', async () => {
    const skus = [`BS-${randomUUID().slice(0, 8)}`, `BS-${randomUUID().slice(0, 8)}`, `BS-${randomUUID().slice(0, 8)}`];
    for (const sku of skus) await upsert(sku, 60);
    let seed = 7;
    const rand = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    const orders = Array.from({ length: 200 }, () => {
      // Lines in any sku order (the server sorts them), so lock orders are really put to the test.
      const items = [...new Set(Array.from({ length: 1 + Math.floor(rand() * 3) }, () => skus[Math.floor(rand() * 3)]!))].map((sku) => ({
        sku,
        quantity: 1 + Math.floor(rand() * 3),
      }));
      return { orderId: randomUUID(), items };
    });
    const answers = new Map<string, boolean[]>(orders.map((o) => [o.orderId, []]));
    const note = (orderId: string, reserved: boolean) => answers.get(orderId)!.push(reserved);
    const calls: Promise<unknown>[] = [];
    for (let n = 0; n < 8; n++) {
      // Overlapping batches: an order may be in several, in another order each time.
      const batch = orders.filter(() => rand() < 0.2).sort(() => rand() - 0.5);
      calls.push(reserveBatch(batch).then(({ results }) => results.forEach((r) => note(r.orderId, r.reserved))));
    }
    for (const o of orders.filter(() => rand() < 0.3)) calls.push(reserve(o.orderId, o.items).then((r) => note(o.orderId, r.reserved)));
    const releasedIds = orders.filter(() => rand() < 0.2).map((o) => o.orderId);
    for (const orderId of releasedIds) calls.push(release(orderId));
    const failures = (await Promise.allSettled(calls)).filter((c) => c.status === 'rejected').map((c) => String(c.reason));
    expect(failures).toEqual([]);

    const { rows: products } = await pool.query(
      `SELECT p.sku, p.on_hand, p.reserved,
              (SELECT coalesce(sum(i.quantity), 0)::int FROM reservation_items i JOIN reservations r USING (order_id) WHERE i.sku = p.sku AND r.status = 'RESERVED') AS lines
         FROM products p WHERE p.sku = ANY($1::text[])`,
      [skus],
    );
    for (const p of products) {
      expect({ sku: p.sku, reserved: p.reserved }).toEqual({ sku: p.sku, reserved: p.lines });
      expect(p.reserved).toBeLessThanOrEqual(p.on_hand);
    }
    const { rows: stored } = await pool.query(
      `SELECT r.order_id, r.status,
              (SELECT count(*)::int FROM reservation_items i WHERE i.order_id = r.order_id) AS lines,
              (SELECT count(*)::int FROM outbox o WHERE o.message_key = r.order_id::text AND o.payload->>'type' = 'stock.reserved') AS facts
         FROM reservations r WHERE r.order_id = ANY($1::uuid[])`,
      [orders.map((o) => o.orderId)],
    );
    for (const r of stored) {
      expect({ orderId: r.order_id, facts: r.facts }).toEqual({ orderId: r.order_id, facts: r.lines > 0 ? 1 : 0 });
      const said = new Set(answers.get(r.order_id));
      // Every call about one order answered alike: refused if and only if it is stored REJECTED.
      if (said.size) expect({ orderId: r.order_id, said: [...said] }).toEqual({ orderId: r.order_id, said: [r.status !== 'REJECTED'] });
    }
  });
});
