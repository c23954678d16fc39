import type { Pool } from 'pg';
import { prepared, type Queryable } from '@orderflow/db';
import { notifyingOutboxWriter, type OutboxMessage, type OutboxWriter } from '@orderflow/messaging';
import { completeKeysSql, type KeyCompletion } from '../idempotency/idempotency-store';
import { UNCANCELLABLE_STEPS, type Compensation, type Outcome, type Saga, type SagaData, type SagaState } from './order-saga';

export interface SagaChange {
  state?: SagaState;
  step?: string;
  attempts?: number;
  compensations?: Compensation[];
  data?: SagaData;
  outcome?: Outcome;
  lastError?: string | null;
  /** Milliseconds from now until a runner should look again; null when the saga has ended. */
  nextAttemptInMs: number | null;
  /** The next look is a retry's backoff or an open circuit's pause, not a step under way (the admin API's WAITING). */
  waiting?: boolean;
  /** A line for the step log. */
  log: { step: string; outcome: string; detail?: string };
  /** Every step-log line the commit writes, `log` last, when the runner ran several steps before it (runToNextCommit in saga-runner.ts). */
  lines?: StepLog[];
  /** Facts and tasks committed with the change. */
  messages?: OutboxMessage[];
  deadLetter?: { error: string; attempts: number };
}

export interface StepLog {
  step: string;
  outcome: string;
  detail?: string;
  attempt: number;
}

/** The saga as it is once `change` is applied (the version is left to whoever commits it). */
export function applyChange(saga: Saga, change: SagaChange): Saga {
  return {
    ...saga,
    ...(change.state ? { state: change.state } : {}),
    ...(change.step ? { step: change.step } : {}),
    ...(change.attempts !== undefined ? { attempts: change.attempts } : {}),
    ...(change.compensations ? { compensations: change.compensations } : {}),
    ...(change.data ? { data: change.data } : {}),
    ...(change.outcome ? { outcome: change.outcome } : {}),
  };
}

export interface SagaRow {
  order_id: string;
  customer_id: string;
  state: SagaState;
  step: string;
  attempts: number;
  compensations: Compensation[];
  cancel_requested: boolean;
  data: SagaData;
  outcome: Outcome | null;
  last_error: string | null;
  version: number;
  next_attempt_at: Date | null;
  waiting: boolean;
  created_at: Date;
  updated_at: Date;
  finished_at: Date | null;
}

export const toSaga = (r: SagaRow): Saga => ({
  orderId: r.order_id,
  customerId: r.customer_id,
  state: r.state,
  step: r.step,
  attempts: r.attempts,
  compensations: r.compensations,
  cancelRequested: r.cancel_requested,
  data: r.data,
  ...(r.outcome ? { outcome: r.outcome } : {}),
  ...(r.last_error ? { lastError: r.last_error } : {}),
  version: r.version,
  ...(r.next_attempt_at ? { nextAttemptAt: r.next_attempt_at.toISOString() } : {}),
  waiting: r.waiting,
  createdAt: r.created_at.toISOString(),
  updatedAt: r.updated_at.toISOString(),
  ...(r.finished_at ? { finishedAt: r.finished_at.toISOString() } : {}),
});

/** A saga as placement (or the orphan sweeper) creates it. */
export interface NewSaga {
  orderId: string;
  customerId: string;
  step: string;
  compensations: Compensation[];
  data: SagaData;
  watchdogMs: number;
  state?: 'RUNNING' | 'COMPENSATING';
  log?: { step: string; outcome: string };
}

