// Pool timeouts against the real Postgres (no schema needed: pg_sleep and pg_stat_activity only); the
// server that never answers is a local socket, the one fault we cannot make Postgres play.
import type pg from 'pg';
import { failureOf, startSilentServer, testInfra, waitFor, type SilentServer } from '@orderflow/testing';
import { createPool, DEFAULT_POOL_TIMEOUTS, inTransaction, prepared, type PoolTimeouts } from './pool';

const pools: pg.Pool[] = [];
afterEach(async () => {
  await Promise.all(pools.splice(0).map((p) => p.end()));
});

/** A pool of one connection, so the query after a timeout proves what became of that connection. */
function pool(timeouts: Partial<PoolTimeouts>, url = testInfra().databaseUrl): pg.Pool {
  const created = createPool(url, 1, { ...DEFAULT_POOL_TIMEOUTS, ...timeouts });
  pools.push(created);
  return created;
}

describe('a pool', () => {
  it('has Postgres cancel a statement running past PG_STATEMENT_TIMEOUT_MS, and the connection and the pool serve the next query', async () => {
    const db = pool({ PG_STATEMENT_TIMEOUT_MS: 200 });
    const client = await db.connect();
    try {
      const { error, ms } = await failureOf(client.query('SELECT pg_sleep(10)'));
      expect(error.code).toBe('57014'); // query_canceled: canceling statement due to statement timeout
      expect(ms).toBeLessThan(2_000);
      expect((await client.query('SELECT 1 AS one')).rows).toEqual([{ one: 1 }]);
    } finally {
      client.release();
    }
    expect((await db.query('SELECT 1 AS one')).rows).toEqual([{ one: 1 }]);
  });

  it('gives up on a round trip past PG_QUERY_TIMEOUT_MS, and the next query gets a fresh connection at once', async () => {
    const db = pool({ PG_QUERY_TIMEOUT_MS: 200 });
    const { error, ms } = await failureOf(db.query('SELECT pg_sleep(10)'));
    expect(error.message).toBe('Query read timeout');
    expect(ms).toBeLessThan(2_000);
    expect((await db.query('SELECT 1 AS one')).rows).toEqual([{ one: 1 }]);
  });

  it('discards the connection of a transaction whose query timed out client-side instead of queueing a rollback behind it', async () => {
    const db = pool({ PG_QUERY_TIMEOUT_MS: 1_000 });
    const { error, ms } = await failureOf(inTransaction(db, (tx) => tx.query('SELECT pg_sleep(10)')));
    expect(error.message).toBe('Query read timeout');
    expect(ms).toBeLessThan(1_800); // one query timeout, not a second one for a ROLLBACK queued behind the sleep
    // The one connection went back usable: no rollback or query waiting for the sleep to end.
    expect((await db.query('SELECT 1 AS one')).rows).toEqual([{ one: 1 }]);
  });

  it('survives Postgres ending a transaction left idle past PG_IDLE_IN_TRANSACTION_TIMEOUT_MS, and replaces that connection', async () => {
    const db = pool({ PG_IDLE_IN_TRANSACTION_TIMEOUT_MS: 200 });
    const observer = pool({});
    const client = await db.connect();
    await client.query('BEGIN');
    const pid = (await client.query('SELECT pg_backend_pid() AS pid')).rows[0].pid;
    await waitFor(async () => (await observer.query('SELECT 1 FROM pg_stat_activity WHERE pid = $1', [pid])).rowCount === 0, {
      what: 'Postgres to end the idle transaction',
    });
    // The session's end reaches the client as an 'error' with no query running: no crash, the next query fails.
    await expect(
      waitFor(
        () =>
          client.query('SELECT 1').then(
            () => false,
            () => true,
          ),
        { what: 'the dead client to refuse a query' },
      ),
    ).resolves.toBe(true);
    client.release();
    expect((await db.query('SELECT 1 AS one')).rows).toEqual([{ one: 1 }]);
  });

  describe('against a server that accepts connections and never answers', () => {
    let server: SilentServer;
    beforeAll(async () => void (server = await startSilentServer()));
    afterAll(() => server.close());

    it('fails to connect after PG_CONNECT_TIMEOUT_MS', async () => {
      const db = pool({ PG_CONNECT_TIMEOUT_MS: 200 }, `postgres://postgres@${server.address}/postgres`);
      const { error, ms } = await failureOf(db.query('SELECT 1'));
      expect(error.message).toMatch(/timeout/i);
      expect(ms).toBeLessThan(2_000);
    });
  });
});

describe('a prepared statement', () => {
  it('is parsed once per connection however often it runs, and another text is a statement of its own', async () => {
    const client = await pool({}).connect();
    try {
      const double = 'SELECT $1::int * 2 AS n';
      for (const n of [1, 2, 3]) expect((await client.query(prepared(double, [n]))).rows).toEqual([{ n: n * 2 }]);
      expect((await client.query(prepared('SELECT $1::int * 3 AS n', [2]))).rows).toEqual([{ n: 6 }]);
      const { rows } = await client.query('SELECT statement FROM pg_prepared_statements ORDER BY statement');
      expect(rows.map((r) => r.statement)).toEqual([double, 'SELECT $1::int * 3 AS n']);
    } finally {
      client.release(true); // its prepared statements go with the connection
    }
  });
});
