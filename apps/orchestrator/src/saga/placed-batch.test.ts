// Fresh sagas run in batches (saga-runner startPlacedInBatches) on the real saga repository (Postgres),
// with fake downstream ports that count calls: the common path costs one call per service and one
// commit for the whole batch, and everything off it ends exactly as the one-by-one path would.
import pino from 'pino';
import { AppError, type Order } from '@orderflow/domain';
import { createPool } from '@orderflow/db';
import { createTestDatabase, waitFor, type TestDatabase } from '@orderflow/testing';
import type pg from 'pg';
import type { BatchOutcome, InventoryPort, OrderPort, ReservationRequest } from '../clients/downstream';
import { FIRST_STEP, INITIAL_COMPENSATIONS, type Saga, type SagaData } from './order-saga';
import { createSagaRepository, type SagaRepository } from './saga-repository';
import { createSagaRunner } from './saga-runner';

let db: TestDatabase;
let pool: pg.Pool;
let repo: SagaRepository;

beforeAll(async () => {
  db = await createTestDatabase('orchestrator', 'placed_batch');
  pool = createPool(db.url, 4);
  repo = createSagaRepository(pool);
});

afterAll(async () => {
  await pool.end();
  await db.drop();
});

const data: SagaData = { items: [{ sku: 'BEANS', quantity: 1, unitPriceCents: 900 }], totalCents: 900, email: 'a@example.com' };

/** `n` sagas created as placement creates them, and as it hands them to the runner (in hand, version 0). */
async function placed(n: number): Promise<Saga[]> {
  const sagas = Array.from({ length: n }, () => ({ orderId: globalThis.crypto.randomUUID(), customerId: 'alice', data }));
  const created = await repo.createMany(
    sagas.map((s) => ({ saga: { ...s, step: FIRST_STEP, compensations: INITIAL_COMPENSATIONS, watchdogMs: 30_000 }, messages: [] })),
  );
  // As stored: what a load would give.
  expect(created).toEqual(await Promise.all(sagas.map((s) => repo.load(s.orderId))));
  return created.map((saga) => saga!);
}

/** Downstream services that remember every call: batched ones by size, single ones by name. */
function services(behaviour: { refuse?: Set<string>; reserveBatchFails?: boolean; confirmRefused?: Set<string>; onReserveBatch?: () => Promise<void> } = {}) {
  const calls: string[] = [];
  const status = new Map<string, Order['status']>();
  const decide = (orderId: string) => !behaviour.refuse?.has(orderId);
  const inventory = {
    async reserveStockBatch(reservations: ReservationRequest[]) {
      calls.push(`reserveBatch ${reservations.length}`);
      await behaviour.onReserveBatch?.();
      if (behaviour.reserveBatchFails) throw new AppError('UNAVAILABLE', 'inventory service unavailable', { retryable: true });
      return reservations.map((r) => ({ orderId: r.orderId, reserved: decide(r.orderId), shortages: [] }));
    },
    reserveStock: async (orderId: string) => (calls.push('reserve'), { reserved: decide(orderId), shortages: [] }),
    releaseStock: async () => (calls.push('release'), { released: true }),
  } as unknown as InventoryPort;
  const move = (orderId: string, to: Order['status']) => {
    const now = status.get(orderId) ?? 'PENDING';
    if (now !== to && now !== 'PENDING' && !(to === 'CANCELLED' && now === 'CONFIRMED')) throw new AppError('INVALID_TRANSITION', `order ${orderId} is ${now}`);
    status.set(orderId, to);
    return { id: orderId } as Order;
  };
  const orders = {
    async confirmOrders(confirmations: { orderId: string }[]): Promise<BatchOutcome<Order>[]> {
      calls.push(`confirmBatch ${confirmations.length}`);
      return confirmations.map(({ orderId }) =>
        behaviour.confirmRefused?.has(orderId)
          ? { orderId, ok: false, error: new AppError('INVALID_TRANSITION', 'no') }
          : { orderId, ok: true, value: move(orderId, 'CONFIRMED') },
      );
    },
    confirmOrder: async (orderId: string) => (calls.push('confirm'), move(orderId, 'CONFIRMED')),
    rejectOrder: async (orderId: string) => (calls.push('reject'), move(orderId, 'REJECTED')),
    cancelOrder: async (orderId: string) => (calls.push('cancel'), move(orderId, 'CANCELLED')),
  } as unknown as OrderPort;
  return { ports: { inventory, orders }, calls, status };
}

