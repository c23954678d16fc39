import type { Pool, PoolClient, QueryConfig, QueryResult } from 'pg';
import { inTransaction } from '@orderflow/db';
import { enqueueOutbox, outboxInsertSql, OUTBOX_CHANNEL, type OutboxGuard, type OutboxMessage } from './outbox';
import type { OutboxRelay } from './outbox-relay';

type Queryable = Pick<PoolClient, 'query'>;

/**
 * What a statement carrying outbox messages must contain: `insert` as the body of a data-modifying CTE
 * (undefined when there are no messages: leave the CTE out), and `select` at the end of its select list
 * (a NOTIFY when another process publishes, else empty).
 */
export interface OutboxParts {
  insert: string | undefined;
  select: string;
}

/** Builds the statement around the outbox parts: its text (values: the `params` given), or a query config (e.g. `prepared`). */
export type OutboxStatementBuilder = (parts: OutboxParts) => string | QueryConfig;

/** The ways to add messages inside a transaction opened by `OutboxWriter.transaction`. */
export interface OutboxInTransaction {
  /** Inserts the messages (one statement). */
  enqueue(messages: OutboxMessage[]): Promise<void>;
  /** Runs one statement fused with the messages' insert (see OutboxWriter.statement). */
  statement(messages: OutboxMessage[], params: unknown[], guard: OutboxGuard | undefined, build: OutboxStatementBuilder): Promise<QueryResult>;
}

/**
 * How a service writes to its outbox, with the change the messages describe. Each way ends by waking
 * the relays once the rows are committed, so none can be used half-way: a statement that commits by
 * itself, or a transaction that commits when `work` resolves.
 */
export interface OutboxWriter {
  /**
   * One statement (it commits by itself) that writes a change and its messages: `build` gets the
   * outbox insert as a CTE body and what to add to the select list, and must use both; their
   * parameters are pushed onto `params`, and `guard` says which messages apply (see OutboxGuard).
   */
  statement(db: Queryable, messages: OutboxMessage[], params: unknown[], guard: OutboxGuard | undefined, build: OutboxStatementBuilder): Promise<QueryResult>;
  /** A transaction on a pooled client; messages added through `outbox` commit with it, and the relays are woken after COMMIT. */
  transaction<T>(pool: Pool, work: (tx: PoolClient, outbox: OutboxInTransaction) => Promise<T>): Promise<T>;
}

/**
 * The writer for a process running `relays`: while they are the ones publishing, a commit wakes them
 * in-process and skips NOTIFY (Postgres serialises the commits of notifying transactions); otherwise
 * (another replica publishes) NOTIFY wakes that one.
 */
export function createOutboxWriter(relays: OutboxRelay[]): OutboxWriter {
  const notify = () => relays.length === 0 || !relays.every((r) => r.active);
  const wake = () => relays.forEach((r) => r.wake());

  /** Runs a statement fused with the messages' insert; answers whether it carried any. */
  async function run(db: Queryable, messages: OutboxMessage[], params: unknown[], guard: OutboxGuard | undefined, build: OutboxStatementBuilder) {
    const parts: OutboxParts = messages.length
      ? { insert: outboxInsertSql(messages, params, guard), select: notify() ? `, pg_notify('${OUTBOX_CHANNEL}', '') AS notified` : '' }
      : { insert: undefined, select: '' };
    const built = build(parts);
    const query: QueryConfig = typeof built === 'string' ? { text: built, values: params } : built;
    if (parts.insert && !(query.text.includes(parts.insert) && query.text.includes(parts.select))) {
      throw new Error('an outbox statement must contain the outbox insert and its select-list addition');
    }
    const result = await db.query(query);
    return { result, carried: parts.insert !== undefined };
  }

  return {
    async statement(db, messages, params, guard, build) {
      const { result, carried } = await run(db, messages, params, guard, build);
      if (carried) wake();
      return result;
    },
    async transaction(pool, work) {
      let carried = false;
      const result = await inTransaction(pool, (tx) =>
        work(tx, {
          async enqueue(messages) {
            if (!messages.length) return;
            await enqueueOutbox(tx, messages, { notify: notify() });
            carried = true;
          },
          async statement(messages, params, guard, build) {
            const ran = await run(tx, messages, params, guard, build);
            carried ||= ran.carried;
            return ran.result;
          },
        }),
      );
      if (carried) wake();
      return result;
    },
  };
}

/** A writer that only NOTIFYs: for code without relays of its own (tests, tools). */
export const notifyingOutboxWriter: OutboxWriter = createOutboxWriter([]);
