import { join } from 'node:path';
import { runner } from 'node-pg-migrate';
import pg from 'pg';
import { repoRoot } from '@orderflow/config';
import { databaseUrl, ensureDatabase } from './databases';

/** The services that own a database, each with migrations in `db/<service>/`. */
export const SERVICES = ['orchestrator', 'order', 'inventory', 'notification'] as const;
export type Service = (typeof SERVICES)[number];

export interface MigrateOptions {
  /** Server URL (DATABASE_URL); the database itself is `databaseName`. */
  serverUrl: string;
  service: Service;
  databaseName: string;
  direction?: 'up' | 'down';
  /** How many migrations to apply; default all for up, and all for down too (a full reset). */
  count?: number;
  migrationsRoot?: string;
  log?: (message: string) => void;
}

/** Creates the service database if missing and runs its node-pg-migrate migrations. Returns the names applied. */
export async function migrate(options: MigrateOptions): Promise<string[]> {
  const { serverUrl, service, databaseName, direction = 'up', count = Infinity, log = () => undefined } = options;
  await ensureDatabase(serverUrl, databaseName);
  // Our own client, ended before we return: node-pg-migrate does not wait for the end of one it opens,
  // so a DROP DATABASE right after (tests, resets) could kill it mid-goodbye, an unhandled 'error'.
  const client = new pg.Client({ connectionString: databaseUrl(serverUrl, databaseName) });
  client.on('error', () => undefined); // a dropped connection surfaces as the failed query instead
  await client.connect();
  try {
    const applied = await runner({
      dbClient: client,
      dir: join(options.migrationsRoot ?? join(repoRoot(), 'db'), service),
      direction,
      count,
      migrationsTable: 'pgmigrations',
      checkOrder: true,
      singleTransaction: true,
      log,
      logger: { debug: () => undefined, info: log, warn: log, error: log },
    });
    return applied.map((m) => m.name);
  } finally {
    await client.end();
  }
}
