import type { Pool, PoolClient } from 'pg';
import type { CloudEvent } from '@orderflow/domain';

/** Where an outbox row goes: a Kafka topic (facts) or a RabbitMQ routing key on `tasks` (work). */
export type OutboxDestination = 'kafka' | 'rabbitmq';

export interface OutboxMessage {
  destination: OutboxDestination;
  /** Kafka topic, or RabbitMQ routing key. */
  topic: string;
  /** Kafka message key (order id or sku), or the RabbitMQ correlation id. Order is kept per key. */
  key: string;
  /** The CloudEvent id or task id: consumers de-duplicate by it. */
  messageId: string;
  payload: unknown;
  headers?: Record<string, string>;
}

/**
 * A fact as the outbox row that publishes it to Kafka: keyed by its subject (so one order's or one
 * sku's facts stay in order), de-duplicated by its id, its trace in the headers.
 */
export function factMessage(topic: string, event: CloudEvent): OutboxMessage {
  const key = event.subject ?? event.id;
  return { destination: 'kafka', topic, key, messageId: event.id, payload: event, headers: event.traceparent ? { traceparent: event.traceparent } : {} };
}

/**
 * A stored outbox row, as the relay hands it to a publisher. Its `payload` is the stored JSON as bytes
 * (a Buffer), which publishers send as they are: serialized once, when the row was written, instead of
 * parsed by the driver and serialized again for the broker.
 */
export interface OutboxRecord extends Required<OutboxMessage> {
  id: number;
}

type Queryable = Pick<PoolClient, 'query'>;

/** Channel the relay LISTENs on; enqueue NOTIFYs it, delivered when the writer's transaction commits. */
export const OUTBOX_CHANNEL = 'outbox';

/**
 * Adds messages to the outbox inside the caller's transaction, so they exist if and only if the change
 * they describe was committed. `notify` wakes relays in other processes through LISTEN/NOTIFY; it is
 * not free (Postgres serialises the commits of notifying transactions), so an OutboxWriter skips it
 * when its own process's relay is the one publishing.
 */
export async function enqueueOutbox(tx: Queryable, messages: OutboxMessage[], { notify = true }: { notify?: boolean } = {}): Promise<void> {
  if (messages.length === 0) return;
  const params: unknown[] = [];
  await tx.query(outboxInsertSql(messages, params), params);
  if (notify) await tx.query(`NOTIFY ${OUTBOX_CHANNEL}`);
}

/**
 * Which rows of a one-statement write's outbox insert happen: all, only if a CTE returned a row (the
 * name of a CTE returning one row when the change happened), or, for a statement writing many changes,
 * only the messages whose key is among those a subquery returns (e.g. the order ids whose change applied).
 */
export type OutboxGuard = string | { keysIn: string };

/**
 * The outbox insert as the body of a data-modifying CTE, for a writer that commits its change and its
 * messages in one statement (one round trip instead of a transaction's five), guarded as `guard` says.
 * Pushes its parameters onto `params`.
 */
export function outboxInsertSql(messages: OutboxMessage[], params: unknown[], guard?: OutboxGuard): string {
  const first =
    params.push(
      messages.map((m) => m.destination),
      messages.map((m) => m.topic),
      messages.map((m) => m.key),
      messages.map((m) => m.messageId),
      messages.map((m) => JSON.stringify(m.payload)),
      messages.map((m) => JSON.stringify(m.headers ?? {})),
    ) - 5;
  const p = (i: number) => `$${first + i}`;
  const columns = 'destination, topic, message_key, message_id, payload, headers';
  const selected = 'm.destination, m.topic, m.message_key, m.message_id, m.payload, m.headers';
  const rows = `unnest(${p(0)}::text[], ${p(1)}::text[], ${p(2)}::text[], ${p(3)}::uuid[], ${p(4)}::jsonb[], ${p(5)}::jsonb[]) WITH ORDINALITY AS m(${columns}, n)`;
  // In the messages' order (WITH ORDINALITY), so the relay publishes them as they were given.
  if (typeof guard === 'object') return `INSERT INTO outbox (${columns}) SELECT ${selected} FROM ${rows} WHERE m.message_key IN (${guard.keysIn}) ORDER BY m.n`;
  return `INSERT INTO outbox (${columns}) SELECT ${selected} FROM ${guard ? `${guard}, ` : ''}${rows} ORDER BY m.n`;
}

const DESTINATIONS: readonly OutboxDestination[] = ['kafka', 'rabbitmq'];
const OUTBOX_COLUMNS = 'o.id, o.destination, o.topic, o.message_key, o.message_id, o.payload::text AS payload, o.headers';

const toRecord = (r: Record<string, unknown>): OutboxRecord => ({
  id: Number(r.id),
  destination: r.destination as OutboxDestination,
  topic: r.topic as string,
  key: r.message_key as string,
  messageId: r.message_id as string,
  payload: Buffer.from(r.payload as string),
  headers: r.headers as Record<string, string>,
});

