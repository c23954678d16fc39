// The admin API in-process for the admin-*.test.ts files: a real Postgres (a test database of the
// calling file's own) and a real Redis, with the real saga runner, saga operations, dead-letter
// repository, replay and audit log, and in-memory order and inventory services that can be made
// unreachable (a transient failure: the saga then waits) or refuse for good (the saga compensates and
// fails). Replay publishes to a recording Kafka producer and RabbitMQ publisher: the broker round trips
// of a replay are covered by the e2e suites (e2e/dead-letters-binary.test.ts, e2e/faults/dead-letters.test.ts).
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
import { notifyingOutboxWriter, type OutboxRecord, type RabbitPublisher } from '@orderflow/messaging';
import { createTestDatabase, testInfra, uniqueName, waitFor, type TestDatabase } from '@orderflow/testing';
import { createAuditLog } from '../audit/audit-log';
import { createApiKeyStore } from '../partners/api-keys';
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
import { createWebhookRepository } from '../webhooks/webhook-repository';
import { createHttpApp } from './app';

const SECRET = 'an-admin-component-test-secret-32ch!';
const logger = pino({ level: 'silent' });
const DESTINATIONS = { orderEventsTopic: 'order-events', source: '/test' };
const PRODUCTS: Product[] = [{ sku: 'BEANS-1', name: 'Beans', priceCents: 1_200, available: 1_000_000 }];
const DEPENDENCIES = [
  { name: 'postgres', ok: true, latencyMs: 1, checkedAt: '2026-11-29T10:00:00.000Z', since: '2026-11-29T09:00:00.000Z' },
  { name: 'kafka', ok: false, latencyMs: 0, checkedAt: '2026-11-29T10:00:00.000Z', since: '2026-11-29T09:59:00.000Z', error: 'refused' },
];

/** The operator the admin token of every request names, unless a test passes its own token. */
export const OPERATOR = 'ops-alice';
export const token = (sub: string, role: 'admin' | 'customer') => jwt.sign({ sub, role }, SECRET, { algorithm: 'HS256', expiresIn: '5m' });

export interface Answer {
  status: number;
  contentType: string | null;
  replayed: string | null;
  text: string;
  // Tests read arbitrary JSON bodies; typing each response shape would add noise, not safety.
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  body: any;
}

type NewDeadLetter = Omit<DeadLetter, 'replayedAt' | 'createdAt'>;

/** A dead letter as a collector records it. */
export function letter(overrides: Partial<NewDeadLetter> = {}): NewDeadLetter {
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

// The downstream services, in memory. Customers in `unreachable` find the inventory service down (a
// retryable UNAVAILABLE: the saga waits); those in `refused` find it refusing for good (it compensates).
function inMemoryDownstream() {
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
  return { orderPort, inventoryPort, unreachable, refused, calls };
}

// What a replay hands to the brokers.
function recordingBrokers() {
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
  return { producer, rabbit, kafkaSent, rabbitSent };
}

export type AdminApp = Awaited<ReturnType<typeof startAdminApp>>;

/**
 * The orchestrator's HTTP app on port 0 over a fresh test database named after `label`; `stop()` undoes it.
 * `bulkReplayLimit` caps a bulk replay (MAX_BULK_REPLAY unless given), so a test can reach the cap with a few letters.
 */
export async function startAdminApp(label: string, options: { bulkReplayLimit?: number } = {}) {
  const downstream = inMemoryDownstream();
  const brokers = recordingBrokers();
  const started: { db?: TestDatabase; pool?: pg.Pool; redis?: Redis; server?: Server; stopRunner?: () => Promise<void> } = {};
  // Undoes whatever was started, newest first, also when starting failed half way.
  async function stop(): Promise<void> {
    const { db, pool, redis, server, stopRunner } = started;
    await new Promise((resolve) => (server ? server.close(resolve) : resolve(undefined)));
    await stopRunner?.();
    redis?.disconnect();
    await pool?.end();
    await db?.drop();
  }

  try {
    const db = (started.db = await createTestDatabase('orchestrator', label));
    const pool = (started.pool = createPool(db.url, 8));
    const redis = (started.redis = new Redis(testInfra().redisUrl, { lazyConnect: true }));
    await redis.connect();
    const sagas = createSagaRepository(pool);
    const deadLetters = createDeadLetterRepository(pool);
    const ports = { orders: downstream.orderPort, inventory: downstream.inventoryPort };
    // Never started: no poller comes back for a waiting saga; only an operator's retry (or a cancel) runs it.
    const runner = createSagaRunner({
      repo: sagas,
      ports,
      destinations: DESTINATIONS,
      retry: { maxAttempts: 5, baseDelayMs: 60_000, maxDelayMs: 60_000 },
      watchdogMs: 60_000,
      pollIntervalMs: 60_000,
      logger,
    });
    started.stopRunner = () => runner.stop();
    const catalog = createCatalog(ports.inventory, redis, { keyPrefix: `${uniqueName('admin')}:`, ttlSeconds: 60, logger });
    const app = createHttpApp({
      auth: { JWT_SECRET: SECRET },
      orders: createOrderUseCases({ catalog, orders: ports.orders, sagas, runner, destinations: DESTINATIONS, watchdogMs: 60_000 }),
      catalog,
      inventory: ports.inventory,
      sagas,
      idempotency: createIdempotencyStore(pool, { ttlHours: 24, lockSeconds: 10 }),
      admin: {
        sagaOperations: createSagaOperations(pool),
        resume: runner.resume,
        deadLetters,
        replay: createReplay({
          repo: deadLetters,
          producer: brokers.producer,
          rabbit: brokers.rabbit,
          ...(options.bulkReplayLimit ? { bulkLimit: options.bulkReplayLimit } : {}),
        }),
        audit: createAuditLog(pool),
        apiKeys: createApiKeyStore(pool),
        webhooks: createWebhookRepository(pool, notifyingOutboxWriter),
        webhooksAllowPrivate: false,
        transaction: (work) => inTransaction(pool, work),
        stats: () => collectStats(pool, () => DEPENDENCIES),
      },
      requestLog: (_req, _res, next) => next(),
      logger,
    });
    const server = (started.server = app.listen(0, '127.0.0.1'));
    await new Promise((resolve) => server.once('listening', resolve));
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const { unreachable, refused, calls } = downstream;
    const { kafkaSent, rabbitSent } = brokers;
    return { ...drive(base, pool, sagas, deadLetters), unreachable, refused, calls, kafkaSent, rabbitSent, pool, deadLetters, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

/** What the tests do to the running app and how they look into its database. */
function drive(base: string, pool: pg.Pool, sagas: SagaRepository, deadLetters: DeadLetterRepository) {
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

  async function record(...letters: NewDeadLetter[]): Promise<string[]> {
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

  return { call, get, write, place, sagaWhen, createSagas, allPages, search, record, letterIds, auditOf };
}