function runnerOptions(ports: { orders: OrderPort; inventory: InventoryPort }) {
  return {
    repo,
    ports,
    destinations: { orderEventsTopic: 'order-events', source: '/test' },
    retry: { maxAttempts: 2, baseDelayMs: 10, maxDelayMs: 20 },
    watchdogMs: 30_000,
    pollIntervalMs: 60_000,
    logger: pino({ level: 'silent' }),
  };
}
const runnerWith = (ports: { orders: OrderPort; inventory: InventoryPort }) => createSagaRunner(runnerOptions(ports));

const ended = async (orderIds: string[]) =>
  (await pool.query(`SELECT order_id, state, outcome FROM sagas WHERE order_id = ANY($1::uuid[]) AND finished_at IS NOT NULL`, [orderIds])).rows;
const facts = async (orderIds: string[]) =>
  (await pool.query(`SELECT message_key, destination, payload->>'type' AS type FROM outbox WHERE message_key = ANY($1::text[]) ORDER BY id`, [orderIds])).rows;

/** Starts the sagas in batches and, once every one has ended (through the batch or one by one), stops the runner. */
async function runUntilAllEnded(runner: ReturnType<typeof createSagaRunner>, sagas: Saga[]): Promise<void> {
  runner.startPlacedInBatches(sagas);
  await waitFor(async () => (await ended(sagas.map((s) => s.orderId))).length === sagas.length, { timeoutMs: 10_000 });
  await runner.stop();
}

