// The outbox purge against the real schema (orchestrator database): only published rows past their
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

/** An outbox row written `createdAgoMs` ago, published (struck from the pending list) or not yet. */
async function outboxRow(createdAgoMs: number, published: boolean): Promise<string> {
  const messageId = randomUUID();
  await enqueueOutbox(pool, [{ destination: 'kafka', topic: 't', key: 'k', messageId, payload: {} }], { notify: false });
  await pool.query(`UPDATE outbox SET created_at = now() - $2 * interval '1 millisecond' WHERE message_id = $1`, [messageId, createdAgoMs]);
  if (published) await pool.query('DELETE FROM outbox_pending p USING outbox o WHERE p.id = o.id AND o.message_id = $1', [messageId]);
  return messageId;
}
const outboxIds = async () => (await pool.query('SELECT message_id FROM outbox')).rows.map((r) => r.message_id as string).sort();

describe('outbox retention', () => {
  it('deletes published rows written longer ago than the window and keeps recent and pending ones', async () => {
    const old = [await outboxRow(25 * HOUR_MS, true), await outboxRow(26 * HOUR_MS, true), await outboxRow(48 * HOUR_MS, true)];
    const kept = [
      await outboxRow(23 * HOUR_MS, true), // written just inside the window
      await outboxRow(30 * 24 * HOUR_MS, false), // never published, however old: still owed to the broker
      await outboxRow(0, false),
    ];

    expect(await purgeWith('outbox', purgePublishedOutbox, 24 * HOUR_MS)).toEqual({ outbox: old.length });

    expect(await outboxIds()).toEqual(kept.sort());
  });
});
