// The orchestrator's HTTP app in-process over a real Postgres (its own test database) and a real
// Redis (the catalog cache), with in-memory order and inventory services as the downstream ports:
// what a placement commits, how concurrent placements are group-committed, and the Idempotency-Key
// rules, without starting the other apps.
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { Redis } from 'ioredis';
import jwt from 'jsonwebtoken';
import type pg from 'pg';
import pino from 'pino';
import { AppError, orderTotal, type Order, type OrderItem } from '@orderflow/domain';
import { createPool } from '@orderflow/db';
import { createTestDatabase, testInfra, uniqueName, type TestDatabase } from '@orderflow/testing';
import { createCatalog } from '../catalog/catalog';
import type { BatchOutcome, InventoryPort, OrderPort, Product, ReservationRequest } from '../clients/downstream';
import { createIdempotencyStore } from '../idempotency/idempotency-store';
import { createOrderUseCases } from '../orders/orders';
import { createSagaRepository } from '../saga/saga-repository';
import { createSagaRunner } from '../saga/saga-runner';
import { createHttpApp, type HttpAppDeps } from './app';

const SECRET = 'a-component-test-secret-of-32-chars!!';
const logger = pino({ level: 'silent' });
/** Whose orders the order service answers CONFLICT, as for an order id reused with other contents. */
const REFUSED_CUSTOMER = 'component-refused';
const PRODUCTS: Product[] = [{ sku: 'BEANS-1', name: 'Beans', priceCents: 1_200, available: 1_000 }];

let db: TestDatabase;
let pool: pg.Pool;
let redis: Redis;
let server: Server;
let base: string;
let stopRunner: () => Promise<void>;
let useCaseDeps: Parameters<typeof createOrderUseCases>[0];
const calls: string[] = [];
const orders = new Map<string, Order>();

/** The order service as it behaves, in memory: idempotent on the id, CONFLICT for other contents. */
function create(input: { orderId: string; customerId: string; items: OrderItem[] }): Order {
  if (input.customerId === REFUSED_CUSTOMER) throw new AppError('CONFLICT', `order ${input.orderId} already exists with different contents`);
  const existing = orders.get(input.orderId);
  if (existing && JSON.stringify(existing.items) !== JSON.stringify(input.items))
    throw new AppError('CONFLICT', `order ${input.orderId} already exists with different contents`);
  if (existing) return existing;
  const now = new Date().toISOString();
  const order: Order = {
    id: input.orderId,
    customerId: input.customerId,
    status: 'PENDING',
    items: input.items,
    totalCents: orderTotal(input.items),
    createdAt: now,
    updatedAt: now,
  };
  orders.set(order.id, order);
  return order;
}
const outcome = (orderId: string, work: () => Order): BatchOutcome<Order> => {
  try {
    return { orderId, ok: true, value: work() };
  } catch (error) {
    return { orderId, ok: false, error: error as AppError };
  }
};
const orderPort = {
  async createOrders(inputs: { orderId: string; customerId: string; items: OrderItem[] }[]) {
    calls.push(`createOrders ${inputs.length}`);
    return inputs.map((input) => outcome(input.orderId, () => create(input)));
  },
  async confirmOrders(confirmations: { orderId: string }[]) {
    calls.push(`confirmOrders ${confirmations.length}`);
    return confirmations.map(({ orderId }) => outcome(orderId, () => Object.assign(orders.get(orderId)!, { status: 'CONFIRMED' })));
  },
  async getOrder(orderId: string, customerId?: string) {
    const order = orders.get(orderId);
    if (!order || (customerId && order.customerId !== customerId)) throw new AppError('NOT_FOUND', `order ${orderId} does not exist`);
    return order;
  },
} as unknown as OrderPort;
const inventoryPort = {
  getProducts: async (skus: string[]) => PRODUCTS.filter((p) => skus.includes(p.sku)),
  async reserveStockBatch(reservations: ReservationRequest[]) {
    calls.push(`reserveStockBatch ${reservations.length}`);
    return reservations.map((r) => ({ orderId: r.orderId, reserved: true, shortages: [] }));
  },
} as unknown as InventoryPort;

beforeAll(async () => {
  db = await createTestDatabase('orchestrator', 'http_app');
  pool = createPool(db.url, 8);
  redis = new Redis(testInfra().redisUrl, { lazyConnect: true });
  await redis.connect();
  const sagas = createSagaRepository(pool);
  const runner = createSagaRunner({
    repo: sagas,
    ports: { orders: orderPort, inventory: inventoryPort },
    destinations: { orderEventsTopic: 'order-events', source: '/test' },
    retry: { maxAttempts: 3, baseDelayMs: 10, maxDelayMs: 50 },
    watchdogMs: 30_000,
    pollIntervalMs: 60_000,
    logger,
  });
  stopRunner = () => runner.stop();
  const catalog = createCatalog(inventoryPort, redis, { keyPrefix: `${uniqueName('app')}:`, ttlSeconds: 60, logger });
  useCaseDeps = { catalog, orders: orderPort, sagas, runner, destinations: { orderEventsTopic: 'order-events', source: '/test' }, watchdogMs: 30_000 };
  const app = createHttpApp({
    auth: { JWT_SECRET: SECRET },
    orders: createOrderUseCases(useCaseDeps),
    catalog,
    inventory: inventoryPort,
    sagas,
    idempotency: createIdempotencyStore(pool, { ttlHours: 24, lockSeconds: 10 }),
    // The admin API has its own component tests (admin-*.test.ts).
    admin: {} as HttpAppDeps['admin'],
    requestLog: (_req, _res, next) => next(),
    logger,
  });
  server = app.listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise((resolve) => server?.close(resolve));
  await stopRunner?.();
  redis?.disconnect();
  await pool?.end();
  await db?.drop();
});

