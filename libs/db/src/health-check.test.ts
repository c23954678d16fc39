// The Postgres health check behind /readyz and /status, against the real Postgres.
import pg from 'pg';
import { testInfra, uniqueName, waitFor } from '@orderflow/testing';
import { createPool, postgresHealthCheck } from './pool';

const admin = new pg.Client({ connectionString: testInfra().databaseUrl });
beforeAll(() => admin.connect());
afterAll(() => admin.end());

/** A pool (never used for queries here unless the test does) whose connections carry `name`. */
function namedPool(name: string, max = 1): pg.Pool {
  const url = new URL(testInfra().databaseUrl);
  url.searchParams.set('application_name', name);
  return createPool(url.toString(), max);
}

const backends = async (name: string): Promise<number[]> =>
  (await admin.query<{ pid: number }>('SELECT pid FROM pg_stat_activity WHERE application_name = $1', [name])).rows.map((r) => r.pid);

describe('postgresHealthCheck', () => {
  it('passes while every pooled connection is busy: a loaded pool does not make the database look down', async () => {
    const pool = namedPool(uniqueName('hc_busy'));
    const check = postgresHealthCheck(pool);
    const held = await pool.connect(); // the pool's only connection, busy
    try {
      await expect(check.check()).resolves.toBeUndefined();
    } finally {
      held.release();
      await check.close!();
      await pool.end();
    }
  });

  it('keeps one connection across checks, and reconnects on the check after Postgres ends it', async () => {
    const name = uniqueName('hc_conn');
    const pool = namedPool(name);
    const check = postgresHealthCheck(pool);
    try {
      for (let i = 0; i < 3; i++) await check.check();
      const [first, ...others] = await backends(name);
      expect(others).toEqual([]);

      await admin.query('SELECT pg_terminate_backend($1)', [first]);
      await waitFor(
        () =>
          check.check().then(
            () => false,
            () => true,
          ),
        { timeoutMs: 5_000, what: 'a check to notice the ended connection' },
      );
      await check.check();
      const now = await backends(name);
      expect(now).toHaveLength(1);
      expect(now).not.toContain(first);
    } finally {
      await check.close!();
      await pool.end();
    }
    await waitFor(async () => (await backends(name)).length === 0, { timeoutMs: 5_000, what: 'close() to end the connection' });
  });
});
