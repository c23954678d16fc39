import pg from 'pg';
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

/** A connection pool for one service database. */
export function createPool(connectionString: string, max = 10): pg.Pool {
  const pool = new pg.Pool({ connectionString, max, connectionTimeoutMillis: 5_000, idleTimeoutMillis: 30_000 });
  // An idle client losing its connection (server restart) must not crash the process; the pool replaces it.
  pool.on('error', () => undefined);
  return pool;
}

/** Runs `work` in one transaction on a pooled client: committed if it resolves, rolled back if it throws. */
export async function inTransaction<T>(pool: pg.Pool, work: (tx: pg.PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    const result = await work(client);
    await client.query('COMMIT');
    return result;
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  } finally {
    client.release();
  }
}

/** Readiness check: a trivial query through the pool. */
export function postgresHealthCheck(pool: pg.Pool, name = 'postgres'): DependencyCheck {
  return { name, check: async () => void (await pool.query('SELECT 1')) };
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
