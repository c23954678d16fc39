// The runner against an in-memory saga store (the repository port) and fake downstream ports: when it
// commits and what a commit carries. The Postgres repository itself is exercised by the e2e and fault suites.
import pino from 'pino';
import { AppError } from '@orderflow/domain';
import type { InventoryPort, OrderPort } from '../clients/downstream';
import { INITIAL_COMPENSATIONS, type Saga } from './order-saga';
import { applyChange, type SagaChange, type SagaRepository } from './saga-repository';
import { createSagaRunner } from './saga-runner';

const ORDER_ID = '6f1c1f0e-7a4b-4d2e-9a51-0c8f7e1e2a3b';

function newSaga(): Saga {
  const now = new Date().toISOString();
  return {
    orderId: ORDER_ID,
    customerId: 'alice',
    state: 'RUNNING',
    step: 'RESERVE_STOCK',
    attempts: 0,
    compensations: [...INITIAL_COMPENSATIONS],
    cancelRequested: false,
    data: { items: [{ sku: 'COFFEE-1', quantity: 2, unitPriceCents: 500 }], totalCents: 1_000, email: 'alice@example.com' },
    version: 0,
    createdAt: now,
    updatedAt: now,
  };
}

/** The version-guarded store the runner sees, recording every commit. */
function memoryStore(initial: Saga, options: { crashOnCommit?: number } = {}) {
  let saga = initial;
  const commits: SagaChange[] = [];
  let attempts = 0;
  let loads = 0;
  const repo: Pick<SagaRepository, 'load' | 'apply' | 'claimDue' | 'makeDueNow'> = {
    load: async () => (loads++, saga),
    async apply(expected, change) {
      attempts++;
      if (attempts === options.crashOnCommit) throw new Error('connection terminated'); // the runner dies before its commit lands
      if (expected.version !== saga.version) return false;
      commits.push(change);
      saga = { ...applyChange(saga, change), version: saga.version + 1 };
      return true;
    },
    claimDue: async () => [],
    makeDueNow: async () => undefined,
  };
  return { repo: repo as SagaRepository, commits, current: () => saga, loads: () => loads };
}

function fakePorts(behaviour: { reserved?: boolean; confirmFailures?: number; releaseFailures?: number } = {}) {
  const calls: string[] = [];
  let confirmFailures = behaviour.confirmFailures ?? 0;
  let releaseFailures = behaviour.releaseFailures ?? 0;
  const inventory = {
    reserveStock: async () => (calls.push('reserve'), { reserved: behaviour.reserved ?? true, shortages: [] }),
    releaseStock: async () => {
      calls.push('release');
      if (releaseFailures-- > 0) throw new AppError('UNAVAILABLE', 'inventory service unavailable');
      return { released: true };
    },
  } as unknown as InventoryPort;
  const orders = {
    confirmOrder: async () => {
      calls.push('confirm');
      if (confirmFailures-- > 0) throw new AppError('UNAVAILABLE', 'order service unavailable');
      return {};
    },
    rejectOrder: async () => (calls.push('reject'), {}),
    cancelOrder: async () => (calls.push('cancel'), {}),
  } as unknown as OrderPort;
  return { ports: { inventory, orders }, calls };
}

function runner(repo: SagaRepository, ports: ReturnType<typeof fakePorts>['ports'], overrides: Partial<Parameters<typeof createSagaRunner>[0]> = {}) {
  return createSagaRunner({
    repo,
    ports,
    destinations: { orderEventsTopic: 'order-events', source: '/test' },
    retry: { maxAttempts: 5, baseDelayMs: 200, maxDelayMs: 10_000 },
    watchdogMs: 30_000,
    pollIntervalMs: 60_000,
    logger: pino({ level: 'silent' }),
    ...overrides,
  });
}