/**
 * A relay's batch in two round trips instead of five. This one opens the transaction, takes the
 * destination's lock (transaction-scoped: it goes with a dead relay's connection) and, if it got it,
 * reads the next pending rows in id order: `outbox_pending` lists the rows still owed to a broker (a
 * trigger adds every inserted row: the outbox-pending migration of each database), so an outbox row is
 * written once and never updated. The lock is taken by a statement of its own, before the read: under
 * READ COMMITTED each statement reads from a snapshot taken when it starts, so a read in the same
 * statement as the lock could start before the previous holder committed its deletes, get the lock
 * once it has, and send its rows again. The read repeats the (re-entrant) lock call and counts only if the first got it.
 * Every value is the relay's own constant, checked here, so the statements travel as one simple query.
 * The transaction commits asynchronously: all it does is delete pending entries, and one lost in a
 * crash only sends its row again, which consumers absorb by message id.
 *
 * Bitmap scans are off for the read. Without fresh statistics (a busy table between two autovacuum
 * runs) the planner may pick one, and a bitmap scan visits the heap row of every index entry a
 * published row's deleted entry left dead, where an ordered index scan flags them dead in the index and
 * skips them from then on (the read of the old published-mark design grew to 458 pages a read that way).
 */
export async function beginOutboxBatch(
  tx: Queryable,
  destination: OutboxDestination,
  lockKey: number,
  limit: number,
): Promise<{ locked: boolean; batch: OutboxRecord[] }> {
  if (!DESTINATIONS.includes(destination) || !Number.isSafeInteger(lockKey) || !Number.isSafeInteger(limit) || limit < 1) {
    throw new Error(`beginOutboxBatch: invalid destination ${destination}, lock ${lockKey} or limit ${limit}`);
  }
  const results = (await tx.query(
    `BEGIN; SET LOCAL synchronous_commit = off; SET LOCAL enable_bitmapscan = off;
     SELECT pg_try_advisory_xact_lock(${lockKey}) AS locked;
     WITH lock AS MATERIALIZED (SELECT pg_try_advisory_xact_lock(${lockKey}) AS held),
     pending AS MATERIALIZED (
       SELECT p.id FROM lock, outbox_pending p WHERE lock.held AND p.destination = '${destination}' ORDER BY p.id LIMIT ${limit}
     )
     SELECT ${OUTBOX_COLUMNS} FROM pending JOIN outbox o USING (id) ORDER BY o.id`,
  )) as unknown as { rows: Record<string, unknown>[] }[];
  const [lock, read] = results.slice(-2);
  const locked = lock!.rows[0]?.locked === true;
  return { locked, batch: locked ? read!.rows.map(toRecord) : [] };
}

/** The second round trip: the published rows are no longer pending; commits (see beginOutboxBatch). */
export async function commitOutboxBatch(tx: Queryable, destination: OutboxDestination, ids: number[]): Promise<void> {
  if (!DESTINATIONS.includes(destination) || !ids.every(Number.isSafeInteger)) throw new Error('commitOutboxBatch: invalid destination or ids');
  await tx.query(
    ids.length ? `DELETE FROM outbox_pending WHERE destination = '${destination}' AND id = ANY('{${ids.join(',')}}'::bigint[]); COMMIT` : 'COMMIT',
  );
}

/** The SQL condition that the outbox row aliased `alias` is still owed to its broker (for views of the outbox). */
export const outboxPendingCondition = (alias: string) =>
  `EXISTS (SELECT 1 FROM outbox_pending p WHERE p.destination = ${alias}.destination AND p.id = ${alias}.id)`;

/**
 * Deletes up to `limit` rows written more than `olderThanMs` ago and published, oldest first (retention
 * job). A pending row is never touched, whatever its age: it is a message still owed to a broker.
 */
export async function purgePublishedOutbox(db: Queryable, olderThanMs: number, limit: number): Promise<number> {
  const { rowCount } = await db.query(
    `DELETE FROM outbox WHERE id = ANY(ARRAY(
       SELECT o.id FROM outbox o WHERE o.created_at < now() - $1 * interval '1 millisecond' AND NOT ${outboxPendingCondition('o')}
       ORDER BY o.created_at LIMIT $2 FOR UPDATE SKIP LOCKED))`,
    [olderThanMs, limit],
  );
  return rowCount ?? 0;
}

/** Unpublished rows and the age of the oldest, for metrics and the admin stats. */
export async function outboxBacklog(pool: Pool): Promise<{ count: number; oldestAgeSeconds: number }> {
  const { rows } = await pool.query(
    `SELECT count(*)::int AS count, COALESCE(EXTRACT(EPOCH FROM now() - min(o.created_at)), 0)::float AS age
       FROM outbox_pending p JOIN outbox o USING (id)`,
  );
  return { count: rows[0].count, oldestAgeSeconds: rows[0].age };
}

/** The outbox as GET /status shows it: rows waiting, and how long the oldest has waited. */
export async function outboxStatus(pool: Pool): Promise<{ backlog: number; oldestAgeSeconds: number }> {
  const { count, oldestAgeSeconds } = await outboxBacklog(pool);
  return { backlog: count, oldestAgeSeconds: Math.round(oldestAgeSeconds * 1_000) / 1_000 };
}