/** Saga rows, their step log and the saga's dead letters. */
export function createSagaRepository(pool: Pool, outbox: OutboxWriter = notifyingOutboxWriter) {
  /**
   * Inserts new sagas (RUNNING, or COMPENSATING for an order to close) with their first log line and
   * their messages (the order.placed fact), and stores the given responses under their keys, all in
   * one statement (group commit: many placements share it). Answers each saga as created (version 0),
   * for a runner to start from without loading it; a saga that exists already (a resumed request) is
   * skipped with its messages and answers undefined, and its response is stored all the same.
   */
  async function createMany(entries: { saga: NewSaga; messages: OutboxMessage[]; completion?: KeyCompletion }[]): Promise<(Saga | undefined)[]> {
    if (!entries.length) return [];
    const sagas = entries.map((e) => e.saga);
    const params: unknown[] = [
      sagas.map((s) => s.orderId),
      sagas.map((s) => s.customerId),
      sagas.map((s) => s.state ?? 'RUNNING'),
      sagas.map((s) => s.step),
      sagas.map((s) => JSON.stringify(s.compensations)),
      sagas.map((s) => JSON.stringify(s.data)),
      sagas.map((s) => s.watchdogMs),
      sagas.map((s) => s.log?.step ?? 'PLACED'),
      sagas.map((s) => s.log?.outcome ?? 'STARTED'),
    ];
    const ctes = [
      `i AS (SELECT * FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::jsonb[], $6::jsonb[], $7::double precision[], $8::text[], $9::text[])
               AS t(order_id, customer_id, state, step, compensations, data, watchdog_ms, log_step, log_outcome))`,
      `s AS (INSERT INTO sagas (order_id, customer_id, state, step, compensations, data, next_attempt_at)
               SELECT order_id, customer_id, state, step, compensations, data, now() + watchdog_ms * interval '1 millisecond' FROM i
             ON CONFLICT (order_id) DO NOTHING RETURNING order_id, created_at, next_attempt_at)`,
      `l AS (INSERT INTO saga_steps (order_id, step, outcome, attempt) SELECT i.order_id, i.log_step, i.log_outcome, 0 FROM i JOIN s USING (order_id))`,
    ];
    const completions = entries.flatMap((e) => (e.completion ? [e.completion] : []));
    if (completions.length) ctes.push(`k AS (${completeKeysSql(completions, params)})`);
    // The facts only of the sagas inserted here (a resumed placement's saga exists already).
    const { rows } = await outbox.statement(
      pool,
      entries.flatMap((e) => e.messages),
      params,
      { keysIn: 'SELECT order_id::text FROM s' },
      ({ insert, select }) => prepared(`WITH ${[...ctes, ...(insert ? [`o AS (${insert})`] : [])].join(',\n')} SELECT s.*${select} FROM s`, params),
    );
    const created = new Map(rows.map((r) => [r.order_id as string, r as { created_at: Date; next_attempt_at: Date }]));
    return sagas.map((s) => {
      const row = created.get(s.orderId);
      if (!row) return undefined;
      const { orderId, customerId, step, compensations, data, state = 'RUNNING' } = s;
      const createdAt = row.created_at.toISOString();
      return {
        orderId,
        customerId,
        state,
        step,
        attempts: 0,
        compensations,
        cancelRequested: false,
        data,
        version: 0,
        nextAttemptAt: row.next_attempt_at.toISOString(),
        waiting: false,
        createdAt,
        updatedAt: createdAt,
      };
    });
  }

  /**
   * Applies each change if its saga is still at the version it was loaded with, in one statement: the
   * guarded updates, their step-log lines, and (only for the changes that applied) their messages and
   * dead letters. A change that did not apply (another runner or a cancel got there first) answers
   * false and wrote nothing: reload and decide again.
   */
  async function applyMany(entries: { expected: Saga; change: SagaChange }[]): Promise<boolean[]> {
    if (!entries.length) return [];
    const changes = entries.map((e) => e.change);
    const params: unknown[] = [
      entries.map((e) => e.expected.orderId),
      entries.map((e) => e.expected.version),
      changes.map((c) => c.state ?? null),
      changes.map((c) => c.step ?? null),
      changes.map((c) => c.attempts ?? null),
      changes.map((c) => (c.compensations ? JSON.stringify(c.compensations) : null)),
      changes.map((c) => (c.data ? JSON.stringify(c.data) : null)),
      changes.map((c) => c.outcome ?? null),
      changes.map((c) => c.lastError !== undefined),
      changes.map((c) => c.lastError ?? null),
      changes.map((c) => c.nextAttemptInMs),
      changes.map((c) => c.state === 'COMPLETED' || c.state === 'FAILED'),
      changes.map((c) => c.waiting === true),
    ];
    const lines = entries.flatMap(({ expected, change }) =>
      (change.lines ?? [{ ...change.log, attempt: expected.attempts + 1 }]).map((l) => ({ orderId: expected.orderId, ...l })),
    );
    const l =
      params.push(
        lines.map((x) => x.orderId),
        lines.map((x) => x.step),
        lines.map((x) => x.outcome),
        lines.map((x) => x.attempt),
        lines.map((x) => x.detail ?? null),
      ) - 4;
    const ctes = [
      `c AS (SELECT * FROM unnest($1::uuid[], $2::int[], $3::text[], $4::text[], $5::int[], $6::jsonb[], $7::jsonb[], $8::text[], $9::boolean[], $10::text[], $11::double precision[], $12::boolean[], $13::boolean[])
               AS t(order_id, version, state, step, attempts, compensations, data, outcome, set_error, last_error, next_in_ms, finished, waiting))`,
      `s AS (UPDATE sagas SET state = COALESCE(c.state, sagas.state), step = COALESCE(c.step, sagas.step), attempts = COALESCE(c.attempts, sagas.attempts),
                  compensations = COALESCE(c.compensations, sagas.compensations), data = COALESCE(c.data, sagas.data), outcome = COALESCE(c.outcome, sagas.outcome),
                  last_error = CASE WHEN c.set_error THEN c.last_error ELSE sagas.last_error END,
                  next_attempt_at = CASE WHEN c.next_in_ms IS NULL THEN NULL ELSE now() + c.next_in_ms * interval '1 millisecond' END,
                  finished_at = CASE WHEN c.finished THEN now() ELSE sagas.finished_at END, waiting = c.waiting,
                  version = sagas.version + 1, updated_at = now()
               FROM c WHERE sagas.order_id = c.order_id AND sagas.version = c.version RETURNING sagas.order_id)`,
      `l AS (INSERT INTO saga_steps (order_id, step, outcome, attempt, detail)
               SELECT t.order_id, t.step, t.outcome, t.attempt, t.detail FROM unnest($${l}::uuid[], $${l + 1}::text[], $${l + 2}::text[], $${l + 3}::int[], $${l + 4}::text[]) WITH ORDINALITY AS t(order_id, step, outcome, attempt, detail, n)
                WHERE t.order_id IN (SELECT order_id FROM s) ORDER BY t.n)`,
    ];
    const dead = entries.filter((e) => e.change.deadLetter);
    if (dead.length) {
      const d =
        params.push(
          dead.map((e) => e.expected.orderId),
          dead.map((e) => `saga:${e.change.log.step}`),
          dead.map((e) => Buffer.from(JSON.stringify({ orderId: e.expected.orderId, step: e.change.log.step, data: e.expected.data }))),
          dead.map((e) => e.change.deadLetter!.error),
          dead.map((e) => e.change.deadLetter!.attempts),
        ) - 4;
      ctes.push(`d AS (INSERT INTO dead_letters (id, source, origin, message_key, message_id, payload, error, attempts, first_failed_at, last_failed_at)
               SELECT gen_random_uuid(), 'saga', t.origin, t.order_id, t.order_id, t.payload, t.error, t.attempts, now(), now()
                 FROM unnest($${d}::uuid[], $${d + 1}::text[], $${d + 2}::bytea[], $${d + 3}::text[], $${d + 4}::int[]) AS t(order_id, origin, payload, error, attempts)
                WHERE t.order_id IN (SELECT order_id FROM s))`);
    }
    // The messages only of the changes that applied.
    const { rows } = await outbox.statement(
      pool,
      changes.flatMap((c) => c.messages ?? []),
      params,
      { keysIn: 'SELECT order_id::text FROM s' },
      ({ insert, select }) => prepared(`WITH ${[...ctes, ...(insert ? [`o AS (${insert})`] : [])].join(',\n')} SELECT s.order_id${select} FROM s`, params),
    );
    const applied = new Set(rows.map((r) => r.order_id as string));
    return entries.map((e) => applied.has(e.expected.orderId));
  }

  return {
    createMany,
    /** One saga, as createMany. */
    create: async (saga: NewSaga, messages: OutboxMessage[]): Promise<boolean> => (await createMany([{ saga, messages }]))[0] !== undefined,

    /** The saga of `orderId`, read through `within` (a caller's transaction) when given. */
    async load(orderId: string, within: Queryable = pool): Promise<Saga | undefined> {
      const { rows } = await within.query<SagaRow>('SELECT * FROM sagas WHERE order_id = $1', [orderId]);
      return rows[0] && toSaga(rows[0]);
    },

    applyMany,
    /** One change, as applyMany. */
    apply: async (expected: Saga, change: SagaChange): Promise<boolean> => (await applyMany([{ expected, change }]))[0]!,

    /**
     * Marks a cancel request, with its log line and (only if the cancel was taken) the response under
     * its key, in one statement; false, and nothing written, when the saga cannot be cancelled (already
     * rejected, cancelled or failing). `within` runs it in a caller's transaction (an operator's cancel
     * commits with its audit row); `detail` goes on the log line (who asked, and why).
     */
    async requestCancel(orderId: string, completion?: KeyCompletion, options: { within?: Queryable; detail?: string } = {}): Promise<boolean> {
      const params: unknown[] = [orderId, UNCANCELLABLE_STEPS, options.detail ?? null];
      const ctes = [
        `s AS (UPDATE sagas SET cancel_requested = true, state = 'COMPENSATING', attempts = 0, finished_at = NULL, next_attempt_at = now(), waiting = false,
                  version = version + 1, updated_at = now()
            WHERE order_id = $1 AND NOT cancel_requested
              AND ((state = 'RUNNING' AND step <> ALL($2::text[])) OR (state = 'COMPLETED' AND outcome = 'CONFIRMED'))
            RETURNING order_id)`,
        `l AS (INSERT INTO saga_steps (order_id, step, outcome, attempt, detail) SELECT order_id, 'CANCEL', 'REQUESTED', 0, $3 FROM s)`,
      ];
      if (completion) ctes.push(`k AS (${completeKeysSql([completion], params, { onlyIf: 'EXISTS (SELECT 1 FROM s)' })})`);
      const { rows } = await (options.within ?? pool).query(`WITH ${ctes.join(',\n')} SELECT (SELECT count(*) FROM s)::int AS accepted`, params);
      return rows[0].accepted === 1;
    },

    /**
     * Claims up to `limit` sagas that are due (a retry's time has come, or a watchdog fired), pushing
     * their next look `leaseMs` ahead so other runners skip them meanwhile; a claimed saga is under way, no longer waiting.
     */
    async claimDue(limit: number, leaseMs: number): Promise<string[]> {
      const { rows } = await pool.query(
        `UPDATE sagas SET next_attempt_at = now() + $2 * interval '1 millisecond', waiting = false
          WHERE order_id IN (SELECT order_id FROM sagas WHERE next_attempt_at <= now() ORDER BY next_attempt_at LIMIT $1 FOR UPDATE SKIP LOCKED)
          RETURNING order_id`,
        [limit, leaseMs],
      );
      return rows.map((r) => r.order_id);
    },

    /** Makes an unfinished saga due now: a runner stopping between steps hands it to the others at once. */
    async makeDueNow(orderId: string): Promise<void> {
      await pool.query('UPDATE sagas SET next_attempt_at = now() WHERE order_id = $1 AND next_attempt_at IS NOT NULL', [orderId]);
    },

    /** Sagas not finished yet (every unfinished saga has a next look scheduled). */
    async countInFlight(): Promise<number> {
      const { rows } = await pool.query('SELECT count(*)::int AS n FROM sagas WHERE next_attempt_at IS NOT NULL');
      return rows[0].n;
    },

    async steps(orderId: string) {
      const { rows } = await pool.query('SELECT step, outcome, attempt, detail, at FROM saga_steps WHERE order_id = $1 ORDER BY id', [orderId]);
      return rows.map((r) => ({ step: r.step, outcome: r.outcome, attempt: r.attempt, ...(r.detail ? { detail: r.detail } : {}), at: r.at.toISOString() }));
    },
  };
}

export type SagaRepository = ReturnType<typeof createSagaRepository>;
