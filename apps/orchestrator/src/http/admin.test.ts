// The admin API in-process over a real Postgres (its own test database) and a real Redis, with the
// real saga runner, saga operations, dead-letter repository, replay and audit log, and in-memory order
// and inventory services that can be made unreachable (a transient failure: the saga then waits) or
// refuse for good (the saga compensates and fails). Replay publishes to a recording Kafka producer and
// RabbitMQ publisher: the broker round trips of a replay are covered by the e2e suites
// (e2e/dead-letters-binary.test.ts, e2e/faults/dead-letters.test.ts).
import { randomUUID } from 'node:crypto';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Redis } from 'ioredis';
import jwt from 'jsonwebtoken';
import type { Producer, ProducerBatch } from 'kafkajs';
import type pg from 'pg';
import pino from 'pino';
import { AppError, orderTotal, type Order, type OrderItem } from '@orderflow/domain';
import { createPool, inTransaction } from '@orderflow/db';
import type { OutboxRecord, RabbitPublisher } from '@orderflow/messaging';
import { createTestDatabase, testInfra, uniqueName, waitFor, type TestDatabase } from '@orderflow/testing';
import { createAuditLog } from '../audit/audit-log';
import { createCatalog } from '../catalog/catalog';
import type { InventoryPort, OrderPort, Product, ReservationRequest } from '../clients/downstream';
import { createDeadLetterRepository, type DeadLetter, type DeadLetterRepository } from '../dead-letters/dead-letter-repository';
import { createReplay } from '../dead-letters/replay';
import { createIdempotencyStore } from '../idempotency/idempotency-store';
import { createOrderUseCases } from '../orders/orders';
import { FIRST_STEP, INITIAL_COMPENSATIONS, placedMessage } from '../saga/order-saga';
import { createSagaOperations } from '../saga/saga-operations';
import { createSagaRepository, type SagaRepository } from '../saga/saga-repository';
import { createSagaRunner } from '../saga/saga-runner';
import { collectStats } from '../stats';
import { createHttpApp } from './app';

const SECRET = 'an-admin-component-test-secret-32ch!';
const logger = pino({ level: 'silent' });
const DESTINATIONS = { orderEventsTopic: 'order-events', source: '/test' };
const PRODUCTS: Product[] = [{ sku: 'BEANS-1', name: 'Beans', priceCents: 1_200, available: 1_000_000 }];
const DEPENDENCIES = [
  { name: 'postgres', ok: true, latencyMs: 1, checkedAt: '2026-11-29T10:00:00.000Z', since: '2026-11-29T09:00:00.000Z' },
  { name: 'kafka', ok: false, latencyMs: 0, checkedAt: '2026-11-29T10:00:00.000Z', since: '2026-11-29T09:59:00.000Z', error: 'refused' },
];

let db: TestDatabase;
let pool: pg.Pool;
let redis: Redis;
let server: Server;
let base: string;
let sagas: SagaRepository;
let deadLetters: DeadLetterRepository;
let stopRunner: () => Promise<void>;

// The downstream services, in memory. Customers in `unreachable` find the inventory service down (a
// retryable UNAVAILABLE: the saga waits); those in `refused` find it refusing for good (it compensates).
const orders = new Map<string, Order>();
const unreachable = new Set<string>();
const refused = new Set<string>();
const calls: string[] = [];
const customerOf = (orderId: string) => orders.get(orderId)?.customerId ?? '';
function inventoryCall(orderId: string, call: 'reserve' | 'release'): void {
  calls.push(`${call} ${orderId}`);
  if (unreachable.has(customerOf(orderId))) throw new AppError('UNAVAILABLE', 'inventory service unreachable', { retryable: true });
  if (call === 'reserve' && refused.has(customerOf(orderId))) throw new AppError('INTERNAL', 'inventory refuses this order', { retryable: false });
}
function setStatus(orderId: string, status: Order['status']): Order {
  calls.push(`${status} ${orderId}`);
  return Object.assign(orders.get(orderId)!, { status });
}
const orderPort = {
  async createOrders(inputs: { orderId: string; customerId: string; items: OrderItem[] }[]) {
    return inputs.map(({ orderId, customerId, items }) => {
      const now = new Date().toISOString();
      const order: Order = { id: orderId, customerId, status: 'PENDING', items, totalCents: orderTotal(items), createdAt: now, updatedAt: now };
      orders.set(orderId, orders.get(orderId) ?? order);
      return { orderId, ok: true, value: orders.get(orderId)! };
    });
  },
  confirmOrders: async (confirmations: { orderId: string }[]) =>
    confirmations.map(({ orderId }) => ({ orderId, ok: true, value: setStatus(orderId, 'CONFIRMED') })),
  confirmOrder: async (orderId: string) => setStatus(orderId, 'CONFIRMED'),
  rejectOrder: async (orderId: string) => setStatus(orderId, 'REJECTED'),
  cancelOrder: async (orderId: string) => setStatus(orderId, 'CANCELLED'),
} as unknown as OrderPort;
const inventoryPort = {
  getProducts: async (skus: string[]) => PRODUCTS.filter((p) => skus.includes(p.sku)),
  async reserveStockBatch(reservations: ReservationRequest[]) {
    reservations.forEach((r) => inventoryCall(r.orderId, 'reserve'));
    return reservations.map((r) => ({ orderId: r.orderId, reserved: true, shortages: [] }));
  },
  reserveStock: async (orderId: string) => (inventoryCall(orderId, 'reserve'), { reserved: true, shortages: [] }),
  releaseStock: async (orderId: string) => (inventoryCall(orderId, 'release'), { released: true }),
} as unknown as InventoryPort;

