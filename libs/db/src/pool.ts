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

/** Readiness check: a trivial query through the pool. */
export function postgresHealthCheck(pool: pg.Pool, name = 'postgres'): DependencyCheck {
  return { name, check: async () => void (await pool.query('SELECT 1')) };
}
