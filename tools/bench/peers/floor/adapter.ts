import { randomBytes } from 'node:crypto';
import { rm } from 'node:fs/promises';
import type { Pool } from 'pg';
import { createPool, databaseUrl, dropDatabase, ensureDatabase } from '@orderflow/db';
import { createMailDir, emailsPerOrder, orderLines, stock, tokenSigner } from '../peer-adapter';
import { createPeerProcess } from '../peer-process';
import type { BenchTarget, OrderTiming, RoundOptions, RunningTarget } from '../target';

/** The floor's database name for a round: lower-case letters, digits and underscores only. */
export function floorDatabaseName(label: string): string {
  return `bench_${label.toLowerCase().replace(/[^a-z0-9_]/g, '_')}_floor`.slice(0, 63);
}

async function startFloor({ label, env }: RoundOptions): Promise<RunningTarget> {
  const serverUrl = env.DATABASE_URL ?? process.env.DATABASE_URL;
  if (!serverUrl) throw new Error('the floor needs DATABASE_URL (the Postgres server) in the round env or the process env');
  const dbName = floorDatabaseName(label);
  // Fresh for every round: a leftover of an aborted round is dropped first.
  await dropDatabase(serverUrl, dbName);
  await ensureDatabase(serverUrl, dbName);
  const dbUrl = databaseUrl(serverUrl, dbName);
  const mailDir = await createMailDir(label, 'floor');
  const secret = randomBytes(32).toString('hex');
  const server = await createPeerProcess({ bundle: 'bench-floor', roundEnv: env, env: { DATABASE_URL: dbUrl, JWT_SECRET: secret, MAIL_DIR: mailDir } });
  // The adapter's own connections, opened when first needed and closed by `stop`, so their statistics
  // are flushed before the harness reads the server's counters.
  let pool: Pool | undefined;
  const db = () => (pool ??= createPool(dbUrl, 2));
  async function closePool(): Promise<void> {
    const open = pool;
    pool = undefined;
    await open?.end();
  }

  try {
    await server.launch();
  } catch (error) {
    await server.terminate('SIGKILL');
    await dropDatabase(serverUrl, dbName).catch(() => undefined);
    await rm(mailDir, { recursive: true, force: true });
    throw error;
  }

  return {
    url: server.url,
    databases: [dbName],
    sign: tokenSigner(secret),
    appPids: () => server.appPids('floor'),
    killAndRestart: () => server.killAndRestart(),
    async stop() {
      await server.terminate('SIGTERM');
      await closePool();
    },
    async cleanup() {
      await closePool();
      await dropDatabase(serverUrl, dbName);
      await rm(mailDir, { recursive: true, force: true });
    },
    async timings(ids: string[]): Promise<OrderTiming[]> {
      // Terminal at commit: placed and finished are the same instant.
      const { rows } = await db().query('SELECT id, status, created_at FROM orders WHERE id = ANY($1::uuid[])', [ids]);
      return rows.map((r) => ({ id: r.id, placedAt: r.created_at, finishedAt: r.created_at, outcome: r.status }));
    },
    orderLines: (ids) => orderLines(db(), ids),
    stock: (skus) => stock(db(), skus),
    emailsPerOrder: (ids) => emailsPerOrder(mailDir, ids),
    async idempotencyKeys(callerPrefix: string) {
      const { rows } = await db().query(
        'SELECT count(*)::int AS keys, count(DISTINCT order_id)::int AS orders FROM idempotency_keys WHERE left(caller, length($1)) = $1',
        [callerPrefix],
      );
      return { keys: rows[0].keys, distinctOrders: rows[0].orders };
    },
  };
}

export const floorTarget: BenchTarget = {
  name: 'floor',
  description: 'one node:http process, one Postgres transaction per order, e-mail files written by an in-process loop; PG_POOL_SIZE=16',
  start: startFloor,
};
