import { createHash } from 'node:crypto';
import type { Pool, PoolClient } from 'pg';
import { rollbackTransaction } from '@orderflow/db';

export type DeadLetterSource = 'kafka' | 'rabbitmq' | 'saga';

export interface DeadLetter {
  id: string;
  source: DeadLetterSource;
  /** Topic, queue or saga step it came from (and goes back to on replay). */
  origin: string;
  key?: string;
  messageId?: string;
  payload: string;
  headers: Record<string, string>;
  error: string;
  attempts: number;
  firstFailedAt: string;
  lastFailedAt: string;
  replayedAt?: string;
  createdAt?: string;
}

/** A stable UUID for a dead letter from where it was seen, so recording it twice keeps one row. */
export function deadLetterId(...parts: string[]): string {
  const h = createHash('sha256').update(parts.join('\u0000')).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-5${h.slice(13, 16)}-${((parseInt(h[16]!, 16) & 0x3) | 0x8).toString(16)}${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

interface DeadLetterRow {
  id: string;
  source: DeadLetterSource;
  origin: string;
  message_key: string | null;
  message_id: string | null;
  payload: string;
  headers: Record<string, string>;
  error: string;
  attempts: number;
  first_failed_at: Date;
  last_failed_at: Date;
  replayed_at: Date | null;
  created_at: Date;
}

const toDeadLetter = (r: DeadLetterRow): DeadLetter => ({
  id: r.id,
  source: r.source,
  origin: r.origin,
  ...(r.message_key ? { key: r.message_key } : {}),
  ...(r.message_id ? { messageId: r.message_id } : {}),
  payload: r.payload,
  headers: r.headers,
  error: r.error,
  attempts: r.attempts,
  firstFailedAt: r.first_failed_at.toISOString(),
  lastFailedAt: r.last_failed_at.toISOString(),
  ...(r.replayed_at ? { replayedAt: r.replayed_at.toISOString() } : {}),
  createdAt: r.created_at.toISOString(),
});

/** Dead letters from every source, in the orchestrator database. */
export function createDeadLetterRepository(pool: Pool) {
  return {
    /** Records a dead letter; the same id again is a no-op (redelivered from its DLQ). Returns whether it was new. */
    async record(d: Omit<DeadLetter, 'replayedAt' | 'createdAt'>): Promise<boolean> {
      const { rowCount } = await pool.query(
        `INSERT INTO dead_letters (id, source, origin, message_key, message_id, payload, headers, error, attempts, first_failed_at, last_failed_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) ON CONFLICT (id) DO NOTHING`,
        [d.id, d.source, d.origin, d.key ?? null, d.messageId ?? null, d.payload, JSON.stringify(d.headers), d.error, d.attempts, d.firstFailedAt, d.lastFailedAt],
      );
      return rowCount === 1;
    },

    /** Newest first; `before` is the cursor (created_at, id) of the last row of the previous page. */
    async list(limit: number, before?: { createdAt: string; id: string }): Promise<DeadLetter[]> {
      const { rows } = before
        ? await pool.query('SELECT * FROM dead_letters WHERE (created_at, id) < ($2::timestamptz, $3::uuid) ORDER BY created_at DESC, id DESC LIMIT $1', [limit, before.createdAt, before.id])
        : await pool.query('SELECT * FROM dead_letters ORDER BY created_at DESC, id DESC LIMIT $1', [limit]);
      return rows.map(toDeadLetter);
    },

    /**
     * Replays a dead letter at most once: locks its row, runs `publish` (which must resolve only once the
     * broker has it), then marks it replayed, in one transaction. False when it was already replayed.
     */
    async replayOnce(id: string, publish: (d: DeadLetter) => Promise<void>): Promise<{ found: boolean; replayed: boolean; letter?: DeadLetter }> {
      const client: PoolClient = await pool.connect();
      let broken: Error | undefined;
      try {
        await client.query('BEGIN');
        const { rows } = await client.query('SELECT * FROM dead_letters WHERE id = $1 FOR UPDATE', [id]);
        if (!rows[0]) {
          await client.query('ROLLBACK');
          return { found: false, replayed: false };
        }
        const letter = toDeadLetter(rows[0]);
        if (letter.replayedAt) {
          await client.query('ROLLBACK');
          return { found: true, replayed: false, letter };
        }
        await publish(letter);
        await client.query('UPDATE dead_letters SET replayed_at = now() WHERE id = $1', [id]);
        await client.query('COMMIT');
        return { found: true, replayed: true, letter };
      } catch (error) {
        broken = await rollbackTransaction(client, error);
        throw error;
      } finally {
        client.release(broken);
      }
    },

    async count(): Promise<number> {
      const { rows } = await pool.query('SELECT count(*)::int AS n FROM dead_letters WHERE replayed_at IS NULL');
      return rows[0].n;
    },
  };
}

export type DeadLetterRepository = ReturnType<typeof createDeadLetterRepository>;
