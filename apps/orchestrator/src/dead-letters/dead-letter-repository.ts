import { createHash } from 'node:crypto';
import type { Pool } from 'pg';
import type { Queryable } from '@orderflow/db';
import { cleanText, decodeBytes, encodeBytes, type ByteEncoding } from './encoding';

export type DeadLetterSource = 'kafka' | 'rabbitmq' | 'saga';
/** Sources whose letters go back where they came from; a saga's letter records an order already compensated, with nothing to replay. */
export const REPLAYABLE_SOURCES: readonly DeadLetterSource[] = ['kafka', 'rabbitmq'];

export interface DeadLetter {
  id: string;
  source: DeadLetterSource;
  /** Topic, queue or saga step it came from (and goes back to on replay). */
  origin: string;
  /** The message key byte for byte (a Kafka key, the task's correlation id, the saga's order id). */
  key?: Buffer;
  messageId?: string;
  /** The message byte for byte, whatever it is. */
  payload: Buffer;
  /** Header values as text, or as their bytes when they are not text (see encoding.ts). */
  headers: Record<string, string | Buffer>;
  error: string;
  attempts: number;
  firstFailedAt: string;
  lastFailedAt: string;
  replayedAt?: string;
  discardedAt?: string;
  discardReason?: string;
  createdAt?: string;
}

/** Where a dead letter stands: waiting for an operator, replayed, or discarded by one. */
export type DeadLetterStatus = 'pending' | 'replayed' | 'discarded';
export const statusOfLetter = (d: Pick<DeadLetter, 'replayedAt' | 'discardedAt'>): DeadLetterStatus =>
  d.replayedAt ? 'replayed' : d.discardedAt ? 'discarded' : 'pending';

/** Which dead letters a list or a bulk replay takes; every given field must match. */
export interface DeadLetterFilter {
  source?: DeadLetterSource;
  /** The topic, queue or saga step it came from. */
  origin?: string;
  status?: DeadLetterStatus;
  /** Recorded at or after. */
  from?: string;
  /** Recorded before. */
  to?: string;
}

const STATUS_SQL: Record<DeadLetterStatus, string> = {
  pending: 'replayed_at IS NULL AND discarded_at IS NULL',
  replayed: 'replayed_at IS NOT NULL',
  discarded: 'discarded_at IS NOT NULL',
};

/** The WHERE conditions of `filter`, their values pushed onto `params`. */
function filterSql(filter: DeadLetterFilter, params: unknown[]): string[] {
  const where: string[] = [];
  if (filter.source) where.push(`source = $${params.push(filter.source)}`);
  if (filter.origin) where.push(`origin = $${params.push(filter.origin)}`);
  if (filter.status) where.push(STATUS_SQL[filter.status]);
  if (filter.from) where.push(`created_at >= $${params.push(filter.from)}::timestamptz`);
  if (filter.to) where.push(`created_at < $${params.push(filter.to)}::timestamptz`);
  return where;
}

/** What `record` did: a new row, nothing (already recorded), or a placeholder for a letter Postgres refused. */
export type RecordOutcome = 'recorded' | 'duplicate' | 'placeholder';

/**
 * A Postgres error about the data itself (data exception, integrity constraint, a limit): the same
 * insert would fail again however often it is retried, unlike a lost connection or a timeout.
 */
export function isDataError(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && /^(22|23|54)/.test(code);
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
  key_encoding: ByteEncoding;
  message_id: string | null;
  payload: Buffer;
  headers: Record<string, string>;
  base64_headers: string[];
  error: string;
  attempts: number;
  first_failed_at: Date;
  last_failed_at: Date;
  replayed_at: Date | null;
  discarded_at: Date | null;
  discard_reason: string | null;
  created_at: Date;
}

const toDeadLetter = (r: DeadLetterRow): DeadLetter => ({
  id: r.id,
  source: r.source,
  origin: r.origin,
  ...(r.message_key ? { key: decodeBytes(r.message_key, r.key_encoding) } : {}),
  ...(r.message_id ? { messageId: r.message_id } : {}),
  payload: r.payload,
  headers: Object.fromEntries(Object.entries(r.headers).map(([name, v]) => [name, r.base64_headers.includes(name) ? decodeBytes(v, 'base64') : v])),
  error: r.error,
  attempts: r.attempts,
  firstFailedAt: r.first_failed_at.toISOString(),
  lastFailedAt: r.last_failed_at.toISOString(),
  ...(r.replayed_at ? { replayedAt: r.replayed_at.toISOString() } : {}),
  ...(r.discarded_at ? { discardedAt: r.discarded_at.toISOString() } : {}),
  ...(r.discard_reason ? { discardReason: r.discard_reason } : {}),
  createdAt: r.created_at.toISOString(),
});

type NewDeadLetter = Omit<DeadLetter, 'replayedAt' | 'createdAt'>;

