import { randomUUID } from 'node:crypto';
import { status, type Server } from '@grpc/grpc-js';
import type { Pool } from 'pg';
import { createPool } from '@orderflow/db';
import { callUnary, createGrpcClient, createGrpcServer, InventoryServiceClient, InventoryServiceService, startGrpcServer, stopGrpcServer } from '@orderflow/proto';
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

const upsert = (sku: string, stock: number, priceCents = 1500) => callUnary(client.upsertProduct.bind(client), { sku, name: `Product ${sku}`, priceCents, stock }, opts);
const reserve = (orderId: string, items: { sku: string; quantity: number }[]) => callUnary(client.reserveStock.bind(client), { orderId, items }, opts);
const release = (orderId: string) => callUnary(client.releaseStock.bind(client), { orderId }, opts);
const product = async (sku: string) => (await callUnary(client.getProducts.bind(client), { skus: [sku] }, opts)).products[0]!;
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
    const refused = await reserve(randomUUID(), [{ sku: a, quantity: 2 }, { sku: b, quantity: 2 }]);
    expect(refused).toMatchObject({ reserved: false, shortages: [{ sku: b, requested: 2, available: 1 }] });
    expect((await product(a)).available).toBe(5);
    const orderId = randomUUID();
    expect(await reserve(orderId, [{ sku: a, quantity: 2 }, { sku: b, quantity: 1 }])).toMatchObject({ reserved: true, orderId });
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
