import type { Pool } from 'pg';
import { purgeByAge, rollbackTransaction } from '@orderflow/db';
import type { EmailTemplate } from '@orderflow/domain';

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
      const client = await pool.connect();
      let broken: Error | undefined;
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
        await send();
        await client.query('COMMIT');
        return 'sent';
      } catch (error) {
        broken = await rollbackTransaction(client, error);
        throw error;
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
