// The outbox purge against the real schema (orchestrator database): only rows past their
// age go; times are set by updating the rows, not by waiting.
import { randomUUID } from 'node:crypto';
import pino from 'pino';
import type pg from 'pg';
import { createPool, createRetentionJob } from '@orderflow/db';
import { createTestDatabase, type TestDatabase } from '@orderflow/testing';
import { enqueueOutbox, purgePublishedOutbox } from './outbox';

const HOUR_MS = 3_600_000;
let db: TestDatabase;
let pool: pg.Pool;

beforeAll(async () => {
  db = await createTestDatabase('orchestrator', 'retention_messaging');
  pool = createPool(db.url, 3);
});
afterAll(async () => {
  await pool.end();
  await db.drop();
});

/** Runs rounds of a job with batches of 2 rows over `purge`, as the apps wire it. */
const purgeWith = (name: string, purge: typeof purgePublishedOutbox, olderThanMs: number) =>
  createRetentionJob({ pool, jobs: [{ name, olderThanMs, purge }], intervalMs: 60_000, logger: pino({ level: 'silent' }), batchSize: 2 }).runOnce();

/** An outbox row created `createdAgoMs` ago and published `publishedAgoMs` ago (null: not yet). */
async function outboxRow(createdAgoMs: number, publishedAgoMs: number | null): Promise<string> {
  const messageId = randomUUID();
  await enqueueOutbox(pool, [{ destination: 'kafka', topic: 't', key: 'k', messageId, payload: {} }], { notify: false });
  await pool.query(
    `UPDATE outbox SET created_at = now() - $2 * interval '1 millisecond',
            published_at = CASE WHEN $3::float IS NULL THEN NULL ELSE now() - $3::float * interval '1 millisecond' END
      WHERE message_id = $1`,
    [messageId, createdAgoMs, publishedAgoMs],
  );
  return messageId;
}
const outboxIds = async () => (await pool.query('SELECT message_id FROM outbox')).rows.map((r) => r.message_id as string).sort();

describe('outbox retention', () => {
  it('deletes rows published longer ago than the window and keeps recent and unpublished ones', async () => {
    const old = [await outboxRow(26 * HOUR_MS, 25 * HOUR_MS), await outboxRow(26 * HOUR_MS, 25 * HOUR_MS), await outboxRow(48 * HOUR_MS, 47 * HOUR_MS)];
    const kept = [
      await outboxRow(24 * HOUR_MS, 23 * HOUR_MS), // published just inside the window
      await outboxRow(30 * 24 * HOUR_MS, null), // never published, however old: still owed to the broker
      await outboxRow(0, null),
    ];

    expect(await purgeWith('outbox', purgePublishedOutbox, 24 * HOUR_MS)).toEqual({ outbox: old.length });

    expect(await outboxIds()).toEqual(kept.sort());
  });
});
