import { randomUUID } from 'node:crypto';
import { status, type Server } from '@grpc/grpc-js';
import type { Pool } from 'pg';
import { createPool } from '@orderflow/db';
import { callUnary, createGrpcClient, createGrpcServer, errorCodeOf, OrderServiceClient, OrderServiceService, OrderStatus, startGrpcServer, stopGrpcServer } from '@orderflow/proto';
import { createTestDatabase, type TestDatabase } from '@orderflow/testing';
import { createOrderRepository } from '../db/order-repository';
import { createOrderUseCases } from '../orders';
import { createOrderService } from './order-service';

let db: TestDatabase;
let pool: Pool;
let server: Server;
let client: OrderServiceClient;
const opts = { timeoutMs: 5_000 };

beforeAll(async () => {
  db = await createTestDatabase('order');
  pool = createPool(db.url);
  server = createGrpcServer();
  server.addService(OrderServiceService, createOrderService(createOrderUseCases(createOrderRepository(pool))));
  const port = await startGrpcServer(server, '127.0.0.1', 0);
  client = createGrpcClient(OrderServiceClient, `127.0.0.1:${port}`);
});

afterAll(async () => {
  client.close();
  await stopGrpcServer(server, 1_000);
  await pool.end();
  await db.drop();
});

const items = [
  { sku: 'BEAN-1', quantity: 2, unitPriceCents: 1250 },
  { sku: 'MUG-2', quantity: 1, unitPriceCents: 900 },
];
const create = (orderId = randomUUID(), customerId = 'alice') => callUnary(client.createOrder.bind(client), { orderId, customerId, items }, opts);

describe('OrderService over gRPC', () => {
  it('creates a PENDING order with its total, and a repeated create returns the same order', async () => {
    const orderId = randomUUID();
    const first = await create(orderId);
    expect(first).toMatchObject({ id: orderId, customerId: 'alice', status: OrderStatus.PENDING, totalCents: 3400, items });
    const again = await create(orderId);
    expect(again).toEqual(first);
    const { rows } = await pool.query('SELECT count(*)::int AS n FROM orders WHERE id = $1', [orderId]);
    expect(rows[0].n).toBe(1);
  });

  it('rejects a create that reuses an order id with other contents as ALREADY_EXISTS', async () => {
    const orderId = randomUUID();
    await create(orderId);
    await expect(create(orderId, 'bob')).rejects.toMatchObject({ code: status.ALREADY_EXISTS });
  });

  it('answers INVALID_ARGUMENT for a malformed request', async () => {
    await expect(callUnary(client.createOrder.bind(client), { orderId: 'nope', customerId: '', items: [] }, opts)).rejects.toMatchObject({
      code: status.INVALID_ARGUMENT,
    });
  });

  it('confirms once, repeats the confirmation idempotently and refuses to reject a confirmed order', async () => {
    const { id } = await create();
    const confirmed = await callUnary(client.confirmOrder.bind(client), { orderId: id }, opts);
    expect(confirmed.status).toBe(OrderStatus.CONFIRMED);
    expect(await callUnary(client.confirmOrder.bind(client), { orderId: id }, opts)).toEqual(confirmed);
    await expect(callUnary(client.rejectOrder.bind(client), { orderId: id, reason: 'OUT_OF_STOCK' }, opts)).rejects.toMatchObject({
      code: status.FAILED_PRECONDITION,
    });
  });

  it('rejects with a reason, and a rejected order cannot be cancelled', async () => {
    const { id } = await create();
    const rejected = await callUnary(client.rejectOrder.bind(client), { orderId: id, reason: 'OUT_OF_STOCK' }, opts);
    expect(rejected).toMatchObject({ status: OrderStatus.REJECTED, reason: 'OUT_OF_STOCK' });
    await expect(callUnary(client.cancelOrder.bind(client), { orderId: id }, opts)).rejects.toMatchObject({ code: status.FAILED_PRECONDITION });
  });

  it('hides another customer’s order as NOT_FOUND, not PERMISSION_DENIED, alike to a missing one', async () => {
    const { id } = await create(randomUUID(), 'carol');
    const foreign = await callUnary(client.getOrder.bind(client), { orderId: id, customerId: 'mallory' }, opts).catch((e: unknown) => e);
    expect(foreign).toMatchObject({ code: status.NOT_FOUND });
    expect(errorCodeOf(foreign)).toBe('NOT_FOUND');
    expect((foreign as Error).message).not.toContain('carol');
    const missing = randomUUID();
    const absent = await callUnary(client.getOrder.bind(client), { orderId: missing, customerId: 'mallory' }, opts).catch((e: unknown) => e);
    expect((foreign as Error).message.replace(id, missing)).toBe((absent as Error).message);
    expect((await callUnary(client.getOrder.bind(client), { orderId: id, customerId: 'carol' }, opts)).customerId).toBe('carol');
    expect((await callUnary(client.getOrder.bind(client), { orderId: id, customerId: '' }, opts)).customerId).toBe('carol');
  });

  it('lists a customer’s orders newest first, page by page with a cursor', async () => {
    const customerId = `pager-${randomUUID()}`;
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) ids.push((await create(randomUUID(), customerId)).id);
    const seen: string[] = [];
    let cursor = '';
    do {
      const page = await callUnary(client.listOrders.bind(client), { customerId, limit: 2, cursor }, opts);
      expect(page.orders.length).toBeLessThanOrEqual(2);
      seen.push(...page.orders.map((o) => o.id));
      cursor = page.nextCursor;
    } while (cursor);
    // Every order exactly once (orders created in the same millisecond may swap places).
    expect([...seen].sort()).toEqual([...ids].sort());
  });
});
