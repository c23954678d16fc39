import pg from 'pg';
import { databaseName } from '@orderflow/config';
import { databaseUrl } from '@orderflow/db';
import { testInfra } from '@orderflow/testing';
import type { System } from './system';

export type ServiceDb = 'orchestrator' | 'order' | 'inventory' | 'notification';

/** Runs one query against a service's database of this system (a short-lived connection). */
export async function queryDb<R extends pg.QueryResultRow = any>(
  system: Pick<System, 'prefix'>,
  service: ServiceDb,
  sql: string,
  params: unknown[] = [],
): Promise<R[]> {
  const client = new pg.Client({ connectionString: databaseUrl(testInfra().databaseUrl, databaseName(service, system.prefix)) });
  await client.connect();
  try {
    return (await client.query<R>(sql, params)).rows;
  } finally {
    await client.end();
  }
}
