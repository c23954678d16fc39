import type { Logger } from 'pino';
import { isAppError } from '@orderflow/domain';
import { createGroupCommit, inStoredTrace } from '@orderflow/platform';
import {
  COMPENSATIONS,
  FIRST_STEP,
  FORWARD_STEPS,
  outcomeMessages,
  retryDelayMs,
  type Destinations,
  type ForwardStep,
  type RetryPolicy,
  type Saga,
  type SagaPorts,
  UNCANCELLABLE_STEPS,
} from './order-saga';
import { applyChange, type SagaChange, type SagaRepository, type StepLog } from './saga-repository';

export interface SagaRunnerOptions {
  repo: SagaRepository;
  ports: SagaPorts;
  destinations: Destinations;
  retry: RetryPolicy;
  /** How long a step may be under way before another runner assumes this one died and resumes it. */
  watchdogMs: number;
  pollIntervalMs: number;
  /** Sagas run at once by this process; `resumeInBackground` waits for a free slot beyond that (backpressure). */
  maxConcurrent?: number;
  /** Fresh sagas run together by one batch (startPlacedInBatches); default 64. */
  maxBatch?: number;
  logger: Logger;
  metrics?: { onFinished?(outcome: string, state: string, startedAt: string): void; onRetry?(step: string): void; onDeadLetter?(): void };
}

const describe = (error: unknown) => (error instanceof Error ? error.message : String(error));
/** Steps run before one commit at most, and commits of one run at most (a saga looping would stop here). */
const MAX_STEPS_PER_COMMIT = 20;
const MAX_COMMITS_PER_RUN = 20;

/**
 * What one step led to: the change to commit, and what the runner does after it: run the next step,
 * wait (a retry's backoff or an open circuit: the poller comes back for it), or stop (the saga ended).
 */
interface StepOutcome {
  change: SagaChange;
  then: 'next-step' | 'wait' | 'end';
}

/**
 * An outcome that only moves on to the next step, with nothing to publish, report or schedule, and
 * not into a step a cancel may no longer overtake (that move commits first: UNCANCELLABLE_STEPS).
 */
const leadsOn = ({ change: c, then }: StepOutcome) =>
  then === 'next-step' &&
  c.state === undefined &&
  c.nextAttemptInMs === 0 &&
  !c.messages &&
  !c.deadLetter &&
  !(c.step && UNCANCELLABLE_STEPS.includes(c.step as ForwardStep));

/** The fields by which `now` differs from `loaded`, as the base of the change that commits both. */
function pending(loaded: Saga, now: Saga): Omit<SagaChange, 'log' | 'nextAttemptInMs'> {
  return {
    ...(now.step !== loaded.step ? { step: now.step } : {}),
    ...(now.attempts !== loaded.attempts ? { attempts: now.attempts } : {}),
    ...(now.compensations !== loaded.compensations ? { compensations: now.compensations } : {}),
    ...(now.data !== loaded.data ? { data: now.data } : {}),
  };
}

/**
 * Executes order sagas durably. Three ways in, one per caller:
 * - `startPlacedInBatches(sagas)`: placement, with the sagas it just created (the batched path);
 * - `resumeInBackground(orderId)`: the order.placed consumer (the backstop) and a resumed placement,
 *   not awaiting the run, skipping sagas this process already ended or holds in a batch;
 * - `resume(orderId)`: a cancel, the orphan sweeper, the poller and the batched path's leftovers,
 *   awaiting the run.
 * A run loads the saga and commits (version-guarded) whenever it ends, waits for a retry or changes
 * state; the steps in between are idempotent, so any runner can crash anywhere and another resumes
 * from the last commit, repeating them harmlessly. A transient failure schedules a retry in Postgres;
 * the poller picks up due retries and sagas whose runner died (their watchdog expired).
 */
