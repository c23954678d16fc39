// The DBOS Transact peer as a benchmark target: dist/bench-dbos/main.js with two fresh databases on the
// round's Postgres server (its application database and the DBOS system database), a fresh mail
// directory and token secret. The read side queries those databases and the mail directory directly.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import jwt from 'jsonwebtoken';
import type { Pool } from 'pg';
import { repoRoot } from '@orderflow/config';
import { createPool, databaseUrl, dropDatabase, ensureDatabase } from '@orderflow/db';
import { freePort, waitFor } from '@orderflow/testing';
import type { BenchTarget, OrderLine, OrderTiming, RoundOptions, RunningTarget, StockRow } from '../target';

const READY_TIMEOUT_MS = 30_000;
const EXIT_TIMEOUT_MS = 15_000;
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

// The order id an .eml file is about, read from its Subject (apps/notification/src/templates.ts: "Your order <id> …"):
// counted by content rather than by file name, so a second file for one order would show as a duplicate.
const SUBJECT_ORDER = /^Subject: Your order ([0-9a-f-]{36})\b/im;

/** `text` as a LIKE pattern that matches itself literally (escape character `\`). */
const likeLiteral = (text: string) => text.replace(/[\\%_]/g, (c) => `\\${c}`);

function exited(child: ChildProcess): Promise<void> {
  return child.exitCode !== null || child.signalCode !== null ? Promise.resolve() : new Promise((resolve) => child.once('exit', () => resolve()));
}

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
  const mailDir = await mkdtemp(join(tmpdir(), `bench-${label.replace(/[^A-Za-z0-9_-]/g, '_')}-dbos-`));
  const secret = randomBytes(32).toString('hex');
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const script = join(repoRoot(__dirname), 'dist/bench-dbos/main.js');

  // The adapter's own connections, opened when first needed and closed by `stop`, so their statistics
  // are flushed before the harness reads the server's counters.
  let pools: { app: Pool; system: Pool } | undefined;
  const db = () => (pools ??= { app: createPool(appUrl, 2), system: createPool(systemUrl, 1) });
  async function closePools(): Promise<void> {
    const open = pools;
    pools = undefined;
    if (open) await Promise.all([open.app.end(), open.system.end()]);
  }

  let child: ChildProcess | undefined;
  /** Starts the process with the round's config (the same every time, so it recovers its own workflows) and waits until it is ready. */
  async function launch(): Promise<void> {
    const proc = spawn(process.execPath, [script], {
      env: { ...process.env, LOG_LEVEL: 'warn', ...env, PORT: String(port), DATABASE_URL: appUrl, DBOS_SYSTEM_DATABASE_URL: systemUrl, JWT_SECRET: secret, MAIL_DIR: mailDir },
      // stderr straight through, so a crash is seen; stdout carries nothing the harness needs.
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    child = proc;
    const gone = new AbortController();
    proc.once('exit', (code, signal) => gone.abort(new Error(`bench-dbos exited (${signal ?? `code ${code}`}) before it was ready`)));
    await waitFor(
      async () => {
        const res = await fetch(`${url}/readyz`, { signal: AbortSignal.timeout(1_000) });
        return res.status === 200;
      },
      { timeoutMs: READY_TIMEOUT_MS, intervalMs: 50, what: `bench-dbos on ${url}/readyz`, signal: gone.signal },
    );
  }

  async function terminate(signal: NodeJS.Signals): Promise<void> {
    const proc = child;
    if (!proc) return;
    const done = exited(proc);
    proc.kill(signal);
    const late = setTimeout(() => proc.kill('SIGKILL'), EXIT_TIMEOUT_MS);
    await done;
    clearTimeout(late);
    child = undefined;
  }

  async function cleanup(): Promise<void> {
    await closePools();
    await dropAll(); // WITH (FORCE): ends whatever session is left
    await rm(mailDir, { recursive: true, force: true });
  }

  try {
    await launch();
  } catch (error) {
    await terminate('SIGKILL');
    await cleanup().catch(() => undefined);
    throw error;
  }

  return {
    url,
    databases: [names.app, names.system],
    sign: (sub, role) => jwt.sign({ sub, role }, secret, { algorithm: 'HS256', expiresIn: '24h' }),
    appPids: () => new Map(child?.pid ? [['dbos', child.pid]] : []),
    async killAndRestart() {
      await terminate('SIGKILL');
      await launch();
    },
    async stop() {
      await terminate('SIGTERM');
      await closePools();
    },
    cleanup,
    async timings(ids: string[]): Promise<OrderTiming[]> {
      const { rows } = await db().app.query('SELECT id, status, placed_at, finished_at FROM orders WHERE id = ANY($1::uuid[])', [ids]);
      return rows.map((r) => ({ id: r.id, placedAt: r.placed_at, finishedAt: r.finished_at, outcome: r.status === 'PENDING' ? null : r.status }));
    },
    async orderLines(ids: string[]): Promise<OrderLine[]> {
      const { rows } = await db().app.query(
        'SELECT o.id, o.status, i.sku, i.quantity FROM orders o JOIN order_items i ON i.order_id = o.id WHERE o.id = ANY($1::uuid[]) ORDER BY o.id, i.line',
        [ids],
      );
      return rows.map((r) => ({ id: r.id, status: r.status, sku: r.sku, quantity: r.quantity }));
    },
    async stock(skus: string[]): Promise<StockRow[]> {
      const { rows } = await db().app.query('SELECT sku, on_hand, reserved FROM products WHERE sku = ANY($1::text[]) ORDER BY sku', [skus]);
      return rows.map((r) => ({ sku: r.sku, onHand: r.on_hand, reserved: r.reserved }));
    },
    // Only orders with at least one e-mail file are in the map.
    async emailsPerOrder(ids: string[]): Promise<Map<string, number>> {
      const wanted = new Set(ids);
      const counts = new Map<string, number>();
      const files = (await readdir(mailDir)).filter((f) => f.endsWith('.eml'));
      for (const file of files) {
        const text = await readFile(join(mailDir, file), 'utf8').catch(() => ''); // gone meanwhile: not counted
        const id = SUBJECT_ORDER.exec(text)?.[1];
        if (id && wanted.has(id)) counts.set(id, (counts.get(id) ?? 0) + 1);
      }
      return counts;
    },
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
