import { randomUUID } from 'node:crypto';
import { status, type Server } from '@grpc/grpc-js';
import type { Pool } from 'pg';
import { createPool } from '@orderflow/db';
import {
  callUnary,
  createGrpcClient,
  createGrpcServer,
  errorCodeOf,
  OrderServiceClient,
  OrderServiceService,
  OrderStatus,
  startGrpcServer,
  type OrderResults,
  stopGrpcServer,
} from '@orderflow/proto';
import { createTestDatabase, waitFor, type TestDatabase } from '@orderflow/testing';
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
const create = (orderId = randomUUID(), customerId = 'alice') =>
  callUnary(client.createOrder.bind(client), { orderId, customerId, items, traceparent: '' }, opts);

type NewOrder = { orderId: string; customerId: string; items: typeof items; traceparent: string };
const createAll = (orders: NewOrder[]) => callUnary(client.createOrders.bind(client), { orders }, opts);
const confirmAll = (orderIds: string[]) => callUnary(client.confirmOrders.bind(client), { orderIds, traceparents: [] }, opts);
const newOrder = (customerId = 'alice', orderItems = items): NewOrder => ({ orderId: randomUUID(), customerId, items: orderItems, traceparent: '' });

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
    await expect(callUnary(client.createOrder.bind(client), { orderId: 'nope', customerId: '', items: [], traceparent: '' }, opts)).rejects.toMatchObject({
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

describe('OrderService.CreateOrders and ConfirmOrders over gRPC', () => {
  it('creates every order of a batch as CreateOrder does, in request order, and a repeat answers the stored orders', async () => {
    const batch = [newOrder('alice'), newOrder('bob', [{ sku: 'TEA-3', quantity: 3, unitPriceCents: 400 }]), newOrder('carol')];
    const first = await createAll(batch);
    expect(first.results.map((r) => r.orderId)).toEqual(batch.map((o) => o.orderId));
    expect(first.results.map((r) => r.error)).toEqual([undefined, undefined, undefined]);
    expect(first.results[1]!.order).toMatchObject({
      id: batch[1]!.orderId,
      customerId: 'bob',
      status: OrderStatus.PENDING,
      totalCents: 1200,
      items: batch[1]!.items,
      reason: '',
    });
    // What CreateOrder answers for the same order is what the batch answered.
    expect(await callUnary(client.createOrder.bind(client), batch[0]!, opts)).toEqual(first.results[0]!.order);
    expect(await createAll(batch)).toEqual(first);
    const { rows } = await pool.query(
      'SELECT count(*)::int AS orders, (SELECT count(*)::int FROM order_items WHERE order_id = ANY($1::uuid[])) AS lines FROM orders WHERE id = ANY($1::uuid[])',
      [batch.map((o) => o.orderId)],
    );
    expect(rows[0]).toEqual({ orders: 3, lines: 5 });
  });

  it('answers an order id reused with other contents with that order’s CONFLICT, and the others as usual', async () => {
    const existing = (await create()).id;
    const twice = newOrder('dave');
    const fresh = newOrder('erin');
    const { results } = await createAll([
      { orderId: existing, customerId: 'mallory', items, traceparent: '' },
      twice,
      fresh,
      { ...twice, items: [{ sku: 'OTHER-1', quantity: 1, unitPriceCents: 1 }] }, // the same id again in the batch, other lines
      { ...twice, orderId: twice.orderId.toUpperCase() }, // the same order, spelt otherwise
    ]);
    expect(results.map((r) => (r.error ? r.error.code : OrderStatus[r.order!.status]))).toEqual(['CONFLICT', 'PENDING', 'PENDING', 'CONFLICT', 'PENDING']);
    expect(results[0]).toEqual({ orderId: existing, error: { code: 'CONFLICT', message: `order ${existing} already exists with different contents` } });
    expect(results[4]!.order).toEqual(results[1]!.order);
    expect((await callUnary(client.getOrder.bind(client), { orderId: existing, customerId: '' }, opts)).customerId).toBe('alice');
  });

  it('fails the whole CreateOrders call with INVALID_ARGUMENT for any malformed order and creates none', async () => {
    const good = newOrder();
    await expect(createAll([good, { orderId: randomUUID(), customerId: '', items, traceparent: '' }])).rejects.toMatchObject({ code: status.INVALID_ARGUMENT });
    await expect(createAll([good, { ...newOrder(), items: [] }])).rejects.toMatchObject({ code: status.INVALID_ARGUMENT });
    await expect(createAll([good, { ...newOrder(), traceparent: 'not-a-traceparent' }])).rejects.toMatchObject({ code: status.INVALID_ARGUMENT });
    await expect(callUnary(client.confirmOrders.bind(client), { orderIds: [randomUUID(), randomUUID()], traceparents: [''] }, opts)).rejects.toMatchObject({
      code: status.INVALID_ARGUMENT,
    });
    await expect(createAll(Array.from({ length: 257 }, () => newOrder()))).rejects.toMatchObject({ code: status.INVALID_ARGUMENT });
    await expect(confirmAll([randomUUID(), 'nope'])).rejects.toMatchObject({ code: status.INVALID_ARGUMENT });
    expect((await pool.query('SELECT 1 FROM orders WHERE id = $1', [good.orderId])).rowCount).toBe(0);
    expect(await createAll([])).toEqual({ results: [] });
    expect(await confirmAll([])).toEqual({ results: [] });
  });

  it('confirms the pending orders of a batch, answers confirmed ones as they are, and the rest per order as ConfirmOrder would', async () => {
    const [pending, confirmed, rejected, cancelled] = (await createAll([newOrder(), newOrder(), newOrder(), newOrder()])).results.map((r) => r.orderId);
    const before = await callUnary(client.confirmOrder.bind(client), { orderId: confirmed! }, opts);
    await callUnary(client.rejectOrder.bind(client), { orderId: rejected!, reason: 'OUT_OF_STOCK' }, opts);
    await callUnary(client.cancelOrder.bind(client), { orderId: cancelled! }, opts);
    const missing = randomUUID();
    const { results } = await confirmAll([pending!, confirmed!, missing, rejected!, cancelled!, pending!]);
    expect(results.map((r) => r.orderId)).toEqual([pending, confirmed, missing, rejected, cancelled, pending]);
    expect(results[0]!.order).toMatchObject({ id: pending, status: OrderStatus.CONFIRMED });
    expect(results[5]).toEqual(results[0]);
    expect(results[1]).toEqual({ orderId: confirmed, order: before });
    expect(results.slice(2, 5).map((r) => r.error)).toEqual([
      { code: 'NOT_FOUND', message: `order ${missing} does not exist` },
      { code: 'INVALID_TRANSITION', message: `order ${rejected} is REJECTED and cannot become CONFIRMED` },
      { code: 'INVALID_TRANSITION', message: `order ${cancelled} is CANCELLED and cannot become CONFIRMED` },
    ]);
    // The same messages as the single call.
    await expect(callUnary(client.confirmOrder.bind(client), { orderId: rejected! }, opts)).rejects.toMatchObject({
      code: status.FAILED_PRECONDITION,
      details: `order ${rejected} is REJECTED and cannot become CONFIRMED`,
    });
    // A repeat answers the same orders.
    expect((await confirmAll([pending!, confirmed!])).results).toEqual([results[0], results[1]]);
  });

  // Another transaction holds the row while a batch statement runs: the statement's snapshot is older
  // than what it finally finds, so it must not answer from that snapshot.
  async function whileAnotherTransactionHolds(statements: [string, unknown[]][], call: () => Promise<OrderResults>): Promise<OrderResults> {
    const other = await pool.connect();
    try {
      await other.query('BEGIN');
      for (const [sql, params] of statements) await other.query(sql, params);
      const answer = call();
      await waitFor(async () => (await pool.query(`SELECT 1 FROM pg_stat_activity WHERE datname = $1 AND wait_event_type = 'Lock'`, [db.name])).rowCount! > 0, {
        what: 'the batch to wait for the row',
      });
      await other.query('COMMIT');
      return await answer;
    } finally {
      other.release();
    }
  }

  it('answers an order that another transaction cancels or confirms while ConfirmOrders waits for it as it ends up', async () => {
    const [cancelled, confirmed] = (await createAll([newOrder(), newOrder()])).results.map((r) => r.orderId);
    const move = (status: string, id: string): [string, unknown[]] => [`UPDATE orders SET status = $2, updated_at = now() WHERE id = $1`, [id, status]];
    const cancelling = await whileAnotherTransactionHolds([move('CANCELLED', cancelled!)], () => confirmAll([cancelled!]));
    expect(cancelling.results[0]!.error).toEqual({ code: 'INVALID_TRANSITION', message: `order ${cancelled} is CANCELLED and cannot become CONFIRMED` });
    const confirming = await whileAnotherTransactionHolds([move('CONFIRMED', confirmed!)], () => confirmAll([confirmed!]));
    expect(confirming.results[0]!.order).toMatchObject({ id: confirmed, status: OrderStatus.CONFIRMED });
  });

  it('answers an order that another transaction inserts while CreateOrders waits for it from what was stored', async () => {
    const order = newOrder('frank');
    const same = await whileAnotherTransactionHolds(
      [
        [`INSERT INTO orders (id, customer_id, status, total_cents) VALUES ($1, $2, 'PENDING', 3400)`, [order.orderId, order.customerId]],
        [
          `INSERT INTO order_items (order_id, line, sku, quantity, unit_price_cents) VALUES ($1, 0, 'BEAN-1', 2, 1250), ($1, 1, 'MUG-2', 1, 900)`,
          [order.orderId],
        ],
      ],
      () => createAll([order, { ...order, customerId: 'mallory' }]),
    );
    expect(same.results[0]!.order).toMatchObject({ id: order.orderId, customerId: 'frank', items });
    expect(same.results[1]!.error?.code).toBe('CONFLICT');
  });
});
