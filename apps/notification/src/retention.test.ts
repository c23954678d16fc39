// The notification worker's retention, as main.ts wires it (its config defaults), against the real
// schema: e-mail records past the window go, recent ones keep de-duplicating redelivered tasks.
import { randomUUID } from 'node:crypto';
import pino from 'pino';
import type pg from 'pg';
import { createPool, createRetentionJob } from '@orderflow/db';
import { createTestDatabase, type TestDatabase } from '@orderflow/testing';
import { loadNotificationConfig } from './config';
import { createEmailLog } from './db/email-log';
import { retentionPolicies } from './retention';

const DAY_MS = 86_400_000;
let db: TestDatabase;
let pool: pg.Pool;

beforeAll(async () => {
  db = await createTestDatabase('notification', 'retention_notification');
  pool = createPool(db.url, 3);
});
afterAll(async () => {
  await pool.end();
  await db.drop();
});

const defaults = loadNotificationConfig({});
const runRound = () =>
  createRetentionJob({ pool, jobs: retentionPolicies(defaults), intervalMs: 60_000, logger: pino({ level: 'silent' }), batchSize: 2 }).runOnce();

/** An e-mail sent through the log, then dated `sentAgoMs` back. */
async function sentEmail(sentAgoMs: number): Promise<string> {
  const taskId = randomUUID();
  await createEmailLog(pool).sendBatch(
    [{ taskId, orderId: randomUUID(), template: 'order-confirmed', recipient: 'a@example.com', subject: 's' }],
    async () => undefined,
  );
  await pool.query(`UPDATE emails SET sent_at = now() - $2 * interval '1 millisecond' WHERE message_id = $1`, [taskId, sentAgoMs]);
  return taskId;
}
const emailIds = async () => (await pool.query('SELECT message_id FROM emails')).rows.map((r) => r.message_id as string).sort();

describe('notification retention', () => {
  it('keeps 7 days of e-mail records by default', () => {
    expect(retentionPolicies(defaults).map((p) => [p.name, p.olderThanMs])).toEqual([['emails', 7 * DAY_MS]]);
  });

  it('deletes e-mail records sent before the window and keeps the others, which still stop a redelivered task', async () => {
    const old = [await sentEmail(8 * DAY_MS), await sentEmail(8 * DAY_MS), await sentEmail(60 * DAY_MS)];
    const kept = [await sentEmail(7 * DAY_MS - 60_000), await sentEmail(0)];

    expect(await runRound()).toEqual({ emails: old.length });

    expect(await emailIds()).toEqual(kept.sort());
    const resend = (taskId: string) =>
      createEmailLog(pool).sendBatch(
        [{ taskId, orderId: randomUUID(), template: 'order-confirmed', recipient: 'a@example.com', subject: 's' }],
        async () => undefined,
      );
    expect(await resend(kept[0]!)).toEqual(['duplicate']);
  });
});
