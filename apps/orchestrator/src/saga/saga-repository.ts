import type { Pool } from 'pg';
import { notifyingOutboxWriter, type OutboxMessage, type OutboxWriter } from '@orderflow/messaging';
import type { Compensation, Outcome, Saga, SagaData, SagaState } from './order-saga';

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
  /** A line for the step log. */
  log: { step: string; outcome: string; detail?: string };
  /** Every step-log line the commit writes, `log` last, when the runner ran several steps before it (runSteps in saga-runner.ts). */
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

interface SagaRow {
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
  created_at: Date;
  updated_at: Date;
}

const toSaga = (r: SagaRow): Saga => ({
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
  createdAt: r.created_at.toISOString(),
  updatedAt: r.updated_at.toISOString(),
});

/** Saga rows, their step log and the saga's dead letters. */
export function createSagaRepository(pool: Pool, outbox: OutboxWriter = notifyingOutboxWriter) {
  return {
    /**
     * Inserts a new saga (RUNNING, or COMPENSATING for an order to close), its first log line and
     * `messages` (the order.placed fact), plus the caller's own write `also` (a CTE body, e.g. the
     * stored response), in one statement; the saga's part is skipped when it already exists (a
     * resumed request), and false comes back.
     */
    async create(
      saga: { orderId: string; customerId: string; step: string; compensations: Compensation[]; data: SagaData; watchdogMs: number; state?: 'RUNNING' | 'COMPENSATING'; log?: { step: string; outcome: string } },
      messages: OutboxMessage[],
      also?: (params: unknown[]) => string,
    ): Promise<boolean> {
      const { state = 'RUNNING', log = { step: 'PLACED', outcome: 'STARTED' } } = saga;
      const params: unknown[] = [saga.orderId, saga.customerId, saga.step, JSON.stringify(saga.compensations), JSON.stringify(saga.data), saga.watchdogMs, state, log.step, log.outcome];
      const ctes = [
        `s AS (INSERT INTO sagas (order_id, customer_id, state, step, compensations, data, next_attempt_at)
               VALUES ($1, $2, $7, $3, $4, $5, now() + $6 * interval '1 millisecond') ON CONFLICT (order_id) DO NOTHING RETURNING order_id)`,
        `l AS (INSERT INTO saga_steps (order_id, step, outcome, attempt) SELECT order_id, $8, $9, 0 FROM s)`,
      ];
      if (messages.length) ctes.push(`o AS (${outbox.insertSql(messages, params, 's')})`);
      if (also) ctes.push(`a AS (${also(params)})`);
      const { rows } = await pool.query(`WITH ${ctes.join(',\n')} SELECT (SELECT count(*) FROM s)::int AS created${outbox.notifySelect()}`, params);
      const created = rows[0].created === 1;
      if (created) outbox.committed();
      return created;
    },

    async load(orderId: string): Promise<Saga | undefined> {
      const { rows } = await pool.query<SagaRow>('SELECT * FROM sagas WHERE order_id = $1', [orderId]);
      return rows[0] && toSaga(rows[0]);
    },

    /**
     * Applies `change` if the saga is still at `expected.version`; otherwise nothing happens and false
     * comes back (another runner or a cancel got there first: reload and decide again).
     */
    async apply(expected: Saga, change: SagaChange): Promise<boolean> {
      // One statement, so one round trip and one implicit transaction: the guarded update, its step log
      // lines, and (only if the update happened) its messages and dead letter.
      const finished = change.state === 'COMPLETED' || change.state === 'FAILED';
      const lines: StepLog[] = change.lines ?? [{ ...change.log, attempt: expected.attempts + 1 }];
      const params: unknown[] = [
        expected.orderId,
        expected.version,
        change.state ?? null,
        change.step ?? null,
        change.attempts ?? null,
        change.compensations ? JSON.stringify(change.compensations) : null,
        change.data ? JSON.stringify(change.data) : null,
        change.outcome ?? null,
        change.lastError !== undefined,
        change.lastError ?? null,
        change.nextAttemptInMs,
        finished,
        lines.map((l) => l.step),
        lines.map((l) => l.outcome),
        lines.map((l) => l.attempt),
        lines.map((l) => l.detail ?? null),
      ];
      const ctes = [
        `s AS (UPDATE sagas SET state = COALESCE($3, state), step = COALESCE($4, step), attempts = COALESCE($5, attempts),
                  compensations = COALESCE($6, compensations), data = COALESCE($7, data), outcome = COALESCE($8, outcome),
                  last_error = CASE WHEN $9::boolean THEN $10 ELSE last_error END,
                  next_attempt_at = CASE WHEN $11::double precision IS NULL THEN NULL ELSE now() + $11 * interval '1 millisecond' END,
                  finished_at = CASE WHEN $12::boolean THEN now() ELSE finished_at END,
                  version = version + 1, updated_at = now()
            WHERE order_id = $1 AND version = $2 RETURNING order_id)`,
        `l AS (INSERT INTO saga_steps (order_id, step, outcome, attempt, detail)
               SELECT s.order_id, t.* FROM s, unnest($13::text[], $14::text[], $15::int[], $16::text[]) AS t)`,
      ];
      const messages = change.messages ?? [];
      if (messages.length) ctes.push(`o AS (${outbox.insertSql(messages, params, 's')})`);
      if (change.deadLetter) {
        const n = params.push(`saga:${change.log.step}`, Buffer.from(JSON.stringify({ orderId: expected.orderId, step: change.log.step, data: expected.data })), change.deadLetter.error, change.deadLetter.attempts);
        ctes.push(`d AS (INSERT INTO dead_letters (id, source, origin, message_key, message_id, payload, error, attempts, first_failed_at, last_failed_at)
               SELECT gen_random_uuid(), 'saga', $${n - 3}, s.order_id, s.order_id, $${n - 2}, $${n - 1}, $${n}, now(), now() FROM s)`);
      }
      const { rows } = await pool.query(`WITH ${ctes.join(',\n')} SELECT (SELECT count(*) FROM s)::int AS applied${messages.length ? outbox.notifySelect() : ''}`, params);
      const applied = rows[0].applied === 1;
      if (applied && messages.length) outbox.committed();
      return applied;
    },

    /**
     * Marks a cancel request, with its log line and the caller's own write `also` (a CTE body given the
     * guard CTE, e.g. the stored response), in one statement; false, and nothing written, when the saga
     * cannot be cancelled (already rejected, cancelled or failing).
     */
    async requestCancel(orderId: string, also?: (params: unknown[], guard: string) => string): Promise<boolean> {
      const params: unknown[] = [orderId];
      const ctes = [
        `s AS (UPDATE sagas SET cancel_requested = true, state = 'COMPENSATING', attempts = 0, finished_at = NULL, next_attempt_at = now(),
                  version = version + 1, updated_at = now()
            WHERE order_id = $1 AND NOT cancel_requested
              AND ((state = 'RUNNING' AND step <> 'REJECT_ORDER') OR (state = 'COMPLETED' AND outcome = 'CONFIRMED'))
            RETURNING order_id)`,
        `l AS (INSERT INTO saga_steps (order_id, step, outcome, attempt) SELECT order_id, 'CANCEL', 'REQUESTED', 0 FROM s)`,
      ];
      if (also) ctes.push(`a AS (${also(params, 's')})`);
      const { rows } = await pool.query(`WITH ${ctes.join(',\n')} SELECT (SELECT count(*) FROM s)::int AS accepted`, params);
      return rows[0].accepted === 1;
    },

    /**
     * Claims up to `limit` sagas that are due (a retry's time has come, or a watchdog fired), pushing
     * their next look `leaseMs` ahead so other runners skip them meanwhile.
     */
    async claimDue(limit: number, leaseMs: number): Promise<string[]> {
      const { rows } = await pool.query(
        `UPDATE sagas SET next_attempt_at = now() + $2 * interval '1 millisecond'
          WHERE order_id IN (SELECT order_id FROM sagas WHERE next_attempt_at <= now() ORDER BY next_attempt_at LIMIT $1 FOR UPDATE SKIP LOCKED)
          RETURNING order_id`,
        [limit, leaseMs],
      );
      return rows.map((r) => r.order_id);
    },

    /** Makes an unfinished saga due now: a runner stopping between steps hands it to the others at once. */
    async resumeNow(orderId: string): Promise<void> {
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
