// The retention runner against a real Postgres, on a scratch table of its own: what goes, in how many
// statements, and that two replicas never purge one table in the same round.
import pino from 'pino';
import type pg from 'pg';
import { Registry } from 'prom-client';
import { createTestDatabase, waitFor, type TestDatabase } from '@orderflow/testing';
import { createPool } from './pool';
import { createRetentionJob, type Queryable, type RetentionJob, type RetentionPolicy } from './retention';

const logger = pino({ level: 'silent' });
const HOUR_MS = 3_600_000;

let db: TestDatabase;
const pools: pg.Pool[] = [];
const jobs: RetentionJob[] = [];

beforeAll(async () => {
  db = await createTestDatabase('notification', 'retention_runner');
});
afterAll(async () => {
  await db.drop();
});
let pool: pg.Pool;
beforeEach(async () => {
  pool = newPool();
  await pool.query('DROP TABLE IF EXISTS items; CREATE TABLE items (id serial PRIMARY KEY, done_at timestamptz)');
});
afterEach(async () => {
  await Promise.all(jobs.splice(0).map((j) => j.stop()));
  await Promise.all(pools.splice(0).map((p) => p.end()));
});

function newPool(): pg.Pool {
  const created = createPool(db.url, 3);
  pools.push(created);
  return created;
}

/** `n` rows finished `ageMs` ago (null: not finished). */
const addItems = (n: number, ageMs: number | null) =>
  pool.query(
    `INSERT INTO items (done_at) SELECT CASE WHEN $2::float IS NULL THEN NULL ELSE now() - $2::float * interval '1 millisecond' END FROM generate_series(1, $1)`,
    [n, ageMs],
  );
const remaining = async () => (await pool.query('SELECT count(*)::int AS n FROM items')).rows[0].n as number;

const purgeItems = (db: Queryable, olderThanMs: number, limit: number) =>
  db
    .query(
      `DELETE FROM items WHERE id IN (SELECT id FROM items WHERE done_at < now() - $1 * interval '1 millisecond' ORDER BY done_at LIMIT $2 FOR UPDATE SKIP LOCKED)`,
      [olderThanMs, limit],
    )
    .then((r) => r.rowCount ?? 0);

function job(options: { purge?: RetentionPolicy['purge']; registry?: Registry; batchSize?: number; intervalMs?: number; on?: pg.Pool } = {}): RetentionJob {
  const created = createRetentionJob({
    pool: options.on ?? pool,
    jobs: [{ name: 'items', olderThanMs: HOUR_MS, purge: options.purge ?? purgeItems }],
    intervalMs: options.intervalMs ?? 60_000,
    logger,
    batchSize: options.batchSize ?? 100,
    ...(options.registry ? { registry: options.registry } : {}),
  });
  jobs.push(created);
  return created;
}

describe('a retention job', () => {
  it('deletes every row past its age in batches until one comes back short, and nothing else', async () => {
    await addItems(1_050, 2 * HOUR_MS);
    await addItems(5, HOUR_MS - 60_000); // a minute inside the window
    await addItems(3, null); // not finished
    const registry = new Registry();
    let statements = 0;
    const counted: RetentionPolicy['purge'] = (db, olderThanMs, limit) => (statements++, purgeItems(db, olderThanMs, limit));

    expect(await job({ purge: counted, registry }).runOnce()).toEqual({ items: 1_050 });

    expect(statements).toBe(11); // ten full batches of 100, then one of 50
    expect(await remaining()).toBe(8);
    const metric = (await registry.getMetricsAsJSON()).find((m) => m.name === 'orderflow_retention_purged_rows_total');
    expect(metric?.values).toEqual([expect.objectContaining({ labels: { table: 'items' }, value: 1_050 })]);
  });

  it('lets only one of two replicas purge a table in a round: the other skips it', async () => {
    await addItems(250, 2 * HOUR_MS);
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    let entered!: () => void;
    const inFirstBatch = new Promise<void>((resolve) => (entered = resolve));
    const held: RetentionPolicy['purge'] = async (db, olderThanMs, limit) => {
      entered();
      await gate;
      return purgeItems(db, olderThanMs, limit);
    };
    let secondPurged = 0;
    const counting: RetentionPolicy['purge'] = async (db, olderThanMs, limit) => {
      const n = await purgeItems(db, olderThanMs, limit);
      secondPurged += n;
      return n;
    };
    const first = job({ purge: held, on: newPool() });
    const second = job({ purge: counting, on: newPool() });

    const firstRound = first.runOnce();
    await inFirstBatch;
    expect(await second.runOnce()).toEqual({ items: 'skipped' });
    release();
    expect(await firstRound).toEqual({ items: 250 });
    expect(secondPurged).toBe(0);

    // The lock went with the round: the next round of the other replica takes it.
    await addItems(7, 2 * HOUR_MS);
    expect(await second.runOnce()).toEqual({ items: 7 });
  });

  it('gives the lock up with the connection when a statement fails, so the next round runs', async () => {
    await addItems(20, 2 * HOUR_MS);
    const failing = job({ purge: () => Promise.reject(new Error('statement failed')), on: newPool() });
    const other = job({ on: newPool() });

    expect(await failing.runOnce()).toEqual({ items: 'failed' });

    // The dropped connection's session ends on the server a moment later.
    await waitFor(async () => (await other.runOnce()).items === 20, { what: 'the other replica to take the lock' });
    expect(await remaining()).toBe(0);
  });

  it('runs a round at start and then one every interval until stopped', async () => {
    await addItems(30, 2 * HOUR_MS);
    const running = job({ intervalMs: 20 });
    running.start();
    await waitFor(async () => (await remaining()) === 0, { what: 'the first round' });

    await addItems(30, 2 * HOUR_MS);
    await waitFor(async () => (await remaining()) === 0, { what: 'a later round' });

    await running.stop();
    await addItems(4, 2 * HOUR_MS);
    expect(await job().runOnce()).toEqual({ items: 4 }); // and holds no lock
  });
});