describe('saga runner commits', () => {
  it('confirms an order in one commit that logs both steps and carries the fact and the e-mail task', async () => {
    const store = memoryStore(newSaga());
    const { ports, calls } = fakePorts();

    await runner(store.repo, ports).resume(ORDER_ID);

    expect(calls).toEqual(['reserve', 'confirm']);
    expect(store.commits).toHaveLength(1);
    const [commit] = store.commits;
    expect(commit).toMatchObject({ state: 'COMPLETED', outcome: 'CONFIRMED', step: 'CONFIRM_ORDER', nextAttemptInMs: null });
    expect(commit!.lines?.map((l) => `${l.step} ${l.outcome} ${l.attempt}`)).toEqual(['RESERVE_STOCK DONE 1', 'CONFIRM_ORDER CONFIRMED 1']);
    expect(commit!.messages?.map((m) => `${m.destination} ${m.topic}`)).toEqual(['kafka order-events', 'rabbitmq notification.send']);
  });

  it('rejects an order that is out of stock, committing the move to REJECT_ORDER (which a cancel may not overtake) before rejecting it', async () => {
    const store = memoryStore(newSaga());
    const { ports, calls } = fakePorts({ reserved: false });

    await runner(store.repo, ports).resume(ORDER_ID);

    expect(calls).toEqual(['reserve', 'reject']);
    expect(store.commits.map((c) => `${c.step ?? '-'} ${c.state ?? '-'}`)).toEqual(['REJECT_ORDER -', '- COMPLETED']);
    expect(store.commits[0]).toMatchObject({ data: { reason: 'OUT_OF_STOCK' }, log: { step: 'RESERVE_STOCK', outcome: 'DONE' } });
    expect(store.current()).toMatchObject({ state: 'COMPLETED', outcome: 'REJECTED', data: { reason: 'OUT_OF_STOCK' } });
  });

  it('commits a retry of a failing step together with the steps that succeeded before it', async () => {
    const store = memoryStore(newSaga());
    const { ports } = fakePorts({ confirmFailures: 1 });
    jest.spyOn(Math, 'random').mockReturnValue(0.5);

    await runner(store.repo, ports).resume(ORDER_ID);
    jest.restoreAllMocks();

    expect(store.commits).toHaveLength(1);
    const [retry] = store.commits;
    expect(retry).toMatchObject({ step: 'CONFIRM_ORDER', attempts: 1, log: { step: 'CONFIRM_ORDER', outcome: 'RETRY' } });
    expect(retry!.lines?.map((l) => `${l.step} ${l.outcome} ${l.attempt}`)).toEqual(['RESERVE_STOCK DONE 1', 'CONFIRM_ORDER RETRY 1']);
    // Full jitter under the first rung: random × baseDelayMs (0.5 × 200 ms).
    expect(retry!.nextAttemptInMs).toBe(100);
    expect(store.current()).toMatchObject({ state: 'RUNNING', step: 'CONFIRM_ORDER', attempts: 1 });
  });

  describe('spaces retries by full-jitter exponential backoff, capped (base 200 ms, cap 10 s)', () => {
    afterEach(() => jest.restoreAllMocks());

    it.each([
      [0, 1, 0, 'the floor'],
      [0.9999, 1, 199, 'just under base × 2⁰'],
      [0.9999, 3, 799, 'just under base × 2²'],
      [0.9999, 4, 1_599, 'just under base × 2³'],
    ])('random() = %p on attempt %p waits %p ms (%s)', async (random, attempt, delayMs) => {
      jest.spyOn(Math, 'random').mockReturnValue(random);
      const store = memoryStore({ ...newSaga(), step: 'CONFIRM_ORDER', attempts: attempt - 1 });
      await runner(store.repo, fakePorts({ confirmFailures: 1 }).ports).resume(ORDER_ID);
      expect(store.commits[0]).toMatchObject({ attempts: attempt, log: { outcome: 'RETRY' }, nextAttemptInMs: delayMs });
    });

    it('keeps a compensation that never gives up at the cap, however many attempts it took', async () => {
      jest.spyOn(Math, 'random').mockReturnValue(0.9999);
      const store = memoryStore({ ...newSaga(), state: 'COMPENSATING', cancelRequested: true, attempts: 40 });
      await runner(store.repo, fakePorts({ releaseFailures: 1 }).ports).resume(ORDER_ID);
      expect(store.commits[0]).toMatchObject({ attempts: 41, log: { step: 'RELEASE_STOCK', outcome: 'RETRY' }, nextAttemptInMs: 9_999 });
    });
  });

  it('leaves the saga at its last commit when the runner dies before committing, and the next run repeats the steps to the same end', async () => {
    const store = memoryStore(newSaga(), { crashOnCommit: 1 });
    const { ports, calls } = fakePorts();

    await runner(store.repo, ports).resume(ORDER_ID); // logs the failure; the poller would resume it
    expect(store.current()).toMatchObject({ state: 'RUNNING', step: 'RESERVE_STOCK', version: 0 });

    await runner(store.repo, ports).resume(ORDER_ID);

    expect(calls).toEqual(['reserve', 'confirm', 'reserve', 'confirm']); // idempotent calls, repeated
    expect(store.commits).toHaveLength(1);
    expect(store.current()).toMatchObject({ state: 'COMPLETED', outcome: 'CONFIRMED', version: 1 });
  });

  it('compensates a saga stored at a step this runner does not know, with a dead letter, instead of failing every run', async () => {
    const store = memoryStore({ ...newSaga(), step: 'SHIP_TO_MOON' });
    const { ports, calls } = fakePorts();

    await runner(store.repo, ports).resume(ORDER_ID);

    expect(store.commits[0]).toMatchObject({ state: 'COMPENSATING', log: { step: 'SHIP_TO_MOON', outcome: 'FAILED', detail: 'unknown step SHIP_TO_MOON' } });
    expect(store.commits[0]!.deadLetter?.error).toMatch(/^step SHIP_TO_MOON failed/);
    expect(calls).toEqual(['release', 'reject']); // then unwound: nothing reserved stays, the order closes
    expect(store.current()).toMatchObject({ state: 'FAILED', outcome: 'REJECTED' });
  });

  it('unwinds a cancelled saga newest compensation first: stock released, then the order cancelled', async () => {
    const store = memoryStore({ ...newSaga(), state: 'COMPENSATING', cancelRequested: true });
    const { ports, calls } = fakePorts();

    await runner(store.repo, ports).resume(ORDER_ID);

    expect(calls).toEqual(['release', 'cancel']);
    expect(store.current()).toMatchObject({ state: 'COMPLETED', outcome: 'CANCELLED', compensations: [] });
  });

  it('loads a saga once for a run that ends it, and not at all when its order.placed fact arrives after that', async () => {
    const store = memoryStore(newSaga());
    const { ports, calls } = fakePorts();
    const sagaRunner = runner(store.repo, ports);

    await sagaRunner.resume(ORDER_ID); // started in-process at placement
    expect(store.loads()).toBe(1);
    await sagaRunner.resumeInBackground(ORDER_ID); // the fact, consumed later
    await sagaRunner.stop();

    expect(store.loads()).toBe(1);
    expect(calls).toEqual(['reserve', 'confirm']);
    expect(store.commits).toHaveLength(1);
  });

  it('counts a saga dead letter when a step gives up, and none for a saga closed without one (an orphan)', async () => {
    const deadLetters: string[] = [];
    const counting = (repo: SagaRepository, ports: ReturnType<typeof fakePorts>['ports']) =>
      runner(repo, ports, { retry: { maxAttempts: 1, baseDelayMs: 1, maxDelayMs: 1 }, metrics: { onDeadLetter: () => deadLetters.push('saga') } });

    const giving = memoryStore(newSaga());
    await counting(giving.repo, fakePorts({ confirmFailures: 1 }).ports).resume(ORDER_ID);
    expect(giving.current()).toMatchObject({ state: 'FAILED', outcome: 'REJECTED' });
    expect(deadLetters).toEqual(['saga']);

    const orphan = memoryStore({ ...newSaga(), state: 'COMPENSATING', step: 'ABANDONED' });
    await counting(orphan.repo, fakePorts().ports).resume(ORDER_ID);
    expect(orphan.current()).toMatchObject({ state: 'FAILED', outcome: 'REJECTED' });
    expect(deadLetters).toEqual(['saga']);
  });
});