export function createSagaRunner(options: SagaRunnerOptions) {
  const { repo, ports, destinations, retry, watchdogMs, logger } = options;
  const running = new Map<string, Promise<void>>();
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;

  /** Turns a failed step into what comes next: retry later, start compensating, or skip. */
  function failure(saga: Saga, step: string, error: unknown): StepOutcome {
    const detail = describe(error);
    if (isAppError(error) && error.details?.circuitOpen) {
      // The call never left: an open circuit costs no attempt; wait about a second and look again.
      return {
        then: 'wait',
        change: { lastError: detail, nextAttemptInMs: Math.round(1_000 * (0.5 + Math.random())), waiting: true, log: { step, outcome: 'WAITING', detail } },
      };
    }
    const attempts = saga.attempts + 1;
    const transient = isAppError(error) ? error.retryable : true;
    if (transient && (attempts < retry.maxAttempts || saga.state === 'COMPENSATING')) {
      options.metrics?.onRetry?.(step);
      // Compensations never give up (they must happen); their backoff stays at the cap.
      return {
        then: 'wait',
        change: {
          attempts,
          lastError: detail,
          nextAttemptInMs: retryDelayMs(Math.min(attempts, 30), retry),
          waiting: true,
          log: { step, outcome: 'RETRY', detail },
        },
      };
    }
    if (saga.state === 'COMPENSATING') {
      // A compensation that can never succeed (e.g. the order is already closed): record and move on.
      return {
        then: 'next-step',
        change: {
          attempts: 0,
          compensations: saga.compensations.slice(0, -1),
          lastError: detail,
          nextAttemptInMs: 0,
          log: { step, outcome: 'SKIPPED', detail },
          deadLetter: { error: `compensation ${step} failed: ${detail}`, attempts },
        },
      };
    }
    return {
      then: 'next-step',
      change: {
        state: 'COMPENSATING',
        attempts: 0,
        lastError: detail,
        nextAttemptInMs: 0,
        log: { step, outcome: 'FAILED', detail },
        deadLetter: { error: `step ${step} failed after ${attempts} attempt(s): ${detail}`, attempts },
      },
    };
  }

  /** Runs the saga's current step and returns what it leads to. */
  async function runCurrentStep(saga: Saga): Promise<StepOutcome> {
    if (saga.state === 'RUNNING') {
      const stepName = saga.step as ForwardStep;
      const step = FORWARD_STEPS[stepName];
      if (!step) return failure({ ...saga, attempts: retry.maxAttempts }, saga.step, new Error(`unknown step ${saga.step}`));
      let result;
      try {
        result = await step.run(saga, ports);
      } catch (error) {
        return failure(saga, stepName, error);
      }
      if ('next' in result) {
        const data = result.reason ? { ...saga.data, reason: result.reason } : undefined;
        return {
          then: 'next-step',
          change: {
            step: result.next,
            attempts: 0,
            ...(data ? { data } : {}),
            nextAttemptInMs: 0,
            log: { step: stepName, outcome: 'DONE', detail: result.reason },
          },
        };
      }
      return {
        then: 'end',
        change: {
          state: 'COMPLETED',
          outcome: result.done,
          nextAttemptInMs: null,
          messages: outcomeMessages(saga, result.done, destinations),
          log: { step: stepName, outcome: result.done },
        },
      };
    }
    const compensation = saga.compensations.at(-1);
    if (!compensation) {
      const outcome = saga.cancelRequested ? 'CANCELLED' : 'REJECTED';
      const data = outcome === 'REJECTED' ? { ...saga.data, reason: 'PROCESSING_FAILED' } : saga.data;
      return {
        then: 'end',
        change: {
          state: saga.cancelRequested ? 'COMPLETED' : 'FAILED',
          outcome,
          data,
          nextAttemptInMs: null,
          messages: outcomeMessages({ ...saga, data }, outcome, destinations),
          log: { step: 'COMPENSATED', outcome },
        },
      };
    }
    try {
      await COMPENSATIONS[compensation](saga, ports);
    } catch (error) {
      return failure(saga, compensation, error);
    }
    // Committed on its own (the watchdog, not 0): each undone effect is recorded before the next.
    return {
      then: 'next-step',
      change: { compensations: saga.compensations.slice(0, -1), attempts: 0, nextAttemptInMs: watchdogMs, log: { step: compensation, outcome: 'COMPENSATED' } },
    };
  }

  /**
   * Runs a saga's steps from `loaded` inside its order's trace (the `traceparent` stored at placement),
   * with its order id on every log line. Steps that simply lead to the next one are not committed one
   * by one: every step is idempotent on the order id, so if this runner dies before the commit, the
   * next one repeats them with no second effect. The run commits once, version-guarded, when the saga
   * ends, waits for a retry, or changes state — about two commits per order instead of one per step.
   */
  function runToNextCommit(loaded: Saga): Promise<{ then: StepOutcome['then']; applied: boolean }> {
    return inStoredTrace(loaded.data.traceparent, `saga ${loaded.state === 'RUNNING' ? loaded.step : 'compensate'}`, { orderId: loaded.orderId }, async () => {
      let saga = loaded;
      const lines: StepLog[] = [];
      let outcome = await runCurrentStep(saga);
      for (let folded = 0; folded < MAX_STEPS_PER_COMMIT && leadsOn(outcome); folded++) {
        lines.push({ ...outcome.change.log, attempt: saga.attempts + 1 });
        saga = applyChange(saga, outcome.change);
        const following = await runCurrentStep(saga);
        outcome = { ...following, change: { ...pending(loaded, saga), ...following.change } };
      }
      const { change } = outcome;
      lines.push({ ...change.log, attempt: saga.attempts + 1 });
      const applied = await repo.apply(loaded, { ...change, lines });
      if (applied && change.deadLetter) options.metrics?.onDeadLetter?.();
      logger.debug({ steps: lines.map((l) => `${l.step} ${l.outcome}`), applied }, 'saga steps');
      if (applied && (change.state === 'COMPLETED' || change.state === 'FAILED')) {
        options.metrics?.onFinished?.(change.outcome ?? 'UNKNOWN', change.state, loaded.createdAt);
        logger.info({ state: change.state, outcome: change.outcome }, 'saga finished');
      }
      return { then: outcome.then, applied };
    });
  }

  /** Loads the saga and runs it commit after commit until it ends, waits (a retry, an open circuit) or this runner stops. */
  async function runUntilEndOrWait(orderId: string): Promise<void> {
    for (let commit = 0; commit < MAX_COMMITS_PER_RUN; commit++) {
      // Stopping between commits: make the saga due now so another runner (or the next start) goes on at once.
      if (stopped) return repo.makeDueNow(orderId);
      const saga = await repo.load(orderId);
      if (!saga || saga.state === 'COMPLETED' || saga.state === 'FAILED') return;
      const { then, applied } = await runToNextCommit(saga);
      // Not applied: someone else moved the saga; reload and decide again.
      if (!applied) continue;
      // Ended: nothing to reload. (A cancel reopening it calls resume itself.)
      if (then === 'end') return remember(orderId);
      // Waiting for a retry's time or a closed circuit: the poller comes back for it.
      if (then === 'wait') return;
    }
  }

  // Sagas this process saw end, newest last: the order.placed fact of a saga started in-process at
  // placement arrives after it has usually ended, and must not cost a load to find that out.
  const ended = new Set<string>();
  const ENDED_REMEMBERED = 10_000;
  function remember(orderId: string): void {
    ended.add(orderId);
    if (ended.size > ENDED_REMEMBERED) ended.delete(ended.values().next().value!);
  }

  /**
   * Runs one saga from its last commit until it ends or waits, one by one (not batched); concurrent
   * calls for the same order in this process share one run. Never rejects: a failed run is logged and
   * left to the poller.
   */
  function resume(orderId: string): Promise<void> {
    const current = running.get(orderId);
    if (current) return current;
    const run = runUntilEndOrWait(orderId)
      .catch((error: unknown) => logger.error({ err: error, orderId }, 'saga run failed; the poller will resume it'))
      .finally(() => running.delete(orderId));
    running.set(orderId, run);
    return run;
  }

  const maxConcurrent = options.maxConcurrent ?? 64;
  const slotWaiters: (() => void)[] = [];

  /**
   * Starts `resume` without waiting for the run: its state is durable, so the caller (the order.placed
   * consumer as the backstop, or a placement whose saga existed already) may go on at once, and sagas
   * of one partition run side by side. Skips a saga this process saw end or holds in a batch; waits
   * only while `maxConcurrent` sagas are already running here.
   */
  async function resumeInBackground(orderId: string): Promise<void> {
    if (ended.has(orderId) || inBatch.has(orderId)) return;
    while (running.size >= maxConcurrent && !running.has(orderId)) await new Promise<void>((resolve) => slotWaiters.push(resolve));
    void resume(orderId).finally(() => slotWaiters.shift()?.());
  }

  /** Sagas off the batched path: `resume` repeats each from its last commit, one by one. */
  const resumeOneByOne = (sagas: Saga[]) => sagas.forEach((s) => void resume(s.orderId));

  /** The commit that ends a saga of a batch with `outcome` after `step`, as the one-by-one path would. */
  const ending = (saga: Saga, step: ForwardStep, outcome: 'CONFIRMED' | 'REJECTED', lines: StepLog[]) => ({
    expected: saga,
    change: {
      state: 'COMPLETED',
      step,
      attempts: 0,
      outcome,
      nextAttemptInMs: null,
      messages: outcomeMessages(saga, outcome, destinations),
      log: { step, outcome },
      lines: [...lines, { step, outcome, attempt: 1 }],
    } satisfies SagaChange,
  });

  /** Reserved sagas: one ConfirmOrders call; the ends of those confirmed (the others go one by one). */
  async function confirmReserved(reserved: Saga[]) {
    if (!reserved.length) return [];
    const confirmations = await ports.orders
      .confirmOrders(reserved.map((s) => ({ orderId: s.orderId, traceparent: s.data.traceparent })))
      .catch((error: unknown) => void logger.debug({ err: error, sagas: reserved.length }, 'batched confirmation failed; sagas go on one by one'));
    if (!confirmations) {
      resumeOneByOne(reserved);
      return [];
    }
    resumeOneByOne(reserved.filter((_, i) => confirmations[i]?.ok !== true));
    return reserved
      .filter((_, i) => confirmations[i]?.ok === true)
      .map((saga) => ending(saga, 'CONFIRM_ORDER', 'CONFIRMED', [{ step: FIRST_STEP, outcome: 'DONE', attempt: saga.attempts + 1 }]));
  }

  /**
   * Sagas refused stock: their move to REJECT_ORDER commits first, in one statement (a cancel may not
   * overtake that step: UNCANCELLABLE_STEPS; one that came first wins the version check, and its saga
   * goes one by one), then each order is rejected; the ends of those rejected. Due again after the
   * watchdog, as a step under way, should this process die before the end.
   */
  async function rejectRefused(refused: Saga[]) {
    if (!refused.length) return [];
    const moves = refused.map((saga) => {
      const change: SagaChange = {
        step: 'REJECT_ORDER',
        attempts: 0,
        data: { ...saga.data, reason: 'OUT_OF_STOCK' },
        nextAttemptInMs: watchdogMs,
        log: { step: FIRST_STEP, outcome: 'DONE', detail: 'OUT_OF_STOCK' },
        lines: [{ step: FIRST_STEP, outcome: 'DONE', detail: 'OUT_OF_STOCK', attempt: saga.attempts + 1 }],
      };
      return { expected: saga, change, moved: { ...applyChange(saga, change), version: saga.version + 1 } };
    });
    const applied = await repo
      .applyMany(moves)
      .catch((error: unknown) => void logger.warn({ err: error, sagas: moves.length }, 'batched saga commit failed; sagas go on one by one'));
    if (!applied) {
      resumeOneByOne(refused);
      return [];
    }
    resumeOneByOne(refused.filter((_, i) => !applied[i]));
    const moved = moves.filter((_, i) => applied[i]).map((m) => m.moved);
    // The saga's own REJECT_ORDER step, as the one-by-one path runs it.
    const rejections = await Promise.allSettled(moved.map((saga) => FORWARD_STEPS.REJECT_ORDER.run(saga, ports)));
    resumeOneByOne(moved.filter((_, i) => rejections[i]!.status === 'rejected'));
    return moved.filter((_, i) => rejections[i]!.status === 'fulfilled').map((saga) => ending(saga, 'REJECT_ORDER', 'REJECTED', []));
  }

  /**
   * The common path of fresh sagas, many at a time: one ReserveStockBatch call for all of them; for
   * those reserved one ConfirmOrders call, for those refused one commit of their move to REJECT_ORDER
   * and a RejectOrder call each; then one statement committing every saga's end with its fact and
   * e-mail task (version-guarded per saga, as `apply`). Anything off that path (a failed or unanswered
   * call, a saga changed meanwhile) goes to `resume`, which repeats the saga from its last commit one
   * by one: every step is idempotent on the order id, so repeating a reservation or confirmation the
   * batch made has no second effect.
   */
  async function runPlacedBatch(batch: Saga[]): Promise<void> {
    const reservations = await ports.inventory
      .reserveStockBatch(
        batch.map((s) => ({ orderId: s.orderId, items: s.data.items.map(({ sku, quantity }) => ({ sku, quantity })), traceparent: s.data.traceparent })),
      )
      .catch((error: unknown) => void logger.debug({ err: error, sagas: batch.length }, 'batched reservation failed; sagas go on one by one'));
    if (!reservations) return resumeOneByOne(batch);
    resumeOneByOne(batch.filter((_, i) => typeof reservations[i]?.reserved !== 'boolean'));
    const [confirmed, rejected] = await Promise.all([
      confirmReserved(batch.filter((_, i) => reservations[i]?.reserved === true)),
      rejectRefused(batch.filter((_, i) => reservations[i]?.reserved === false)),
    ]);
    const ends = [...confirmed, ...rejected];
    if (!ends.length) return;
    const applied = await repo
      .applyMany(ends)
      .catch((error: unknown) => void logger.warn({ err: error, sagas: ends.length }, 'batched saga commit failed; sagas go on one by one'));
    if (!applied) return resumeOneByOne(ends.map((e) => e.expected));
    ends.forEach(({ expected: saga, change }, i) => {
      if (!applied[i]) return void resume(saga.orderId);
      remember(saga.orderId);
      options.metrics?.onFinished?.(change.outcome, 'COMPLETED', saga.createdAt);
      logger.info({ orderId: saga.orderId, state: 'COMPLETED', outcome: change.outcome }, 'saga finished');
    });
  }

  // Every saga of a batch is settled by runPlacedBatch itself (ended, or handed to `resume`): no per-saga result.
  const placedBatches = createGroupCommit<Saga, void>({
    async run(batch) {
      await runPlacedBatch(batch);
      return batch.map(() => undefined);
    },
    maxBatch: options.maxBatch ?? 64,
    maxConcurrent: 2,
  });
  // Sagas in a batch: their order.placed fact, back through Kafka, must not start a second run of them
  // (`resumeInBackground` skips them; the batch ends them or hands them to `resume`).
  const inBatch = new Set<string>();

  /**
   * Starts sagas just created at their first step, with the sagas in hand (no load): they join the
   * next batch (runPlacedBatch). Not awaited by the placement: their state is durable, and the poller
   * resumes any this process does not finish.
   */
  function startPlacedInBatches(sagas: Saga[]): void {
    for (const saga of sagas) {
      if (stopped || saga.state !== 'RUNNING' || saga.step !== FIRST_STEP) void resume(saga.orderId);
      else {
        inBatch.add(saga.orderId);
        void placedBatches
          .add(saga)
          .catch((error: unknown) => logger.error({ err: error, orderId: saga.orderId }, 'saga batch failed; the poller will resume it'))
          .finally(() => inBatch.delete(saga.orderId));
      }
    }
  }

  async function poll(): Promise<void> {
    if (stopped) return;
    try {
      const due = await repo.claimDue(32, watchdogMs);
      await Promise.all(due.map(resume));
    } catch (error) {
      logger.warn({ err: error }, 'saga poll failed');
    } finally {
      if (!stopped) timer = setTimeout(() => void poll(), options.pollIntervalMs);
    }
  }

  return {
    resume,
    resumeInBackground,
    startPlacedInBatches,
    start() {
      stopped = false;
      timer = setTimeout(() => void poll(), options.pollIntervalMs);
    },
    /** Stops polling and waits for the sagas in hand to reach their next commit. */
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await placedBatches.drain();
      await Promise.all(running.values());
    },
  };
}

export type SagaRunner = ReturnType<typeof createSagaRunner>;
