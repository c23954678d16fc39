import type { Pool, PoolClient } from 'pg';
import type { Logger } from 'pino';
import { Counter, type Registry } from 'prom-client';

/** What a purge runs its statements on: the job's own checked-out connection, outside any transaction. */
export type Queryable = Pick<PoolClient, 'query'>;

/** One table's bounded life: which rows are done with, and after how long they go. */
export interface RetentionPolicy {
  /** The table: the `table` label of the metric, the log field, and the name of its advisory lock. */
  name: string;
  /** A finished row older than this (by the table's own "finished" time) is purged. */
  olderThanMs: number;
  /**
   * Deletes at most `limit` finished rows older than `olderThanMs` in one short statement (skipping
   * rows someone holds locked) and resolves how many; owned by the module that owns the table.
   */
  purge(db: Queryable, olderThanMs: number, limit: number): Promise<number>;
}

/**
 * The purge of a table whose row is done once its `finishedAt` column is set: deletes up to `limit`
 * rows finished more than `olderThanMs` ago, oldest first, by `key`, skipping rows someone holds
 * locked (index `finishedAt`). The names are the owning module's constants, never input.
 */
export function purgeByAge(table: string, key: string, finishedAt: string): RetentionPolicy['purge'] {
  const sql = `DELETE FROM ${table} WHERE ${key} = ANY(ARRAY(
       SELECT ${key} FROM ${table} WHERE ${finishedAt} < now() - $1 * interval '1 millisecond' ORDER BY ${finishedAt} LIMIT $2 FOR UPDATE SKIP LOCKED))`;
  return async (db, olderThanMs, limit) => (await db.query(sql, [olderThanMs, limit])).rowCount ?? 0;
}

export interface RetentionJobOptions {
  pool: Pool;
  jobs: RetentionPolicy[];
  /** Pause between the end of one round and the start of the next. */
  intervalMs: number;
  logger: Logger;
  /** Where `orderflow_retention_purged_rows_total{table}` is registered (none in tests that do not read it). */
  registry?: Registry;
  /** Rows per DELETE: small enough that a statement takes milliseconds and holds few row locks. */
  batchSize?: number;
}

/** Rows purged per table in one round; `skipped` when another replica held the table's lock, `failed` when a statement failed (logged). */
export type RetentionRound = Record<string, number | 'skipped' | 'failed'>;

export interface RetentionJob {
  /** Runs a round now, then one `intervalMs` after each round ends. */
  start(): void;
  /** One round (what start() repeats); resolves once every table is done or skipped. */
  runOnce(): Promise<RetentionRound>;
  /** Stops scheduling, and ends the round under way after its current batch. */
  stop(): Promise<void>;
}

// Advisory locks are per database; the two-key form keeps ours apart from the outbox relay's (one key).
const LOCK_CLASS = 0x7e7e;

/**
 * Purges what each table no longer needs, in small batches, one replica at a time per table: a round
 * takes the table's session advisory lock with pg_try_advisory_lock (a replica that does not get it
 * skips the table this round), then deletes `batchSize` rows per autocommit statement until a batch
 * comes back short. No transaction spans batches and no table lock is taken, so writers never wait.
 */
export function createRetentionJob(options: RetentionJobOptions): RetentionJob {
  const { pool, jobs, intervalMs, logger, batchSize = 500 } = options;
  const purged = options.registry
    ? new Counter({
        name: 'orderflow_retention_purged_rows_total',
        help: 'Rows deleted by the retention job, by table',
        labelNames: ['table'],
        registers: [options.registry],
      })
    : undefined;
  for (const job of jobs) purged?.inc({ table: job.name }, 0);
  let scheduled = false;
  let stopping = false;
  let timer: NodeJS.Timeout | undefined;
  let round: Promise<RetentionRound> | undefined;

  /** Purges one table if this replica gets its lock; undefined when another one holds it. */
  async function purgeTable(job: RetentionPolicy): Promise<number | undefined> {
    const client = await pool.connect();
    try {
      const { rows } = await client.query('SELECT pg_try_advisory_lock($1, hashtext($2)) AS locked', [LOCK_CLASS, job.name]);
      if (!rows[0].locked) {
        client.release();
        return undefined;
      }
      let total = 0;
      for (;;) {
        const n = await job.purge(client, job.olderThanMs, batchSize);
        total += n;
        purged?.inc({ table: job.name }, n);
        if (n < batchSize || stopping) break;
      }
      await client.query('SELECT pg_advisory_unlock($1, hashtext($2))', [LOCK_CLASS, job.name]);
      client.release();
      return total;
    } catch (error) {
      // Dropping the connection ends its session, and with it the lock, whatever state it is in.
      client.release(error instanceof Error ? error : new Error(String(error)));
      throw error;
    }
  }

  async function runOnce(): Promise<RetentionRound> {
    const result: RetentionRound = {};
    for (const job of jobs) {
      if (stopping) break;
      const started = Date.now();
      try {
        const n = await purgeTable(job);
        result[job.name] = n ?? 'skipped';
        if (n === undefined) logger.debug({ table: job.name }, 'retention purge skipped: another replica holds the lock');
        else if (n > 0) logger.info({ table: job.name, purged: n, durationMs: Date.now() - started }, 'retention purge');
      } catch (error) {
        result[job.name] = 'failed';
        logger.warn({ err: error, table: job.name }, 'retention purge failed; retried next round');
      }
    }
    return result;
  }

  async function tick(): Promise<void> {
    round = runOnce();
    await round;
    round = undefined;
    if (scheduled) timer = setTimeout(() => void tick(), intervalMs);
  }

  return {
    start() {
      if (scheduled) return;
      scheduled = true;
      stopping = false;
      void tick();
    },
    runOnce,
    async stop() {
      scheduled = false;
      stopping = true;
      clearTimeout(timer);
      await round;
    },
  };
}