async function insert(pool: Pool, d: NewDeadLetter): Promise<boolean> {
  const key = d.key && encodeBytes(d.key);
  const headers = Object.entries(d.headers).map(([name, v]) => [name, Buffer.isBuffer(v) ? v.toString('base64') : v] as const);
  const { rowCount } = await pool.query(
    `INSERT INTO dead_letters (id, source, origin, message_key, key_encoding, message_id, payload, headers, base64_headers, error, attempts, first_failed_at, last_failed_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) ON CONFLICT (id) DO NOTHING`,
    [
      d.id,
      d.source,
      d.origin,
      key?.text ?? null,
      key?.encoding ?? 'utf8',
      d.messageId ?? null,
      d.payload,
      JSON.stringify(Object.fromEntries(headers)),
      Object.entries(d.headers)
        .filter(([, v]) => Buffer.isBuffer(v))
        .map(([name]) => name),
      d.error,
      d.attempts,
      d.firstFailedAt,
      d.lastFailedAt,
    ],
  );
  return rowCount === 1;
}

const validTime = (t: string) => (Number.isNaN(Date.parse(t)) ? new Date().toISOString() : t);

/**
 * What can be kept of a letter Postgres refused: its id, source and bytes (bytea takes any), its other
 * fields made safe, no headers, and an error that says why the original could not be stored.
 */
function placeholder(d: NewDeadLetter, refusal: unknown): NewDeadLetter {
  const why = cleanText(refusal instanceof Error ? refusal.message : String(refusal));
  return {
    id: d.id,
    source: d.source,
    origin: cleanText(d.origin),
    ...(d.key ? { key: d.key } : {}),
    ...(d.messageId ? { messageId: cleanText(d.messageId) } : {}),
    payload: d.payload,
    headers: {},
    error: `placeholder: the dead letter could not be stored as received (${why}); its headers are not kept. Error: ${cleanText(d.error).slice(0, 2_000)}`,
    attempts: Number.isInteger(d.attempts) && d.attempts >= 0 && d.attempts < 2 ** 31 ? d.attempts : 0,
    firstFailedAt: validTime(d.firstFailedAt),
    lastFailedAt: validTime(d.lastFailedAt),
  };
}

/** A page of the pending letters of REPLAYABLE_SOURCES matching `filter`, oldest first, after `after` (unlocked). */
async function pendingPage(tx: Queryable, filter: DeadLetterFilter, after: DeadLetter | undefined, size: number): Promise<DeadLetter[]> {
  const params: unknown[] = [];
  const where = filterSql({ ...filter, status: 'pending' }, params);
  where.push(`source = ANY($${params.push(REPLAYABLE_SOURCES)}::text[])`);
  if (after) where.push(`(created_at, id) > ($${params.push(after.createdAt)}::timestamptz, $${params.push(after.id)}::uuid)`);
  const { rows } = await tx.query(`SELECT * FROM dead_letters WHERE ${where.join(' AND ')} ORDER BY created_at, id LIMIT $${params.push(size)}`, params);
  return rows.map(toDeadLetter);
}

/** Locks those of `letters` still pending, skipping any a concurrent replay holds; the ones locked. */
async function lockPending(tx: Queryable, letters: DeadLetter[]): Promise<DeadLetter[]> {
  if (!letters.length) return [];
  const { rows } = await tx.query(`SELECT id FROM dead_letters WHERE id = ANY($1::uuid[]) AND ${STATUS_SQL.pending} FOR UPDATE SKIP LOCKED`, [
    letters.map((d) => d.id),
  ]);
  const locked = new Set(rows.map((r: { id: string }) => r.id));
  return letters.filter((d) => locked.has(d.id));
}

