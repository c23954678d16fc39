import { createHash } from 'node:crypto';
import pg from 'pg';
import { parseEnv, postgresEnv } from '@orderflow/config';
import type { DependencyCheck } from '@orderflow/platform';

// Postgres bigint (int8) arrives as a string by default; our int8 columns hold cents and counts far
// below 2^53, so numbers are safe and simpler for callers.
pg.types.setTypeParser(pg.types.builtins.INT8, (value) => Number(value));

/** The URL of database `name` on the server that `serverUrl` points at (same host, user, options). */
export function databaseUrl(serverUrl: string, name: string): string {
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  return url.toString();
}

/** The PG_* timeouts of libs/config `postgresEnv`, as parsed (an app passes its whole config). */
export type PoolTimeouts = { [K in keyof typeof postgresEnv]: number };

/** The documented defaults, for pools of tests and tools. */
export const DEFAULT_POOL_TIMEOUTS: PoolTimeouts = parseEnv(postgresEnv, {});

/**
 * A connection pool for one service database. Every wait is bounded: getting a connection, each
 * statement (cancelled by Postgres), each round trip (a frozen server), and a transaction left idle.
 */
export function createPool(connectionString: string, max = 10, timeouts: PoolTimeouts = DEFAULT_POOL_TIMEOUTS): pg.Pool {
  const pool = new pg.Pool({
    connectionString,
    max,
    idleTimeoutMillis: 30_000,
    connectionTimeoutMillis: timeouts.PG_CONNECT_TIMEOUT_MS,
    statement_timeout: timeouts.PG_STATEMENT_TIMEOUT_MS,
    query_timeout: timeouts.PG_QUERY_TIMEOUT_MS,
    idle_in_transaction_session_timeout: timeouts.PG_IDLE_IN_TRANSACTION_TIMEOUT_MS,
  });
  // An idle client losing its connection (server restart) must not crash the process; the pool replaces it.
  pool.on('error', () => undefined);
  // Nor may a checked-out one (the pool listens only while a client is idle): Postgres ending a
  // transaction left idle too long would be an unhandled 'error'. Its next query fails instead, and
  // the pool discards it on release.
  pool.on('connect', (client) => client.on('error', () => undefined));
  return pool;
}

const statementNames = new Map<string, string>();

/**
 * `text` as a named prepared statement: Postgres parses and plans it once per connection (and after a
 * few runs keeps a generic plan) instead of on every call. Planning alone was a fifth of the time
 * Postgres spent on the batched statements of an order. The name is a digest of the text, so each
 * variant a statement builder makes is its own statement.
 *
 * Only for statements whose result columns are listed: a prepared statement returning a table's `*`
 * fails ("cached plan must not change result type") once a migration changed that table, for as long
 * as its connection lives.
 */
export function prepared(text: string, values: unknown[]): pg.QueryConfig {
  let name = statementNames.get(text);
  if (name === undefined) {
    name = `p${createHash('sha1').update(text).digest('base64url').slice(0, 22)}`;
    // A bound on the cache only; builders make a handful of texts each.
    if (statementNames.size < 1_000) statementNames.set(text, name);
  }
  return { name, text, values };
}

/**
 * Rolls back the failed transaction of a checked-out client. Returns what to pass to `release()`: an
 * error (the pool then discards the client) when it cannot be trusted — the rollback failed, or a
 * client-side query timeout left its statement running (a rollback would queue behind it, and so
 * would the next borrower's queries).
 */
export async function rollbackTransaction(client: pg.PoolClient, cause: unknown): Promise<Error | undefined> {
  if (cause instanceof Error && cause.message === 'Query read timeout') return cause;
  return client.query('ROLLBACK').then(
    () => undefined,
    (error: Error) => error,
  );
}

/** Runs `work` in one transaction on a pooled client: committed if it resolves, rolled back if it throws. */
export async function inTransaction<T>(pool: pg.Pool, work: (tx: pg.PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  let broken: Error | undefined;
  try {
    await client.query('BEGIN');
    const result = await work(client);
    await client.query('COMMIT');
    return result;
  } catch (error) {
    broken = await rollbackTransaction(client, error);
    throw error;
  } finally {
    client.release(broken);
  }
}

/**
 * Health check on a connection of its own (the pool's settings), kept open between checks: a pool
 * busy with traffic must not make the database look down — readiness would then fail under load —
 * and no check opens a connection while the last one still works. A failed check drops it.
 */
export function postgresHealthCheck(pool: pg.Pool, name = 'postgres'): DependencyCheck {
  let client: Promise<pg.Client> | undefined;
  const connected = () =>
    (client ??= (async () => {
      const c = new pg.Client(pool.options);
      c.on('error', () => undefined); // a lost connection fails the next check, which reconnects
      await c.connect();
      return c;
    })());
  const close = async () => {
    const current = client;
    client = undefined;
    await (await current?.catch(() => undefined))?.end().catch(() => undefined);
  };
  return {
    name,
    async check() {
      try {
        await (await connected()).query('SELECT 1');
      } catch (error) {
        await close();
        throw error;
      }
    },
    close,
  };
}

/**
 * Start-up check that the service database has been migrated at least to `migration` (the newest one
 * this build knows): an app deployed before its migrations ran waits, then stops saying what to do,
 * instead of failing on its first query.
 */
export function schemaCheck(pool: pg.Pool, migration: string | undefined): DependencyCheck {
  return {
    name: 'schema',
    async check() {
      if (!migration) return; // not a built app (tests running sources)
      const { rows } = await pool.query(`SELECT to_regclass('pgmigrations') IS NOT NULL AS migrated`);
      const applied = rows[0].migrated && (await pool.query('SELECT 1 FROM pgmigrations WHERE name = $1', [migration])).rowCount === 1;
      if (!applied) throw new Error(`the database is not migrated to ${migration}; run \`make migrate\` (or the migration Job)`);
    },
  };
}

declare const ORDERFLOW_SCHEMA_VERSION: string | undefined;

/** The newest migration this build of the app needs (set by scripts/build.mjs; undefined when running sources). */
export const requiredSchemaVersion: string | undefined = typeof ORDERFLOW_SCHEMA_VERSION === 'string' ? ORDERFLOW_SCHEMA_VERSION : undefined;