describe('fresh sagas run in batches', () => {
  it('confirm many orders with one reservation call, one confirmation call and one commit, each with its fact and e-mail task', async () => {
    const sagas = await placed(5);
    const ids = sagas.map((s) => s.orderId);
    const { ports, calls } = services();
    const runner = runnerWith(ports);
    runner.startPlacedInBatches(sagas);
    await runner.stop(); // waits for the batch
    expect(calls).toEqual(['reserveBatch 5', 'confirmBatch 5']);
    expect(await ended(ids)).toHaveLength(5);
    expect((await ended(ids)).every((r) => r.state === 'COMPLETED' && r.outcome === 'CONFIRMED')).toBe(true);
    const rows = await facts(ids);
    expect(rows).toHaveLength(10);
    for (const id of ids) expect(rows.filter((r) => r.message_key === id).map((r) => r.type ?? r.destination)).toEqual(['order.confirmed', 'rabbitmq']);
    const steps = await repo.steps(ids[0]!);
    expect(steps.map((s) => `${s.step} ${s.outcome}`)).toEqual(['PLACED STARTED', 'RESERVE_STOCK DONE', 'CONFIRM_ORDER CONFIRMED']);
  });

  it('commit the whole batch in one statement', async () => {
    const sagas = await placed(8);
    const { ports } = services();
    let statements = 0;
    const counting = { query: (...args: Parameters<pg.Pool['query']>) => (statements++, pool.query(...args)) } as unknown as pg.Pool;
    const runner = createSagaRunner({ ...runnerOptions(ports), repo: createSagaRepository(counting) });
    runner.startPlacedInBatches(sagas);
    await runner.stop();
    expect(statements).toBe(1);
    expect(await ended(sagas.map((s) => s.orderId))).toHaveLength(8);
  });

  it('reject an order refused stock within its batch, without reserving again, logged as the one-by-one path logs it', async () => {
    const sagas = await placed(3);
    const refused = sagas[1]!.orderId;
    let statements = 0;
    const counting = { query: (...args: Parameters<pg.Pool['query']>) => (statements++, pool.query(...args)) } as unknown as pg.Pool;
    const { ports, calls, status } = services({ refuse: new Set([refused]) });
    const runner = createSagaRunner({ ...runnerOptions(ports), repo: createSagaRepository(counting) });
    runner.startPlacedInBatches(sagas);
    await runner.stop(); // waits for the batch
    expect(await ended([refused])).toEqual([{ order_id: refused, state: 'COMPLETED', outcome: 'REJECTED' }]);
    expect(status.get(refused)).toBe('REJECTED');
    expect([...calls].sort()).toEqual(['confirmBatch 2', 'reject', 'reserveBatch 3']);
    expect(statements).toBe(2); // the move to REJECT_ORDER, then every end of the batch
    expect((await facts([refused])).map((r) => r.type ?? r.destination)).toEqual(['order.rejected', 'rabbitmq']);
    expect((await repo.steps(refused)).map((s) => `${s.step} ${s.outcome} ${s.detail ?? ''}`.trim())).toEqual([
      'PLACED STARTED',
      'RESERVE_STOCK DONE OUT_OF_STOCK',
      'REJECT_ORDER REJECTED',
    ]);
    expect(((await repo.load(refused))!.data as SagaData).reason).toBe('OUT_OF_STOCK');
  });

  it('let a cancel that lands before a refused order moves to its rejection win: the order ends CANCELLED, never rejected', async () => {
    const sagas = await placed(2);
    const refused = sagas[0]!.orderId;
    const { ports, status } = services({ refuse: new Set([refused]), onReserveBatch: async () => void (await repo.requestCancel(refused)) });
    const runner = runnerWith(ports);
    await runUntilAllEnded(runner, sagas);
    expect(await ended([refused])).toEqual([{ order_id: refused, state: 'COMPLETED', outcome: 'CANCELLED' }]);
    expect(status.get(refused)).toBe('CANCELLED');
    expect((await facts([refused])).map((r) => r.type ?? r.destination)).toEqual(['order.cancelled', 'rabbitmq']);
  });

  it('hand every saga of a batch whose call failed to the one-by-one path, which retries and ends them', async () => {
    const sagas = await placed(3);
    const ids = sagas.map((s) => s.orderId);
    const { ports, calls } = services({ reserveBatchFails: true });
    const runner = runnerWith(ports);
    await runUntilAllEnded(runner, sagas);
    expect(calls.filter((c) => c === 'reserve')).toHaveLength(3);
    expect(calls.filter((c) => c === 'confirm')).toHaveLength(3);
    expect((await ended(ids)).every((r) => r.outcome === 'CONFIRMED')).toBe(true);
  });

  it('start no second run of a saga in a batch when its order.placed fact comes back meanwhile', async () => {
    const sagas = await placed(2);
    const ids = sagas.map((s) => s.orderId);
    let statements = 0;
    const counting = { query: (...args: Parameters<pg.Pool['query']>) => (statements++, pool.query(...args)) } as unknown as pg.Pool;
    const late: { runner?: ReturnType<typeof createSagaRunner> } = {}; // the fact comes back to the runner under test
    const { ports, calls } = services({ onReserveBatch: async () => void (await Promise.all(ids.map((id) => late.runner!.resumeInBackground(id)))) });
    const runner = (late.runner = createSagaRunner({ ...runnerOptions(ports), repo: createSagaRepository(counting) }));
    await runUntilAllEnded(runner, sagas);
    expect(calls).toEqual(['reserveBatch 2', 'confirmBatch 2']);
    expect(statements).toBe(1); // the batch's commit: no load for a second run
  });

  it('let a cancel that lands while the batch is under way win: the order ends CANCELLED, with one outcome fact', async () => {
    const sagas = await placed(2);
    const cancelled = sagas[0]!.orderId;
    const { ports, status } = services({ onReserveBatch: async () => void (await repo.requestCancel(cancelled)) });
    const runner = runnerWith(ports);
    await runUntilAllEnded(runner, sagas);
    expect(await ended([cancelled])).toEqual([{ order_id: cancelled, state: 'COMPLETED', outcome: 'CANCELLED' }]);
    expect(status.get(cancelled)).toBe('CANCELLED');
    expect((await facts([cancelled])).map((r) => r.type ?? r.destination)).toEqual(['order.cancelled', 'rabbitmq']);
    expect((await facts([sagas[1]!.orderId])).map((r) => r.type ?? r.destination)).toEqual(['order.confirmed', 'rabbitmq']);
  });
});
