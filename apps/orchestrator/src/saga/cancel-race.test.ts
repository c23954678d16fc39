// A customer's cancel racing the saga's own decision to reject, on the real saga repository (Postgres):
// the cancel arrives through "another replica" while this runner is between steps. Whatever wins, the
// saga's outcome, its fact and its e-mail must agree with the order's real status.
import pino from 'pino';
import { AppError, type Order } from '@orderflow/domain';
import { createPool } from '@orderflow/db';
import { createTestDatabase, type TestDatabase } from '@orderflow/testing';
import type pg from 'pg';
import type { InventoryPort, OrderPort } from '../clients/downstream';
import { FIRST_STEP, INITIAL_COMPENSATIONS, type SagaData } from './order-saga';
import { createSagaRepository, type SagaRepository } from './saga-repository';
import { createSagaRunner } from './saga-runner';

let db: TestDatabase;
let pool: pg.Pool;
let repo: SagaRepository;

beforeAll(async () => {
  db = await createTestDatabase('orchestrator', 'cancel_race');
  pool = createPool(db.url, 4);
  repo = createSagaRepository(pool);
});

afterAll(async () => {
  await pool.end();
  await db.drop();
});

const data: SagaData = { items: [{ sku: 'BEANS', quantity: 1, unitPriceCents: 900 }], totalCents: 900, email: 'a@example.com' };

/** The order service as it behaves: a status machine that refuses to cancel a rejected order. */
function orderService(orderId: string) {
  let status: Order['status'] = 'PENDING';
  const move = (to: Order['status'], allowedFrom: Order['status'][]) => {
    if (status === to) return {} as Order;
    if (!allowedFrom.includes(status)) throw new AppError('INVALID_TRANSITION', `order ${orderId} is ${status}`);
    status = to;
    return {} as Order;
  };
  const port = {
    confirmOrder: async () => move('CONFIRMED', ['PENDING']),
    rejectOrder: async () => move('REJECTED', ['PENDING']),
    cancelOrder: async () => move('CANCELLED', ['PENDING', 'CONFIRMED']),
  } as unknown as OrderPort;
  return { port, status: () => status };
}

async function placedSaga(): Promise<string> {
  const orderId = globalThis.crypto.randomUUID();
  await repo.create({ orderId, customerId: 'alice', step: FIRST_STEP, compensations: INITIAL_COMPENSATIONS, data, watchdogMs: 30_000 }, []);
  return orderId;
}

function runnerWith(ports: { orders: OrderPort; inventory: InventoryPort }) {
  return createSagaRunner({
    repo,
    ports,
    destinations: { orderEventsTopic: 'order-events', source: '/test' },
    retry: { maxAttempts: 3, baseDelayMs: 10, maxDelayMs: 50 },
    watchdogMs: 30_000,
    pollIntervalMs: 60_000,
    logger: pino({ level: 'silent' }),
  });
}

/** The outcome fact types the saga committed to its outbox for this order. */
async function outcomeFacts(orderId: string): Promise<string[]> {
  const { rows } = await pool.query(`SELECT payload->>'type' AS type FROM outbox WHERE message_key = $1 AND destination = 'kafka' ORDER BY id`, [orderId]);
  return rows.map((r) => r.type);
}

describe('a cancel racing an out-of-stock rejection', () => {
  it('that wins while stock is being reserved ends the order, the saga and its fact CANCELLED', async () => {
    const orderId = await placedSaga();
    const orders = orderService(orderId);
    let cancelAccepted: boolean | undefined;
    const inventory = {
      // The cancel lands (through another replica) while this runner waits for ReserveStock.
      reserveStock: async () => ((cancelAccepted = await repo.requestCancel(orderId)), { reserved: false, shortages: [] }),
      releaseStock: async () => ({ released: false }),
    } as unknown as InventoryPort;

    await runnerWith({ orders: orders.port, inventory }).resume(orderId);

    expect(cancelAccepted).toBe(true);
    const saga = await repo.load(orderId);
    expect({ order: orders.status(), saga: saga?.outcome, state: saga?.state }).toEqual({ order: 'CANCELLED', saga: 'CANCELLED', state: 'COMPLETED' });
    expect(await outcomeFacts(orderId)).toEqual(['order.cancelled']);
  });

  it('that arrives while the order is being rejected is refused, and the order, the saga and its fact end REJECTED', async () => {
    const orderId = await placedSaga();
    const orders = orderService(orderId);
    let cancelAccepted: boolean | undefined;
    const rejectOrder = orders.port.rejectOrder;
    orders.port.rejectOrder = async (...args) => ((cancelAccepted = await repo.requestCancel(orderId)), rejectOrder(...args));
    const inventory = {
      reserveStock: async () => ({ reserved: false, shortages: [] }),
      releaseStock: async () => ({ released: false }),
    } as unknown as InventoryPort;

    await runnerWith({ orders: orders.port, inventory }).resume(orderId);

    expect(cancelAccepted).toBe(false);
    const saga = await repo.load(orderId);
    expect({ order: orders.status(), saga: saga?.outcome, state: saga?.state }).toEqual({ order: 'REJECTED', saga: 'REJECTED', state: 'COMPLETED' });
    expect(await outcomeFacts(orderId)).toEqual(['order.rejected']);
  });
});
