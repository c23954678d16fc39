import type { Pool } from 'pg';
import { prepared } from '@orderflow/db';
import type { Logger } from 'pino';
import type { NotificationTask } from '@orderflow/domain';
import { createFileMailer } from '../../../../apps/notification/src/mail/file-mailer';
import { renderEmail } from '../../../../apps/notification/src/templates';

export interface MailWriterOptions {
  pool: Pool;
  dir: string;
  from: string;
  logger: Logger;
  /** Rows claimed per round. */
  batch: number;
  /** Backstop poll when no commit woke the loop (rows left by a crash, a missed wake). */
  pollMs: number;
}

/**
 * Writes each pending `emails` row as `<dir>/<orderId>.eml` (orderflow's file mailer and templates:
 * temp file, fsync, rename), then marks the batch written. A crash between the rename and the mark
 * leaves the rows pending, and the next round renames the same file over itself: the same e-mail
 * again, never a second one. One round at a time, so no row is written twice concurrently.
 */
export function createMailWriter(options: MailWriterOptions) {
  const { pool, logger } = options;
  const mailer = createFileMailer(options.dir);
  let running: Promise<void> | undefined;
  let again = false;
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;

  /** One round: claim up to `batch` pending rows, write them, mark them; returns how many. */
  async function round(): Promise<number> {
    const { rows } = await pool.query<{ order_id: string; payload: NotificationTask }>(
      prepared('SELECT order_id, payload FROM emails WHERE written_at IS NULL ORDER BY created_at LIMIT $1', [options.batch]),
    );
    if (rows.length === 0) return 0;
    // The files of a batch are independent: their fsyncs overlap instead of queueing.
    await Promise.all(rows.map(({ order_id, payload }) => mailer.send({ messageId: order_id, to: payload.to, from: options.from, ...renderEmail(payload) })));
    await pool.query(prepared('UPDATE emails SET written_at = now() WHERE order_id = ANY($1::uuid[]) AND written_at IS NULL', [rows.map((r) => r.order_id)]));
    return rows.length;
  }

  /** Rounds until nothing is pending and nobody woke us meanwhile. */
  async function drain(): Promise<void> {
    do {
      again = false;
      while ((await round()) === options.batch) {
        // a full batch: there may be more
      }
    } while (again);
  }

  function wake(): void {
    if (running) {
      again = true;
      return;
    }
    running = drain()
      .catch((error: unknown) => logger.error({ err: error }, 'writing e-mails failed; the next poll tries again'))
      .finally(() => {
        running = undefined;
      });
  }

  function schedule(): void {
    if (stopped) return;
    timer = setTimeout(() => {
      wake();
      schedule();
    }, options.pollMs);
    timer.unref();
  }

  return {
    start(): void {
      schedule();
      wake(); // rows a crash left pending
    },
    wake,
    /** Stops polling and writes whatever is still pending. */
    async stop(): Promise<void> {
      stopped = true;
      clearTimeout(timer);
      await running;
      await drain();
      mailer.close();
    },
  };
}
