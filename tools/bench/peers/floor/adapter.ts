import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Pool } from 'pg';
import jwt from 'jsonwebtoken';
import { repoRoot } from '@orderflow/config';
import { createPool, databaseUrl, dropDatabase, ensureDatabase } from '@orderflow/db';
import { freePort, waitFor } from '@orderflow/testing';
import type { BenchTarget, OrderLine, OrderTiming, RoundOptions, RunningTarget, StockRow } from '../target';

const READY_TIMEOUT_MS = 30_000;
const EXIT_TIMEOUT_MS = 15_000;

/** The floor's database name for a round: lower-case letters, digits and underscores only. */
export function floorDatabaseName(label: string): string {
  return `bench_${label.toLowerCase().replace(/[^a-z0-9_]/g, '_')}_floor`.slice(0, 63);
}

// The order id an .eml file is about, read from its Subject (templates.ts: "Your order <id> …"): counting
// by content rather than by file name, so a second file for one order would show as a duplicate.
const SUBJECT_ORDER = /^Subject: Your order ([0-9a-f-]{36})\b/im;

function exited(child: ChildProcess): Promise<void> {
  return child.exitCode !== null || child.signalCode !== null ? Promise.resolve() : new Promise((resolve) => child.once('exit', () => resolve()));
}

async function startFloor({ label, env }: RoundOptions): Promise<RunningTarget> {
  const serverUrl = env.DATABASE_URL ?? process.env.DATABASE_URL;
  if (!serverUrl) throw new Error('the floor needs DATABASE_URL (the Postgres server) in the round env or the process env');
  const dbName = floorDatabaseName(label);
  // Fresh for every round: a leftover of an aborted round is dropped first.
  await dropDatabase(serverUrl, dbName);
  await ensureDatabase(serverUrl, dbName);
  const dbUrl = databaseUrl(serverUrl, dbName);
  const mailDir = await mkdtemp(join(tmpdir(), `bench-${label.replace(/[^A-Za-z0-9_-]/g, '_')}-floor-`));
  const secret = randomBytes(32).toString('hex');
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const script = join(repoRoot(__dirname), 'dist/bench-floor/main.js');
  // The adapter's own connections, opened when first needed and closed by `stop`, so their statistics
  // are flushed before the harness reads the server's counters.
  let pool: Pool | undefined;
  const db = () => (pool ??= createPool(dbUrl, 2));
  async function closePool(): Promise<void> {
    const open = pool;
    pool = undefined;
    await open?.end();
  }

  let child: ChildProcess | undefined;
  async function launch(): Promise<void> {
    const proc = spawn(process.execPath, [script], {
      env: { ...process.env, LOG_LEVEL: 'warn', ...env, PORT: String(port), DATABASE_URL: dbUrl, JWT_SECRET: secret, MAIL_DIR: mailDir },
      // stderr straight through, so a crash is seen; stdout carries nothing the harness needs.
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    child = proc;
    const gone = new AbortController();
    proc.once('exit', (code, signal) => gone.abort(new Error(`bench-floor exited (${signal ?? `code ${code}`}) before it was ready`)));
    await waitFor(
      async () => {
        const res = await fetch(`${url}/readyz`, { signal: AbortSignal.timeout(1_000) });
        return res.status === 200;
      },
      { timeoutMs: READY_TIMEOUT_MS, intervalMs: 50, what: `bench-floor on ${url}/readyz`, signal: gone.signal },
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

  try {
    await launch();
  } catch (error) {
    await terminate('SIGKILL');
    await dropDatabase(serverUrl, dbName).catch(() => undefined);
    await rm(mailDir, { recursive: true, force: true });
    throw error;
  }

  return {
    url,
    databases: [dbName],
    sign: (sub, role) => jwt.sign({ sub, role }, secret, { algorithm: 'HS256', expiresIn: '24h' }),
    appPids: () => new Map(child?.pid ? [['floor', child.pid]] : []),
    async killAndRestart() {
      await terminate('SIGKILL');
      await launch();
    },
    async stop() {
      await terminate('SIGTERM');
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
    async orderLines(ids: string[]): Promise<OrderLine[]> {
      const { rows } = await db().query(
        'SELECT o.id, o.status, i.sku, i.quantity FROM orders o JOIN order_items i ON i.order_id = o.id WHERE o.id = ANY($1::uuid[]) ORDER BY o.id, i.line',
        [ids],
      );
      return rows.map((r) => ({ id: r.id, status: r.status, sku: r.sku, quantity: r.quantity }));
    },
    async stock(skus: string[]): Promise<StockRow[]> {
      const { rows } = await db().query('SELECT sku, on_hand, reserved FROM products WHERE sku = ANY($1::text[]) ORDER BY sku', [skus]);
      return rows.map((r) => ({ sku: r.sku, onHand: r.on_hand, reserved: r.reserved }));
    },
    // Only orders with at least one e-mail are in the map (the harness waits until every id is).
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
