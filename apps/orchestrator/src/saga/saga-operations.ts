import type { Pool } from 'pg';
import type { Queryable } from '@orderflow/db';
import { outboxPendingCondition } from '@orderflow/messaging';
import type { Saga } from './order-saga';
import { toSaga, type SagaRow } from './saga-repository';

/** How the admin API names where a saga stands: its state, with WAITING for one waiting out a retry or an open circuit. */
export type SagaStatus = 'RUNNING' | 'WAITING' | 'COMPENSATING' | 'COMPLETED' | 'FAILED';

export const statusOf = (saga: Pick<Saga, 'state' | 'waiting'>): SagaStatus =>
  saga.waiting && (saga.state === 'RUNNING' || saga.state === 'COMPENSATING') ? 'WAITING' : saga.state;

// The stored states (and waiting flag) each status stands for.
const STATUS_SQL: Record<SagaStatus, string> = {
  RUNNING: `state = 'RUNNING' AND NOT waiting`,
  WAITING: `state IN ('RUNNING', 'COMPENSATING') AND waiting`,
  COMPENSATING: `state = 'COMPENSATING' AND NOT waiting`,
  COMPLETED: `state = 'COMPLETED'`,
  FAILED: `state = 'FAILED'`,
};

export interface SagaSearch {
  status?: SagaStatus;
  step?: string;
  customerId?: string;
  /** Created at or after. */
  from?: string;
  /** Created before. */
  to?: string;
  limit: number;
  /** The last saga of the previous page (newest first). */
  after?: { createdAt: string; id: string };
}

/** A message an order's saga wrote to the outbox: a fact on Kafka or an e-mail task on RabbitMQ. */
export interface SagaMessage {
  id: string;
  destination: 'kafka' | 'rabbitmq';
  topic: string;
  /** The fact's CloudEvents type, or the e-mail task's template. */
  type: string;
  messageId: string;
  createdAt: string;
  /** Handed to its broker (no longer pending in the outbox). */
  published: boolean;
}

/** What operators do with sagas beyond running them: search them, read what they emitted, run one now. */
export function createSagaOperations(pool: Pool) {
  return {
    /** Sagas matching every given filter, newest first. */
    async search(q: SagaSearch): Promise<Saga[]> {
      const where: string[] = [];
      const params: unknown[] = [];
      const add = (sql: (n: number) => string, value: unknown) => where.push(sql(params.push(value)));
      if (q.status) where.push(STATUS_SQL[q.status]);
      if (q.step) add((n) => `step = $${n}`, q.step);
      if (q.customerId) add((n) => `customer_id = $${n}`, q.customerId);
      if (q.from) add((n) => `created_at >= $${n}::timestamptz`, q.from);
      if (q.to) add((n) => `created_at < $${n}::timestamptz`, q.to);
      if (q.after) {
        const n = params.push(q.after.createdAt, q.after.id) - 1;
        where.push(`(created_at, order_id) < ($${n}::timestamptz, $${n + 1}::uuid)`);
      }
      const limit = params.push(q.limit);
      const { rows } = await pool.query<SagaRow>(
        `SELECT * FROM sagas ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY created_at DESC, order_id DESC LIMIT $${limit}`,
        params,
      );
      return rows.map(toSaga);
    },

    /** The facts and e-mail tasks of an order, in the order they were written (until retention purges them). */
    async messages(orderId: string): Promise<SagaMessage[]> {
      const { rows } = await pool.query(
        `SELECT o.id, o.destination, o.topic, o.message_id, o.created_at, NOT ${outboxPendingCondition('o')} AS published,
                CASE WHEN o.destination = 'kafka' THEN o.payload->>'type' ELSE o.payload->>'template' END AS type
           FROM outbox o WHERE o.message_key = $1 ORDER BY o.id`,
        [orderId],
      );
      return rows.map((r) => ({
        id: String(r.id),
        destination: r.destination,
        topic: r.topic,
        type: r.type ?? 'unknown',
        messageId: r.message_id,
        createdAt: r.created_at.toISOString(),
        published: r.published as boolean,
      }));
    },

    /**
     * Makes an unfinished saga due now and logs who asked (in the caller's transaction, with its audit
     * row); the saga as it then stands, or undefined when it has ended (nothing to run) or does not exist.
     */
    async retryNow(tx: Queryable, orderId: string, requestedBy: string): Promise<Saga | undefined> {
      const { rows } = await tx.query<SagaRow>(
        `WITH s AS (UPDATE sagas SET next_attempt_at = now(), waiting = false, updated_at = now()
                     WHERE order_id = $1 AND finished_at IS NULL RETURNING *),
              l AS (INSERT INTO saga_steps (order_id, step, outcome, attempt, detail)
                     SELECT order_id, step, 'RETRY_REQUESTED', attempts, $2 FROM s)
         SELECT * FROM s`,
        [orderId, `by ${requestedBy}`],
      );
      return rows[0] && toSaga(rows[0]);
    },
  };
}

export type SagaOperations = ReturnType<typeof createSagaOperations>;