// What a replay hands to the brokers.
const kafkaSent: { topic: string; key: string; value: string }[] = [];
const rabbitSent: { topic: string; key: string; payload: string }[] = [];
const producer = {
  async sendBatch(batch: ProducerBatch) {
    for (const { topic, messages } of batch.topicMessages ?? [])
      for (const m of messages) kafkaSent.push({ topic, key: String(m.key), value: String(m.value) });
    return [];
  },
} as unknown as Producer;
const rabbit = {
  publish: async (records: OutboxRecord[]) => void rabbitSent.push(...records.map((r) => ({ topic: r.topic, key: r.key, payload: String(r.payload) }))),
} as unknown as RabbitPublisher;

beforeAll(async () => {
  db = await createTestDatabase('orchestrator', 'http_admin');
  pool = createPool(db.url, 8);
  redis = new Redis(testInfra().redisUrl, { lazyConnect: true });
  await redis.connect();
  sagas = createSagaRepository(pool);
  deadLetters = createDeadLetterRepository(pool);
  // Never started: no poller comes back for a waiting saga; only an operator's retry (or a cancel) runs it.
  const runner = createSagaRunner({
    repo: sagas,
    ports: { orders: orderPort, inventory: inventoryPort },
    destinations: DESTINATIONS,
    retry: { maxAttempts: 5, baseDelayMs: 60_000, maxDelayMs: 60_000 },
    watchdogMs: 60_000,
    pollIntervalMs: 60_000,
    logger,
  });
  stopRunner = () => runner.stop();
  const catalog = createCatalog(inventoryPort, redis, { keyPrefix: `${uniqueName('admin')}:`, ttlSeconds: 60, logger });
  const app = createHttpApp({
    auth: { JWT_SECRET: SECRET },
    orders: createOrderUseCases({ catalog, orders: orderPort, sagas, runner, destinations: DESTINATIONS, watchdogMs: 60_000 }),
    catalog,
    inventory: inventoryPort,
    sagas,
    idempotency: createIdempotencyStore(pool, { ttlHours: 24, lockSeconds: 10 }),
    admin: {
      sagaOperations: createSagaOperations(pool),
      resume: runner.resume,
      deadLetters,
      replay: createReplay({ repo: deadLetters, producer, rabbit }),
      audit: createAuditLog(pool),
      transaction: (work) => inTransaction(pool, work),
      stats: () => collectStats(pool, () => DEPENDENCIES),
    },
    rateLimit: (_req, _res, next) => next(),
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

const token = (sub: string, role: 'admin' | 'customer') => jwt.sign({ sub, role }, SECRET, { algorithm: 'HS256', expiresIn: '5m' });
const OPERATOR = 'ops-alice';

interface Answer {
  status: number;
  contentType: string | null;
  replayed: string | null;
  text: string;
  body: any;
}

/** One request to the API; an admin token unless `as` says otherwise (null: no token). */
async function call(method: string, path: string, options: { as?: string | null; key?: string; body?: unknown } = {}): Promise<Answer> {
  const { as = token(OPERATOR, 'admin'), key, body } = options;
  const headers: Record<string, string> = {};
  if (as) headers.authorization = `Bearer ${as}`;
  if (key) headers['idempotency-key'] = key;
  if (body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(`${base}${path}`, { method, headers, ...(body !== undefined ? { body: JSON.stringify(body) } : {}) });
  const text = await res.text();
  return {
    status: res.status,
    contentType: res.headers.get('content-type'),
    replayed: res.headers.get('idempotent-replayed'),
    text,
    body: text ? JSON.parse(text) : undefined,
  };
}
const get = (path: string) => call('GET', path);
/** An admin write with a fresh Idempotency-Key (or `key`). */
const write = (path: string, body?: unknown, key: string = randomUUID(), as?: string) => call('POST', path, { key, body, ...(as ? { as } : {}) });

/** Places an order as `customer` through the customer API; its id. */
async function place(customer: string): Promise<string> {
  const res = await call('POST', '/v1/orders', { as: token(customer, 'customer'), key: randomUUID(), body: { items: [{ sku: 'BEANS-1', quantity: 1 }] } });
  expect(res.status).toBe(202);
  return res.body.id;
}
/** The saga as the admin API shows it, once `until` holds. */
const sagaWhen = (orderId: string, until: (saga: Answer['body']) => boolean) =>
  waitFor(
    async () => {
      const { body } = await get(`/v1/admin/sagas/${orderId}`);
      return until(body) && body;
    },
    { what: `saga ${orderId} to reach the awaited state` },
  );
/** Sagas created in one statement (they share their creation time) and never run: RUNNING at their first step. */
async function createSagas(customerId: string, count: number): Promise<string[]> {
  const entries = Array.from({ length: count }, () => {
    const saga = {
      orderId: randomUUID(),
      customerId,
      step: FIRST_STEP,
      compensations: INITIAL_COMPENSATIONS,
      data: { items: [{ sku: 'BEANS-1', quantity: 1, unitPriceCents: 1_200 }], totalCents: 1_200, email: `${customerId}@example.test` },
      watchdogMs: 60_000,
    };
    return { saga, messages: [placedMessage(saga, DESTINATIONS)] };
  });
  return (await sagas.createMany(entries)).map((s) => s!.orderId);
}
/** Every saga a search returns, page by page (`limit` a page). */
async function allPages(path: string, limit: number): Promise<{ ids: string[]; pages: number }> {
  const ids: string[] = [];
  let cursor: string | null = null;
  let pages = 0;
  do {
    const res = await get(`${path}${path.includes('?') ? '&' : '?'}limit=${limit}${cursor ? `&cursor=${cursor}` : ''}`);
    expect(res.status).toBe(200);
    ids.push(...res.body.items.map((i: { orderId?: string; id: string }) => i.orderId ?? i.id));
    cursor = res.body.nextCursor;
    pages++;
  } while (cursor && pages < 50);
  return { ids, pages };
}
const search = async (query: string) => (await get(`/v1/admin/sagas?${query}`)).body.items.map((s: { orderId: string }) => s.orderId);

/** A dead letter as a collector records it. */
function letter(overrides: Partial<Omit<DeadLetter, 'replayedAt' | 'createdAt'>> = {}): Omit<DeadLetter, 'replayedAt' | 'createdAt'> {
  return {
    id: randomUUID(),
    source: 'kafka',
    origin: 'order-events',
    key: Buffer.from(randomUUID()),
    payload: Buffer.from(JSON.stringify({ type: 'order.placed', n: randomUUID() })),
    headers: { 'x-error': 'undecodable' },
    error: 'undecodable',
    attempts: 3,
    firstFailedAt: '2026-11-01T00:00:00.000Z',
    lastFailedAt: '2026-11-01T00:00:00.000Z',
    ...overrides,
  };
}
async function record(...letters: ReturnType<typeof letter>[]): Promise<string[]> {
  for (const l of letters) expect(await deadLetters.record(l)).toBe('recorded');
  return letters.map((l) => l.id);
}
const letterIds = async (query: string) => (await get(`/v1/admin/dead-letters?${query}`)).body.items.map((d: { id: string }) => d.id);

/** The audit rows of one Idempotency-Key, oldest first. */
async function auditOf(key: string) {
  const { rows } = await pool.query(
    'SELECT actor, action, target, outcome, status, detail, request, idempotency_key FROM admin_audit WHERE idempotency_key = $1 ORDER BY id',
    [key],
  );
  return rows;
}

describe('who may use the admin API', () => {
  const orderId = randomUUID();
  // Every row has a body slot: jest hands a shorter row's test a `done` callback in its place.
  const endpoints: [string, string, unknown][] = [
    ['GET', '/v1/admin/sagas', undefined],
    ['GET', `/v1/admin/sagas/${orderId}`, undefined],
    ['POST', `/v1/admin/sagas/${orderId}/retry`, undefined],
    ['POST', `/v1/admin/sagas/${orderId}/cancel`, { reason: 'test' }],
    ['GET', '/v1/admin/dead-letters', undefined],
    ['POST', '/v1/admin/dead-letters/replay', {}],
    ['POST', `/v1/admin/dead-letters/${orderId}/replay`, undefined],
    ['POST', `/v1/admin/dead-letters/${orderId}/discard`, { reason: 'test' }],
    ['PUT', '/v1/admin/products/BEANS-1', { name: 'Beans', priceCents: 1, stock: 1 }],
    ['GET', '/v1/admin/audit', undefined],
    ['GET', '/v1/admin/stats', undefined],
  ];

  it.each(endpoints)('answers %s %s with 401 without a token and 403 to a customer, and audits neither', async (method, path, body) => {
    const customer = uniqueName('customer');
    const key = randomUUID();
    const anonymous = await call(method, path, { as: null, key, body });
    const asCustomer = await call(method, path, { as: token(customer, 'customer'), key, body });
    expect([anonymous.status, anonymous.contentType, anonymous.body.type]).toEqual([401, 'application/problem+json; charset=utf-8', '/problems/unauthorized']);
    expect([asCustomer.status, asCustomer.contentType, asCustomer.body.type]).toEqual([403, 'application/problem+json; charset=utf-8', '/problems/forbidden']);
    expect(await auditOf(key)).toEqual([]);
  });
});

describe('searching sagas', () => {
  it('tells a saga under way (RUNNING) from one waiting out a transient failure (WAITING), and finds ended ones (COMPLETED, FAILED)', async () => {
    const customer = uniqueName('states');
    const [running] = await createSagas(customer, 1);
    const completed = await place(customer);
    await sagaWhen(completed, (s) => s.state === 'COMPLETED');
    unreachable.add(customer);
    const waiting = await place(customer);
    const waitingSaga = await sagaWhen(waiting, (s) => s.state === 'WAITING');
    unreachable.delete(customer);
    refused.add(customer);
    const failed = await place(customer);
    await sagaWhen(failed, (s) => s.state === 'FAILED');
    refused.delete(customer);

    const byCustomer = `customerId=${customer}`;
    expect(await search(`${byCustomer}&state=RUNNING`)).toEqual([running]);
    expect(await search(`${byCustomer}&state=WAITING`)).toEqual([waiting]);
    expect(await search(`${byCustomer}&state=COMPLETED`)).toEqual([completed]);
    expect(await search(`${byCustomer}&state=FAILED`)).toEqual([failed]);
    expect(await search(`${byCustomer}&state=COMPENSATING`)).toEqual([]);
    expect(await search(byCustomer)).toEqual([failed, waiting, completed, running]);
    expect(waitingSaga).toMatchObject({
      currentStep: 'RESERVE_STOCK',
      attempts: 1,
      lastError: 'inventory service unreachable',
      outcome: null,
      finishedAt: null,
    });
  });

  it('narrows by current step, by customer and by creation time (from inclusive, to exclusive)', async () => {
    const customer = uniqueName('narrow');
    const [first, second, third] = await createSagas(customer, 3);
    const [other] = await createSagas(uniqueName('other'), 1);
    // Created a minute apart; the second has moved on to confirming.
    const at = ['2026-11-29T10:00:00.000Z', '2026-11-29T10:01:00.000Z', '2026-11-29T10:02:00.000Z'];
    await pool.query(`UPDATE sagas SET created_at = t.at FROM unnest($1::uuid[], $2::timestamptz[]) AS t(id, at) WHERE order_id = t.id`, [
      [first, second, third],
      at,
    ]);
    await pool.query(`UPDATE sagas SET step = 'CONFIRM_ORDER' WHERE order_id = $1`, [second]);

    expect(await search(`customerId=${customer}&step=CONFIRM_ORDER`)).toEqual([second]);
    expect(await search(`customerId=${customer}&step=RESERVE_STOCK`)).toEqual([third, first]);
    expect(await search(`customerId=${customer}`)).toEqual([third, second, first]);
    expect(await search(`customerId=${customer}`)).not.toContain(other);
    expect(await search(`customerId=${customer}&from=${at[1]}`)).toEqual([third, second]);
    expect(await search(`customerId=${customer}&to=${at[1]}`)).toEqual([first]);
    expect(await search(`customerId=${customer}&from=${at[1]}&to=${at[2]}`)).toEqual([second]);
    expect(await search(`customerId=${customer}&from=2026-11-29T11:00:00%2B01:00&to=2026-11-29T11:01:30%2B01:00`)).toEqual([second, first]);
  });

  it('walks every page once, newest first, with no saga repeated or skipped, also among sagas created in one statement', async () => {
    const customer = uniqueName('pages');
    const together = await createSagas(customer, 5); // one statement: one creation time
    const created = [...together, ...(await createSagas(customer, 1)), ...(await createSagas(customer, 1))];
    const { rows } = await pool.query('SELECT order_id FROM sagas WHERE customer_id = $1 ORDER BY created_at DESC, order_id DESC', [customer]);

    const { ids, pages } = await allPages(`/v1/admin/sagas?customerId=${customer}`, 2);
    expect(ids).toEqual(rows.map((r) => r.order_id));
    expect([...ids].sort()).toEqual([...created].sort());
    expect(pages).toBe(4);
  });

  it.each([
    ['an unknown state', 'state=PAUSED', 'state'],
    ['a date that is not RFC 3339', 'from=yesterday', 'from'],
    ['a limit out of range', 'limit=0', 'limit'],
    ['an unknown parameter', 'colour=red', undefined],
  ])('refuses %s with a 400 problem naming the parameter', async (_, query, parameter) => {
    const res = await get(`/v1/admin/sagas?${query}`);
    expect([res.status, res.contentType, res.body.type]).toEqual([400, 'application/problem+json; charset=utf-8', '/problems/validation-failed']);
    if (parameter) expect(res.body.errors).toContainEqual(expect.objectContaining({ parameter }));
  });

  it('refuses a cursor it did not issue with a 400 problem', async () => {
    for (const cursor of ['bm90LWEtY3Vyc29y', Buffer.from(`2026-01-01T00:00:00Z|${randomUUID()}|x`).toString('base64url')]) {
      const res = await get(`/v1/admin/sagas?cursor=${cursor}`);
      expect([res.status, res.body.type, res.body.detail]).toEqual([400, '/problems/validation-failed', 'cursor is not valid']);
    }
  });
});

describe("a saga's timeline", () => {
  it('shows its steps, its order.placed and outcome facts with the e-mail task, and the dead letters of its order', async () => {
    const orderId = await place(uniqueName('timeline'));
    await sagaWhen(orderId, (s) => s.state === 'COMPLETED');
    const [kafkaLetter] = await record(letter({ key: Buffer.from(orderId) }));
    await record(letter()); // another order's

    const res = await get(`/v1/admin/sagas/${orderId}`);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ orderId, state: 'COMPLETED', outcome: 'CONFIRMED', cancelRequested: false, totalCents: 1_200 });
    expect(res.body.steps.map((s: { step: string; outcome: string }) => `${s.step} ${s.outcome}`)).toEqual([
      'PLACED STARTED',
      'RESERVE_STOCK DONE',
      'CONFIRM_ORDER CONFIRMED',
    ]);
    expect(res.body.messages.map((m: { destination: string; topic: string; type: string }) => `${m.destination} ${m.topic} ${m.type}`)).toEqual([
      'kafka order-events order.placed',
      'kafka order-events order.confirmed',
      'rabbitmq notification.send order-confirmed',
    ]);
    expect(res.body.deadLetters).toEqual([expect.objectContaining({ id: kafkaLetter, source: 'kafka', origin: 'order-events', status: 'pending' })]);
  });

  it("lists a failed saga's own dead letter with its timeline", async () => {
    const customer = uniqueName('failing');
    refused.add(customer);
    const orderId = await place(customer);
    const saga = await sagaWhen(orderId, (s) => s.state === 'FAILED');
    refused.delete(customer);
    expect(saga.deadLetters).toEqual([expect.objectContaining({ source: 'saga', origin: 'saga:RESERVE_STOCK', status: 'pending' })]);
    expect(saga.steps.map((s: { step: string; outcome: string }) => `${s.step} ${s.outcome}`)).toContain('RESERVE_STOCK FAILED');
  });

  it('answers 404 for an order that has no saga', async () => {
    const res = await get(`/v1/admin/sagas/${randomUUID()}`);
    expect([res.status, res.body.type]).toEqual([404, '/problems/not-found']);
  });
});

describe('running a saga now (retry)', () => {
  it('runs a WAITING saga at once: it waits again while the inventory is down, and completes once it is back', async () => {
    const customer = uniqueName('retry');
    unreachable.add(customer);
    const orderId = await place(customer);
    await sagaWhen(orderId, (s) => s.state === 'WAITING');

    const stillDown = await write(`/v1/admin/sagas/${orderId}/retry`);
    expect(stillDown.status).toBe(202);
    expect(stillDown.body).toMatchObject({ orderId, state: 'RUNNING', attempts: 1 });
    await sagaWhen(orderId, (s) => s.state === 'WAITING' && s.attempts === 2);

    unreachable.delete(customer);
    const key = randomUUID();
    const res = await write(`/v1/admin/sagas/${orderId}/retry`, undefined, key);
    expect(res.status).toBe(202);
    const saga = await sagaWhen(orderId, (s) => s.state === 'COMPLETED');
    expect(saga.outcome).toBe('CONFIRMED');
    expect(saga.steps).toContainEqual(expect.objectContaining({ step: 'RESERVE_STOCK', outcome: 'RETRY_REQUESTED', attempt: 2, detail: `by ${OPERATOR}` }));
    expect(saga.steps.filter((s: { outcome: string }) => s.outcome === 'RETRY_REQUESTED')).toHaveLength(2);
    expect(await auditOf(key)).toEqual([
      {
        actor: OPERATOR,
        action: 'saga.retry',
        target: orderId,
        outcome: 'succeeded',
        status: 202,
        detail: 'runs RESERVE_STOCK now (attempt 3)',
        request: null,
        idempotency_key: key,
      },
    ]);
  });

  it('refuses a saga that has ended (409) and one that does not exist (404), each audited as refused', async () => {
    const orderId = await place(uniqueName('ended'));
    await sagaWhen(orderId, (s) => s.state === 'COMPLETED');
    const [endedKey, unknownKey] = [randomUUID(), randomUUID()];
    const unknown = randomUUID();

    const ended = await write(`/v1/admin/sagas/${orderId}/retry`, undefined, endedKey);
    const missing = await write(`/v1/admin/sagas/${unknown}/retry`, undefined, unknownKey);
    expect([ended.status, ended.body.type]).toEqual([409, '/problems/conflict']);
    expect([missing.status, missing.body.type]).toEqual([404, '/problems/not-found']);
    expect(await auditOf(endedKey)).toEqual([expect.objectContaining({ action: 'saga.retry', target: orderId, outcome: 'refused', status: 409 })]);
    expect(await auditOf(unknownKey)).toEqual([expect.objectContaining({ action: 'saga.retry', target: unknown, outcome: 'refused', status: 404 })]);
    expect((await get(`/v1/admin/sagas/${orderId}`)).body.steps.map((s: { outcome: string }) => s.outcome)).not.toContain('RETRY_REQUESTED');
  });
});

describe('cancelling a saga as an operator', () => {
  it('cancels a waiting saga through its compensations, the reason in its step log and in the audit log', async () => {
    const customer = uniqueName('cancel');
    unreachable.add(customer);
    const orderId = await place(customer);
    await sagaWhen(orderId, (s) => s.state === 'WAITING');
    unreachable.delete(customer);
    const key = randomUUID();

    const res = await write(`/v1/admin/sagas/${orderId}/cancel`, { reason: 'customer phoned: wrong address' }, key);
    expect(res.status).toBe(202);
    expect(res.body).toMatchObject({ orderId, state: 'COMPENSATING' });
    const saga = await sagaWhen(orderId, (s) => s.state === 'COMPLETED');
    expect(saga).toMatchObject({ outcome: 'CANCELLED', cancelRequested: true });
    expect(saga.steps).toContainEqual(
      expect.objectContaining({ step: 'CANCEL', outcome: 'REQUESTED', detail: `by operator ${OPERATOR}: customer phoned: wrong address` }),
    );
    expect(calls).toEqual(expect.arrayContaining([`release ${orderId}`, `CANCELLED ${orderId}`]));
    expect(saga.messages.map((m: { type: string }) => m.type)).toEqual(['order.placed', 'order.cancelled', 'order-cancelled']);
    expect(await auditOf(key)).toEqual([
      expect.objectContaining({
        action: 'saga.cancel',
        target: orderId,
        outcome: 'succeeded',
        status: 202,
        detail: 'cancel requested: customer phoned: wrong address',
        request: { reason: 'customer phoned: wrong address' },
      }),
    ]);
  });

  it('refuses a cancel without a reason (400) and a saga already cancelled (409), each audited as refused', async () => {
    const orderId = await place(uniqueName('cancel-twice'));
    await sagaWhen(orderId, (s) => s.outcome === 'CONFIRMED');
    const [noReason, first, again] = [randomUUID(), randomUUID(), randomUUID()];

    const missing = await write(`/v1/admin/sagas/${orderId}/cancel`, {}, noReason);
    expect([missing.status, missing.body.type]).toEqual([400, '/problems/validation-failed']);
    expect(missing.body.errors).toEqual([expect.objectContaining({ pointer: '#/reason' })]);
    expect((await write(`/v1/admin/sagas/${orderId}/cancel`, { reason: 'duplicate order' }, first)).status).toBe(202);
    await sagaWhen(orderId, (s) => s.outcome === 'CANCELLED');
    const twice = await write(`/v1/admin/sagas/${orderId}/cancel`, { reason: 'duplicate order' }, again);
    expect([twice.status, twice.body.type]).toEqual([409, '/problems/conflict']);

    expect(await auditOf(noReason)).toEqual([expect.objectContaining({ action: 'saga.cancel', outcome: 'refused', status: 400, request: {} })]);
    expect(await auditOf(again)).toEqual([expect.objectContaining({ action: 'saga.cancel', target: orderId, outcome: 'refused', status: 409 })]);
    const { steps } = (await get(`/v1/admin/sagas/${orderId}`)).body;
    expect(steps.filter((s: { step: string }) => s.step === 'CANCEL')).toHaveLength(1);
  });
});

describe('dead letters', () => {
  it('narrows the list by source, topic, status and recording time, and pages through letters recorded in one millisecond', async () => {
    const topic = uniqueName('topic');
    const [kafka1, kafka2, kafka3] = await record(letter({ origin: topic }), letter({ origin: topic }), letter({ origin: topic }));
    const [task] = await record(letter({ source: 'rabbitmq', origin: topic }));
    const [elsewhere] = await record(letter({ origin: uniqueName('other-topic') }));
    // Recorded at known times; the last three in one millisecond, as concurrent collectors may.
    await pool.query(`UPDATE dead_letters SET created_at = '2026-11-01T10:00:00.000Z' WHERE id = $1`, [kafka1]);
    await pool.query(`UPDATE dead_letters SET created_at = '2026-11-01T11:00:00.123456Z' WHERE id = ANY($1::uuid[])`, [[kafka2, kafka3, task]]);
    expect((await write(`/v1/admin/dead-letters/${kafka3}/discard`, { reason: 'test data' })).status).toBe(200);

    expect(await letterIds(`topic=${topic}&source=rabbitmq`)).toEqual([task]);
    expect((await letterIds(`topic=${topic}&source=kafka`)).sort()).toEqual([kafka1, kafka2, kafka3].sort());
    expect((await letterIds(`topic=${topic}&status=pending`)).sort()).toEqual([kafka1, kafka2, task].sort());
    expect(await letterIds(`topic=${topic}&status=discarded`)).toEqual([kafka3]);
    expect(await letterIds(`topic=${topic}&status=replayed`)).toEqual([]);
    expect(await letterIds(`topic=${topic}&to=2026-11-01T10:30:00Z`)).toEqual([kafka1]);
    expect((await letterIds(`topic=${topic}&from=2026-11-01T10:30:00Z`)).sort()).toEqual([kafka2, kafka3, task].sort());
    expect(await letterIds(`topic=${topic}`)).not.toContain(elsewhere);

    const { ids } = await allPages(`/v1/admin/dead-letters?topic=${topic}`, 1);
    expect(ids).toEqual([...[kafka2, kafka3, task].sort().reverse(), kafka1]);
  });

  it('discards a pending letter once: a second discard answers alreadyDiscarded, and a discarded letter is not replayed (409)', async () => {
    const topic = uniqueName('discard');
    const [id] = await record(letter({ origin: topic }));
    const key = randomUUID();

    const first = await write(`/v1/admin/dead-letters/${id}/discard`, { reason: 'poison message, fixed upstream' }, key);
    expect([first.status, first.body]).toEqual([200, { id, discarded: true, alreadyDiscarded: false }]);
    const second = await write(`/v1/admin/dead-letters/${id}/discard`, { reason: 'again' });
    expect([second.status, second.body]).toEqual([200, { id, discarded: true, alreadyDiscarded: true }]);
    const replay = await write(`/v1/admin/dead-letters/${id}/replay`);
    expect([replay.status, replay.body.type]).toEqual([409, '/problems/conflict']);

    const [shown] = (await get(`/v1/admin/dead-letters?status=discarded&topic=${topic}`)).body.items;
    expect(shown).toMatchObject({ id, status: 'discarded', discardReason: 'poison message, fixed upstream' });
    expect(await auditOf(key)).toEqual([
      expect.objectContaining({
        action: 'dead-letter.discard',
        target: id,
        outcome: 'succeeded',
        status: 200,
        request: { reason: 'poison message, fixed upstream' },
      }),
    ]);
    const unknown = await write(`/v1/admin/dead-letters/${randomUUID()}/discard`, { reason: 'x' });
    expect(unknown.status).toBe(404);
  });

  it('replays one letter once however often asked: one publish, to its topic, with its key and bytes', async () => {
    const topic = uniqueName('replay-one');
    const original = letter({ origin: topic });
    const [id] = await record(original);

    const first = await write(`/v1/admin/dead-letters/${id}/replay`);
    const second = await write(`/v1/admin/dead-letters/${id}/replay`);
    expect([first.status, first.body]).toEqual([202, { id, replayed: true, alreadyReplayed: false }]);
    expect([second.status, second.body]).toEqual([202, { id, replayed: false, alreadyReplayed: true }]);
    expect(kafkaSent.filter((m) => m.topic === topic)).toEqual([{ topic, key: original.key!.toString(), value: original.payload.toString() }]);
    expect(await letterIds(`topic=${topic}&status=replayed`)).toEqual([id]);
  });

  it('replays every pending letter matching a filter once, skips saga letters, and replays none on a second call', async () => {
    const topic = uniqueName('replay-many');
    const [k1, k2] = await record(letter({ origin: topic }), letter({ origin: topic }));
    const task = letter({ source: 'rabbitmq', origin: topic, payload: Buffer.from(JSON.stringify({ template: 'order-confirmed' })) });
    const [t1, s1, discarded] = await record(task, letter({ source: 'saga', origin: topic }), letter({ origin: topic }));
    await record(letter({ origin: uniqueName('not-matched') }));
    expect((await write(`/v1/admin/dead-letters/${discarded}/discard`, { reason: 'not wanted' })).status).toBe(200);
    const key = randomUUID();

    const first = await write('/v1/admin/dead-letters/replay', { topic }, key);
    expect([first.status, first.body]).toEqual([202, { matched: 4, replayed: 3, skipped: 1 }]);
    const second = await write('/v1/admin/dead-letters/replay', { topic });
    expect([second.status, second.body]).toEqual([202, { matched: 1, replayed: 0, skipped: 1 }]);

    expect(kafkaSent.filter((m) => m.topic === topic)).toHaveLength(2);
    expect(rabbitSent.filter((m) => m.payload === task.payload.toString())).toEqual([
      { topic: 'notification.send', key: task.key!.toString(), payload: task.payload.toString() },
    ]);
    expect((await letterIds(`topic=${topic}&status=replayed`)).sort()).toEqual([k1, k2, t1].sort());
    expect(await letterIds(`topic=${topic}&status=pending`)).toEqual([s1]);
    expect(await auditOf(key)).toEqual([
      expect.objectContaining({
        action: 'dead-letter.replay-matching',
        target: null,
        outcome: 'succeeded',
        status: 202,
        detail: '3 replayed, 1 not replayable, of 4 matching',
        request: { topic },
      }),
    ]);
  });
});

describe('Idempotency-Key on admin writes', () => {
  it.each([
    ['/v1/admin/sagas/{id}/retry', undefined],
    ['/v1/admin/sagas/{id}/cancel', { reason: 'x' }],
    ['/v1/admin/dead-letters/replay', {}],
    ['/v1/admin/dead-letters/{id}/replay', undefined],
    ['/v1/admin/dead-letters/{id}/discard', { reason: 'x' }],
  ])('refuses POST %s without one (400), doing nothing', async (path, body) => {
    const [orderId] = await createSagas(uniqueName('no-key'), 1);
    const res = await call('POST', path.replace('{id}', orderId!), { body });
    expect([res.status, res.body.type]).toEqual([400, '/problems/idempotency-key-missing']);
    expect((await get(`/v1/admin/sagas/${orderId}`)).body.steps).toHaveLength(1);
  });

  it('answers a repeated write with its stored answer byte for byte, without a second publish or audit row', async () => {
    const topic = uniqueName('idempotent');
    const [id] = await record(letter({ origin: topic }));
    const key = randomUUID();

    const first = await write(`/v1/admin/dead-letters/${id}/replay`, undefined, key);
    const again = await write(`/v1/admin/dead-letters/${id}/replay`, undefined, key);
    expect(first.replayed).toBeNull();
    expect(again).toEqual({ ...first, replayed: 'true' });
    expect(kafkaSent.filter((m) => m.topic === topic)).toHaveLength(1);
    expect(await auditOf(key)).toEqual([expect.objectContaining({ action: 'dead-letter.replay', outcome: 'succeeded' })]);
  });

  it('refuses a key used again with another body (422), keeping the first action alone', async () => {
    const [id] = await record(letter({ origin: uniqueName('reused') }));
    const key = randomUUID();
    expect((await write(`/v1/admin/dead-letters/${id}/discard`, { reason: 'first reason' }, key)).status).toBe(200);
    const reused = await write(`/v1/admin/dead-letters/${id}/discard`, { reason: 'another reason' }, key);
    expect([reused.status, reused.body.type]).toEqual([422, '/problems/idempotency-key-reused']);
    expect(await auditOf(key)).toEqual([expect.objectContaining({ outcome: 'succeeded', request: { reason: 'first reason' } })]);
    expect((await deadLetters.list(200, undefined, { status: 'discarded' })).find((d) => d.id === id)?.discardReason).toBe('first reason');
  });
});

describe('the audit log', () => {
  it('pages newest first with a cursor, every action once', async () => {
    const actor = uniqueName('auditor');
    const as = token(actor, 'admin');
    for (let i = 0; i < 3; i++) {
      const [id] = await record(letter({ origin: uniqueName('audited') }));
      expect((await write(`/v1/admin/dead-letters/${id}/discard`, { reason: `reason ${i}` }, randomUUID(), as)).status).toBe(200);
    }
    const seen: { id: string; actor: string; request: { reason: string } }[] = [];
    let cursor: string | null = null;
    do {
      const res = await get(`/v1/admin/audit?limit=2${cursor ? `&cursor=${cursor}` : ''}`);
      expect(res.status).toBe(200);
      seen.push(...res.body.items);
      cursor = res.body.nextCursor;
    } while (cursor);

    const ids = seen.map((r) => Number(r.id));
    expect(ids).toEqual([...ids].sort((a, b) => b - a));
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids.length).toBe(Number((await pool.query('SELECT count(*) FROM admin_audit')).rows[0].count));
    expect(seen.slice(0, 3).map((r) => [r.actor, r.request.reason])).toEqual([
      [actor, 'reason 2'],
      [actor, 'reason 1'],
      [actor, 'reason 0'],
    ]);
    const bad = await get(`/v1/admin/audit?cursor=${Buffer.from('0; DROP TABLE').toString('base64url')}`);
    expect([bad.status, bad.body.type]).toEqual([400, '/problems/validation-failed']);
  });

  it('records an action in its own transaction: when that transaction fails, neither the change nor a succeeded row remains', async () => {
    const [id] = await record(letter({ origin: uniqueName('rolled-back') }));
    const key = `fail-${randomUUID()}`;
    // Storing this key's response fails: the statement after the audit row, in the same transaction.
    await pool.query(`CREATE OR REPLACE FUNCTION fail_key() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'key store failed'; END $$`);
    await pool.query(
      `CREATE TRIGGER fail_key BEFORE UPDATE ON idempotency_keys FOR EACH ROW WHEN (NEW.key = '${key}' AND NEW.state = 'COMPLETED') EXECUTE FUNCTION fail_key()`,
    );
    try {
      const res = await write(`/v1/admin/dead-letters/${id}/discard`, { reason: 'never happens' }, key);
      expect([res.status, res.body.type]).toEqual([500, '/problems/internal']);
    } finally {
      await pool.query('DROP TRIGGER fail_key ON idempotency_keys');
    }
    expect(await auditOf(key)).toEqual([expect.objectContaining({ action: 'dead-letter.discard', target: id, outcome: 'failed', status: 500 })]);
    expect((await deadLetters.list(200, undefined, { status: 'pending' })).map((d) => d.id)).toContain(id);

    // Nothing was done, so the key is free: the same request now does it, once.
    const retried = await write(`/v1/admin/dead-letters/${id}/discard`, { reason: 'never happens' }, key);
    expect([retried.status, retried.body.alreadyDiscarded]).toEqual([200, false]);
    expect((await auditOf(key)).map((r) => r.outcome)).toEqual(['failed', 'succeeded']);
  });
});

describe('stats', () => {
  it('counts the sagas that just completed in the current minute of a 60-minute throughput, and reports dependencies', async () => {
    const customer = uniqueName('stats');
    const ids = [await place(customer), await place(customer)];
    const ended = await Promise.all(ids.map((id) => sagaWhen(id, (s) => s.state === 'COMPLETED')));

    const asked = Date.now();
    const res = await get('/v1/admin/stats');
    const answered = Date.now();
    expect(res.status).toBe(200);
    const { throughput } = res.body as { throughput: { minute: string; completed: number; failed: number }[] };
    expect(throughput).toHaveLength(60);
    const minutes = throughput.map((t) => Date.parse(t.minute));
    expect(minutes.slice(1).every((m, i) => m - minutes[i]! === 60_000)).toBe(true);
    expect([asked, answered].map((t) => Math.floor(t / 60_000) * 60_000)).toContain(minutes.at(-1));
    for (const minute of new Set(ended.map((s) => Math.floor(Date.parse(s.finishedAt) / 60_000) * 60_000))) {
      const { rows } = await pool.query(
        `SELECT count(*) FILTER (WHERE state = 'COMPLETED')::int AS completed, count(*) FILTER (WHERE state = 'FAILED')::int AS failed
           FROM sagas WHERE finished_at >= $1 AND finished_at < $1::timestamptz + interval '1 minute'`,
        [new Date(minute).toISOString()],
      );
      const reported = throughput.find((t) => Date.parse(t.minute) === minute);
      expect(reported).toEqual({ minute: new Date(minute).toISOString(), ...rows[0] });
      expect(reported!.completed).toBeGreaterThanOrEqual(ended.filter((s) => Math.floor(Date.parse(s.finishedAt) / 60_000) * 60_000 === minute).length);
    }
    expect(res.body.dependencies).toEqual([
      { name: 'postgres', status: 'up', since: '2026-11-29T09:00:00.000Z' },
      { name: 'kafka', status: 'down', since: '2026-11-29T09:59:00.000Z' },
    ]);
    expect(res.body).toMatchObject({
      sagasInFlight: expect.any(Number),
      deadLetters: { total: expect.any(Number) },
      outbox: { unpublished: expect.any(Number) },
    });
  });
});
