import type { Pool } from 'pg';
import { prepared, purgeByAge, rollbackTransaction } from '@orderflow/db';
import type { EmailTemplate } from '@orderflow/domain';
import { isTransientInfrastructureError } from '@orderflow/platform';

/**
 * The e-mail log's database is out of reach (down, restarting, stalled): nothing was sent, and the
 * task is fine. The worker puts such a task back without spending one of its retries, so an outage
 * longer than the retry ladder does not dead-letter every e-mail in flight.
 */
export class EmailLogUnavailableError extends Error {
  constructor(cause: unknown) {
    super('the e-mail log database is unavailable', { cause });
    this.name = 'EmailLogUnavailableError';
  }
}

const unavailable = (error: unknown) => (isTransientInfrastructureError(error) ? new EmailLogUnavailableError(error) : error);

export interface EmailRecord {
  taskId: string;
  orderId: string;
  template: EmailTemplate;
  recipient: string;
  subject: string;
}

/** What became of one record of a batch: its e-mail went out now, had gone out before, or failed to send. */
export type SendResult = 'sent' | 'duplicate' | SendFailure;

/** The send of this record failed (its claim was dropped, so a retry sends it); `error` is what `send` threw. */
export interface SendFailure {
  error: unknown;
}

export interface EmailLog {
  /**
   * Sends each e-mail at most once per task id, the whole batch on one connection in one transaction:
   * claims every id in `emails` with one statement, runs `send` for the records it claimed
   * (concurrently) while holding their claims, drops the claims whose send failed, then commits.
   * Answers per record, in order: 'sent'; 'duplicate' (recorded before, or an earlier record of the
   * same batch has the id: `send` does not run); or the send's failure. A database failure rejects
   * the whole batch (`EmailLogUnavailableError` when it is an outage); nothing is then recorded.
   */
  sendBatch<R extends EmailRecord>(records: readonly R[], send: (record: R) => Promise<void>): Promise<SendResult[]>;
}

const byTaskId = (a: EmailRecord, b: EmailRecord) => (a.taskId < b.taskId ? -1 : a.taskId > b.taskId ? 1 : 0);

export function createEmailLog(pool: Pool): EmailLog {
  return {
    async sendBatch(records, send) {
      if (records.length === 0) return [];
      // The first record with a task id stands for it; a later one is the same task delivered twice.
      const first = new Map<string, number>();
      records.forEach((record, index) => void (first.has(record.taskId) || first.set(record.taskId, index)));
      // Every batch claims its ids in the same (sorted) order, so two batches sharing ids wait for
      // each other rather than deadlock.
      const candidates = [...first.values()].map((index) => records[index]!).sort(byTaskId);

      const client = await pool.connect().catch((error: unknown) => {
        throw unavailable(error);
      });
      let broken: Error | undefined;
      try {
        await client.query('BEGIN');
        // The primary key decides: a concurrent claim of the same id (another replica) waits here
        // until this transaction ends, then finds the row (skips) or, after a rollback, claims it itself.
        const { rows } = await client.query<{ message_id: string }>(
          prepared(
            `INSERT INTO emails (message_id, order_id, template, recipient, subject)
             SELECT * FROM unnest($1::text[], $2::uuid[], $3::text[], $4::text[], $5::text[])
             ON CONFLICT (message_id) DO NOTHING
             RETURNING message_id`,
            [
              candidates.map((r) => r.taskId),
              candidates.map((r) => r.orderId),
              candidates.map((r) => r.template),
              candidates.map((r) => r.recipient),
              candidates.map((r) => r.subject),
            ],
          ),
        );
        const claimed = new Set(rows.map((row) => row.message_id));
        const toSend = candidates.filter((r) => claimed.has(r.taskId));
        // A send's failure is the mail server's, whatever its code: it spends that task's retry only.
        const sends = await Promise.allSettled(toSend.map((record) => send(record)));
        const failures = new Map<string, SendFailure>();
        sends.forEach((outcome, i) => void (outcome.status === 'rejected' && failures.set(toSend[i]!.taskId, { error: outcome.reason })));
        if (failures.size > 0) await client.query('DELETE FROM emails WHERE message_id = ANY($1::text[])', [[...failures.keys()]]);
        await client.query('COMMIT');
        return records.map((record, index): SendResult => {
          if (first.get(record.taskId) !== index || !claimed.has(record.taskId)) return 'duplicate';
          return failures.get(record.taskId) ?? 'sent';
        });
      } catch (error) {
        // Only the database can fail here (sends are settled above): the batch is put back or retried whole.
        broken = await rollbackTransaction(client, error);
        throw unavailable(error);
      } finally {
        client.release(broken);
      }
    },
  };
}

/**
 * Deletes up to `limit` e-mail records older than `olderThanMs`, oldest first (retention job). Past
 * that age a task can no longer be redelivered, so the record has nothing left to de-duplicate; a
 * claim still being sent is uncommitted, invisible here.
 */
export const purgeEmailLog = purgeByAge('emails', 'message_id', 'sent_at');