/** Dead letters from every source, in the orchestrator database. */
export function createDeadLetterRepository(pool: Pool) {
  return {
    /**
     * Records a dead letter; the same id again is a no-op (redelivered from its DLQ). A letter Postgres
     * refuses for its data is recorded as a placeholder instead (a retry would fail the same way, and
     * would hold up every letter behind it); other errors (connection, timeout) are thrown to be retried.
     */
    async record(d: NewDeadLetter): Promise<RecordOutcome> {
      try {
        return (await insert(pool, d)) ? 'recorded' : 'duplicate';
      } catch (error) {
        if (!isDataError(error)) throw error;
        return (await insert(pool, placeholder(d, error))) ? 'placeholder' : 'duplicate';
      }
    },

    /** Those matching `filter`, newest first; `before` is the cursor (created_at, id) of the last row of the previous page. */
    async list(limit: number, before?: { createdAt: string; id: string }, filter: DeadLetterFilter = {}): Promise<DeadLetter[]> {
      const params: unknown[] = [];
      const where = filterSql(filter, params);
      if (before) {
        const n = params.push(before.createdAt, before.id) - 1;
        where.push(`(created_at, id) < ($${n}::timestamptz, $${n + 1}::uuid)`);
      }
      const { rows } = await pool.query(
        `SELECT * FROM dead_letters ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY created_at DESC, id DESC LIMIT $${params.push(limit)}`,
        params,
      );
      return rows.map(toDeadLetter);
    },

    /** The dead letters recorded for an order (its saga's, and its messages' whose key is the order id). */
    async ofOrder(orderId: string): Promise<DeadLetter[]> {
      const { rows } = await pool.query('SELECT * FROM dead_letters WHERE message_key = $1 ORDER BY created_at', [orderId]);
      return rows.map(toDeadLetter);
    },

    /**
     * Replays a dead letter at most once, in the caller's transaction `tx`: locks its row, runs `publish`
     * (which must resolve only once the broker has it), then marks it replayed; the caller commits (with
     * its audit row). Not replayed when it already was, or was discarded.
     */
    async replayOnce(
      tx: Queryable,
      id: string,
      publish: (d: DeadLetter) => Promise<void>,
    ): Promise<{ found: boolean; replayed: boolean; letter?: DeadLetter }> {
      const { rows } = await tx.query('SELECT * FROM dead_letters WHERE id = $1 FOR UPDATE', [id]);
      if (!rows[0]) return { found: false, replayed: false };
      const letter = toDeadLetter(rows[0]);
      if (letter.replayedAt || letter.discardedAt) return { found: true, replayed: false, letter };
      await publish(letter);
      await tx.query('UPDATE dead_letters SET replayed_at = now() WHERE id = $1', [id]);
      return { found: true, replayed: true, letter };
    },

    /**
     * Replays the pending letters of REPLAYABLE_SOURCES that match `filter` and `replayable`, oldest first,
     * up to `limit` of them, in the caller's transaction: locks those it takes (skipping any a concurrent
     * replay holds), hands them to `publish` at once, marks them replayed. The letters `replayable` refuses
     * stay pending and are passed over, never counted towards `limit`: taken first, they would fill every
     * call and hold back the letters behind them for good (the rule, whyNotReplayable in replay.ts, parses
     * the payload as JSON, which Postgres 15 cannot do without failing the statement). Answers the letters
     * published; `skipped`, the matching letters left pending because they cannot be replayed (every
     * other source's, and those `replayable` refused before the call stopped); and `more`, whether a
     * letter it could have replayed is still pending because of `limit`.
     */
    async replayMatching(
      tx: Queryable,
      filter: Omit<DeadLetterFilter, 'status'>,
      limit: number,
      replayable: (d: DeadLetter) => boolean,
      publish: (letters: DeadLetter[]) => Promise<void>,
    ): Promise<{ replayed: DeadLetter[]; skipped: number; more: boolean }> {
      const params: unknown[] = [];
      const where = filterSql({ ...filter, status: 'pending' }, params).join(' AND ');
      const others = await tx.query(
        `SELECT count(*)::int AS n FROM dead_letters WHERE ${where} AND source <> ALL($${params.push(REPLAYABLE_SOURCES)}::text[])`,
        params,
      );
      const replayed: DeadLetter[] = [];
      let refused = 0;
      let more = false;
      let after: DeadLetter | undefined;
      // A page one longer than the limit: when it holds `limit` letters to replay and one more, that one
      // answers `more` without another query. Pages are read without locks; only the letters taken are locked.
      const pageSize = limit + 1;
      while (!more) {
        const page = await pendingPage(tx, filter, after, pageSize);
        let fits: DeadLetter[] = [];
        for (const letter of page) {
          if (!replayable(letter)) refused++;
          else if (replayed.length + fits.length < limit) fits.push(letter);
          else {
            // Full: lock what fits; a letter a concurrent replay holds leaves its place to this one.
            replayed.push(...(await lockPending(tx, fits)));
            fits = replayed.length < limit ? [letter] : [];
            more = !fits.length;
            if (more) break;
          }
        }
        replayed.push(...(await lockPending(tx, fits)));
        if (page.length < pageSize) break;
        after = page.at(-1);
      }
      if (replayed.length) {
        await publish(replayed);
        await tx.query('UPDATE dead_letters SET replayed_at = now() WHERE id = ANY($1::uuid[])', [replayed.map((d) => d.id)]);
      }
      return { replayed, skipped: refused + (others.rows[0].n as number), more };
    },

    /** Marks a pending dead letter discarded with the operator's reason, in the caller's transaction; the letter as it then stands. */
    async discard(tx: Queryable, id: string, reason: string): Promise<{ found: boolean; discarded: boolean; letter?: DeadLetter }> {
      const { rows } = await tx.query(
        `WITH d AS (UPDATE dead_letters SET discarded_at = now(), discard_reason = $2
                     WHERE id = $1 AND replayed_at IS NULL AND discarded_at IS NULL RETURNING *)
         SELECT true AS changed, * FROM d UNION ALL SELECT false, * FROM dead_letters WHERE id = $1 AND NOT EXISTS (SELECT 1 FROM d)`,
        [id, reason],
      );
      if (!rows[0]) return { found: false, discarded: false };
      return { found: true, discarded: rows[0].changed, letter: toDeadLetter(rows[0]) };
    },

    async count(): Promise<number> {
      const { rows } = await pool.query('SELECT count(*)::int AS n FROM dead_letters WHERE replayed_at IS NULL AND discarded_at IS NULL');
      return rows[0].n;
    },
  };
}

export type DeadLetterRepository = ReturnType<typeof createDeadLetterRepository>;