beforeEach(() => void (calls.length = 0));

const token = (sub: string) => jwt.sign({ sub, role: 'customer' }, SECRET, { algorithm: 'HS256', expiresIn: '5m' });
async function place(customer: string, key: string, quantity = 1) {
  const res = await fetch(`${base}/v1/orders`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token(customer)}`, 'content-type': 'application/json', 'idempotency-key': key },
    body: JSON.stringify({ items: [{ sku: 'BEANS-1', quantity }] }),
  });
  return {
    status: res.status,
    replayed: res.headers.get('idempotent-replayed'),
    body: (await res.json()) as { id: string; type?: string; totalCents?: number },
  };
}
const count = async (sql: string, params: unknown[]) => Number((await pool.query(sql, params)).rows[0].count);

describe('placing orders (the use case)', () => {
  it('creates the orders of placements that come together with one CreateOrders call and commits them with one statement', async () => {
    let statements = 0;
    const counting = { query: (...args: Parameters<pg.Pool['query']>) => (statements++, pool.query(...args)) } as unknown as pg.Pool;
    const placing = createOrderUseCases({ ...useCaseDeps, sagas: createSagaRepository(counting) });
    await useCaseDeps.catalog.price([{ sku: 'BEANS-1', quantity: 1 }]); // cached: every placement prices from one MGET
    const effects = Array.from({ length: 5 }, () => {
      const orderId = globalThis.crypto.randomUUID();
      return {
        resourceId: orderId,
        resumed: false,
        beginEffect: () => undefined,
        completed: false,
        committed() {
          this.completed = true;
        },
        completion: () => ({ caller: 'c', key: orderId, owner: orderId, response: { status: 202, headers: {}, body: Buffer.from('') } }),
      };
    });
    const placed = await Promise.all(
      effects.map((effect, i) => placing.placeOrder({ id: `together-${i}`, role: 'customer' }, [{ sku: 'BEANS-1', quantity: 1 }], effect)),
    );
    expect(placed.map((o) => o.id)).toEqual(effects.map((e) => e.resourceId));
    expect(effects.every((e) => e.completed)).toBe(true);
    expect(calls.filter((c) => c.startsWith('createOrders'))).toEqual(['createOrders 5']);
    expect(statements).toBe(1);
  });
});

describe('the HTTP app', () => {
  it('places concurrent orders, each answered with its own order, saga, order.placed fact and stored response', async () => {
    const customers = Array.from({ length: 6 }, (_, i) => `component-${i}`);
    const answers = await Promise.all(customers.map((c) => place(c, globalThis.crypto.randomUUID())));
    expect(answers.map((a) => a.status)).toEqual(customers.map(() => 202));
    const ids = answers.map((a) => a.body.id);
    expect(new Set(ids).size).toBe(6);
    expect(ids.map((id) => orders.get(id)?.customerId)).toEqual(customers);
    // Requests that arrive together share a batch; how many do over HTTP is up to the event loop.
    const creates = calls.filter((c) => c.startsWith('createOrders')).map((c) => Number(c.split(' ')[1]));
    expect(creates.reduce((a, b) => a + b, 0)).toBe(6);
    expect(await count('SELECT count(*) FROM sagas WHERE order_id = ANY($1::uuid[])', [ids])).toBe(6);
    expect(await count(`SELECT count(*) FROM outbox WHERE message_key = ANY($1::text[]) AND payload->>'type' = 'order.placed'`, [ids])).toBe(6);
    expect(await count(`SELECT count(*) FROM idempotency_keys WHERE resource_id = ANY($1::uuid[]) AND state = 'COMPLETED'`, [ids])).toBe(6);
  });

  it('replays a finished placement byte for byte and refuses its key with another body', async () => {
    const key = globalThis.crypto.randomUUID();
    const first = await place('component-replay', key);
    const again = await place('component-replay', key);
    expect(again).toEqual({ ...first, replayed: 'true' });
    const other = await place('component-replay', key, 2);
    expect(other.status).toBe(422);
    expect(other.body.type).toMatch(/idempotency-key-reused$/);
    expect(calls.filter((c) => c.startsWith('createOrders'))).toEqual(['createOrders 1']);
  });

  it('fails only the request whose order the order service refuses, and places the one beside it', async () => {
    const [refused, neighbour] = await Promise.all([
      place(REFUSED_CUSTOMER, globalThis.crypto.randomUUID()),
      place('component-neighbour', globalThis.crypto.randomUUID()),
    ]);
    expect(refused.status).toBe(409);
    expect(neighbour.status).toBe(202);
    expect(await count('SELECT count(*) FROM sagas WHERE customer_id = $1', [REFUSED_CUSTOMER])).toBe(0);
    expect(await count('SELECT count(*) FROM sagas WHERE order_id = $1', [neighbour.body.id])).toBe(1);
  });
});
