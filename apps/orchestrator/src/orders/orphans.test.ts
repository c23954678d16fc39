// The orphan sweeper on the real orchestrator database: which placements it takes for abandoned, and
// that it ends one the way every saga ends (order rejected, its fact and e-mail in the outbox).
import { randomUUID } from 'node:crypto';
import pino from 'pino';
import type pg from 'pg';
import { AppError, type Order } from '@orderflow/domain';
import { createPool } from '@orderflow/db';
import { createTestDatabase, type TestDatabase } from '@orderflow/testing';
import type { InventoryPort, OrderPort } from '../clients/downstream';
import { INITIAL_COMPENSATIONS, type SagaData } from '../saga/order-saga';
import { createSagaRepository, type SagaRepository } from '../saga/saga-repository';
import { createSagaRunner } from '../saga/saga-runner';
import { createOrphanSweeper } from './orphans';

let db: TestDatabase;
let pool: pg.Pool;
let sagas: SagaRepository;

beforeAll(async () => {
  db = await createTestDatabase('orchestrator', 'orphans');
  pool = createPool(db.url, 4);
  sagas = createSagaRepository(pool);
});

afterAll(async () => {
  await pool.end();
  await db.drop();
});

beforeEach(() => pool.query('TRUNCATE idempotency_keys, sagas, saga_steps, outbox'));

/** The order service as far as the sweeper and the saga use it, over a map of orders. */
function orderService(orders: Map<string, Order>) {
  const calls: string[] = [];
  const port = {
    async getOrder(id: string) {
      const order = orders.get(id);
      if (!order) throw new AppError('NOT_FOUND', `no order ${id}`);
      return order;
    },
    async rejectOrder(id: string, reason: string) {
      calls.push(`reject ${id} ${reason}`);
      orders.set(id, { ...orders.get(id)!, status: 'REJECTED', reason });
      return orders.get(id)!;
    },
  } as unknown as OrderPort;
  return { port, calls };
}

const order = (id: string, status: Order['status'] = 'PENDING'): Order => ({
  id,
  customerId: 'carol',
  status,
  items: [{ sku: 'BEANS', quantity: 2, unitPriceCents: 900 }],
  totalCents: 1_800,
  createdAt: new Date().toISOString(),
  updatedAt: new Date().toISOString(),
});

/** A placement's key as its request left it: IN_FLIGHT, its lock lapsed `lapsedSeconds` ago (negative: still live). */
async function abandonedKey(orderId: string, lapsedSeconds: number): Promise<void> {
  await pool.query(
    `INSERT INTO idempotency_keys (caller, key, fingerprint, state, resource_id, locked_until, expires_at)
     VALUES ('carol', $1, 'fp', 'IN_FLIGHT', $2, now() - $3 * interval '1 second', now() + interval '1 day')`,
    [randomUUID(), orderId, lapsedSeconds],
  );
}

function sweeper(orders: OrderPort) {
  const inventory = { releaseStock: async () => ({ released: false }) } as unknown as InventoryPort;
  const logger = pino({ level: 'silent' });
  const runner = createSagaRunner({
    repo: sagas,
    ports: { orders, inventory },
    destinations: { orderEventsTopic: 'order-events', source: '/test' },
    retry: { maxAttempts: 3, baseDelayMs: 10, maxDelayMs: 50 },
    watchdogMs: 30_000,
    pollIntervalMs: 60_000,
    logger,
  });
  return createOrphanSweeper({ pool, orders, sagas, runner, orphanAfterSeconds: 300, watchdogMs: 30_000, logger });
}

describe('the orphan sweeper', () => {
  it('closes an order whose placement died before its saga: rejected PROCESSING_FAILED, with the order.rejected fact and the e-mail task', async () => {
    const orderId = randomUUID();
    const orders = new Map([[orderId, order(orderId)]]);
    const service = orderService(orders);
    await abandonedKey(orderId, 301);

    expect(await sweeper(service.port).sweep()).toEqual([orderId]);

    expect(service.calls).toEqual([`reject ${orderId} PROCESSING_FAILED`]);
    expect(await sagas.load(orderId)).toMatchObject({ state: 'FAILED', outcome: 'REJECTED', data: { reason: 'PROCESSING_FAILED', totalCents: 1_800 } });
    const { rows } = await pool.query(
      `SELECT destination, payload->>'type' AS type, payload->>'template' AS template FROM outbox WHERE message_key = $1 ORDER BY id`,
      [orderId],
    );
    expect(rows).toEqual([
      { destination: 'kafka', type: 'order.rejected', template: null },
      { destination: 'rabbitmq', type: null, template: 'order-rejected' },
    ]);
    expect(await sweeper(service.port).sweep()).toEqual([]); // it has a saga now
  });

  it('leaves alone a placement still within its grace, one still running, one with a saga, one that never created its order, and a closed order', async () => {
    const [recent, live, withSaga, neverCreated, closed] = Array.from({ length: 5 }, () => randomUUID());
    const orders = new Map([recent, live, withSaga].map((id) => [id!, order(id!)]));
    orders.set(closed!, order(closed!, 'CANCELLED'));
    const service = orderService(orders);
    await abandonedKey(recent!, 299);
    await abandonedKey(live!, -5);
    await abandonedKey(withSaga!, 3_600);
    await abandonedKey(neverCreated!, 3_600);
    await abandonedKey(closed!, 3_600);
    const data: SagaData = { items: [], totalCents: 0, email: 'c@example.com' };
    await sagas.create({ orderId: withSaga!, customerId: 'carol', step: 'RESERVE_STOCK', compensations: INITIAL_COMPENSATIONS, data, watchdogMs: 30_000 }, []);

    expect(await sweeper(service.port).sweep()).toEqual([]);
    expect(service.calls).toEqual([]);
  });

  it('reaches an orphan behind more non-orphans than one sweep looks at, by going on where the last sweep stopped', async () => {
    // Placements that died before creating their order stay candidates until their key expires.
    const neverCreated = Array.from({ length: 5 }, () => randomUUID()).sort();
    const orphan = 'ffffffff-ffff-4fff-bfff-ffffffffffff'; // after all of them in the sweep's order
    const service = orderService(new Map([[orphan, order(orphan)]]));
    for (const id of [...neverCreated, orphan]) await abandonedKey(id, 3_600);
    const sweep = sweeper(service.port).sweep;

    expect(await sweep(5)).toEqual([]); // the five that never created their order
    expect(await sweep(5)).toEqual([orphan]);
    expect(service.calls).toEqual([`reject ${orphan} PROCESSING_FAILED`]);
  });
});
