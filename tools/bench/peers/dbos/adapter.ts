// The DBOS Transact peer as a benchmark target: dist/bench-dbos/main.js with two fresh databases on the
// round's Postgres server (its application database and the DBOS system database), a fresh mail
// directory and token secret. The read side queries those databases and the mail directory directly.
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { Pool } from 'pg';
import { createPool, databaseUrl, dropDatabase, ensureDatabase } from '@orderflow/db';
import { createMailDir, emailsPerOrder, orderLines, stock, tokenSigner } from '../peer-adapter';
import { createPeerProcess } from '../peer-process';
import type { BenchTarget, OrderTiming, RoundOptions, RunningTarget } from '../target';

/** The installed SDK's version, for the report. Its exports map hides package.json: found from the entry point (dist/src/index.js). */
function dbosVersion(): string {
  try {
    return (JSON.parse(readFileSync(join(dirname(require.resolve('@dbos-inc/dbos-sdk')), '../../package.json'), 'utf8')) as { version: string }).version;
  } catch {
    return '(version unknown)'; // not installed (dev dependency): start() fails anyway, the report line need not
  }
}

/** The peer's database names for a round (lower-case letters, digits and underscores): its app database and DBOS's system database. */
export function dbosDatabaseNames(label: string): { app: string; system: string } {
  const base = `bench_${label.toLowerCase().replace(/[^a-z0-9_]/g, '_')}`.slice(0, 50);
  return { app: `${base}_dbos`, system: `${base}_dbos_sys` };
}

/** `text` as a LIKE pattern that matches itself literally (escape character `\`). */
const likeLiteral = (text: string) => text.replace(/[\\%_]/g, (c) => `\\${c}`);

async function startDbos({ label, env }: RoundOptions): Promise<RunningTarget> {
  const serverUrl = env.DATABASE_URL ?? process.env.DATABASE_URL;
  if (!serverUrl) throw new Error('the DBOS peer needs DATABASE_URL (the Postgres server) in the round env or the process env');
  const names = dbosDatabaseNames(label);
  const dropAll = () => Promise.all([dropDatabase(serverUrl, names.app), dropDatabase(serverUrl, names.system)]);
  // Fresh for every round: a leftover of an aborted round is dropped first. DBOS migrates its system database on launch.
  await dropAll();
  await Promise.all([ensureDatabase(serverUrl, names.app), ensureDatabase(serverUrl, names.system)]);
  const appUrl = databaseUrl(serverUrl, names.app);
  const systemUrl = databaseUrl(serverUrl, names.system);
  const mailDir = await createMailDir(label, 'dbos');
  const secret = randomBytes(32).toString('hex');
  // The same config on every launch, so a restarted process recovers its own workflows.
  const server = await createPeerProcess({
    bundle: 'bench-dbos',
    roundEnv: env,
    env: { DATABASE_URL: appUrl, DBOS_SYSTEM_DATABASE_URL: systemUrl, JWT_SECRET: secret, MAIL_DIR: mailDir },
  });

  // The adapter's own connections, opened when first needed and closed by `stop`, so their statistics
  // are flushed before the harness reads the server's counters.
  let pools: { app: Pool; system: Pool } | undefined;
  const db = () => (pools ??= { app: createPool(appUrl, 2), system: createPool(systemUrl, 1) });
  async function closePools(): Promise<void> {
    const open = pools;
    pools = undefined;
    if (open) await Promise.all([open.app.end(), open.system.end()]);
  }

  async function cleanup(): Promise<void> {
    await closePools();
    await dropAll(); // WITH (FORCE): ends whatever session is left
    await rm(mailDir, { recursive: true, force: true });
  }

  try {
    await server.launch();
  } catch (error) {
    await server.terminate('SIGKILL');
    await cleanup().catch(() => undefined);
    throw error;
  }

  return {
    url: server.url,
    databases: [names.app, names.system],
    sign: tokenSigner(secret),
    appPids: () => server.appPids('dbos'),
    killAndRestart: () => server.killAndRestart(),
    async stop() {
      await server.terminate('SIGTERM');
      await closePools();
    },
    cleanup,
    async timings(ids: string[]): Promise<OrderTiming[]> {
      const { rows } = await db().app.query('SELECT id, status, placed_at, finished_at FROM orders WHERE id = ANY($1::uuid[])', [ids]);
      return rows.map((r) => ({ id: r.id, placedAt: r.placed_at, finishedAt: r.finished_at, outcome: r.status === 'PENDING' ? null : r.status }));
    },
    orderLines: (ids) => orderLines(db().app, ids),
    stock: (skus) => stock(db().app, skus),
    emailsPerOrder: (ids) => emailsPerOrder(mailDir, ids),
    // Keys: the workflows DBOS stored (one per caller + key, whatever happened to the requests); orders: those they recorded.
    async idempotencyKeys(callerPrefix: string) {
      const pattern = `${likeLiteral(callerPrefix)}%`;
      const [keys, orders] = await Promise.all([
        db().system.query(`SELECT count(*)::int AS n FROM dbos.workflow_status WHERE workflow_uuid LIKE $1 AND name = 'placeOrder'`, [pattern]),
        db().app.query('SELECT count(DISTINCT id)::int AS n FROM orders WHERE workflow_id LIKE $1', [pattern]),
      ]);
      return { keys: keys.rows[0].n, distinctOrders: orders.rows[0].n };
    },
  };
}

export const dbosTarget: BenchTarget = {
  name: 'dbos',
  description: `DBOS Transact ${dbosVersion()} (TypeScript): the order as a durable workflow of three DBOS transactions (reserve with the order record, confirm or reject, e-mail) on plain node:http, app and system databases on the same Postgres; PG_POOL_SIZE=16 for both pools`,
  start: startDbos,
};
