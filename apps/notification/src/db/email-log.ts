import type { Pool } from 'pg';
import { purgeByAge, rollbackTransaction } from '@orderflow/db';
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

export interface EmailLog {
  /**
   * Sends an e-mail at most once per task id: claims the id in `emails`, runs `send` while holding
   * the claim, then commits. A task already recorded is 'duplicate' and `send` does not run; a failed
   * `send` rolls back, so the task stays unclaimed and its retry sends it.
   */
  sendOnce(record: EmailRecord, send: () => Promise<void>): Promise<'sent' | 'duplicate'>;
}

export function createEmailLog(pool: Pool): EmailLog {
  return {
    async sendOnce(record, send) {
      const client = await pool.connect().catch((error: unknown) => {
        throw unavailable(error);
      });
      let broken: Error | undefined;
      // A failure of `send` is the mail server's, whatever its code: that one spends a retry.
      let sending = false;
      try {
        await client.query('BEGIN');
        // The primary key decides: a concurrent delivery of the same task waits here until this
        // transaction ends, then finds the row (skips) or, after a rollback, claims it itself.
        const { rowCount } = await client.query(
          `INSERT INTO emails (message_id, order_id, template, recipient, subject) VALUES ($1, $2, $3, $4, $5)
           ON CONFLICT (message_id) DO NOTHING`,
          [record.taskId, record.orderId, record.template, record.recipient, record.subject],
        );
        if (rowCount === 0) {
          await client.query('ROLLBACK');
          return 'duplicate';
        }
        sending = true;
        await send();
        sending = false;
        await client.query('COMMIT');
        return 'sent';
      } catch (error) {
        broken = await rollbackTransaction(client, error);
        throw sending ? error : unavailable(error);
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
