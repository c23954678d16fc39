import type { Queryable } from '@orderflow/db';

/**
 * Deletes up to `limit` dead letters replayed more than `olderThanMs` ago, oldest first. One nobody
 * has dealt with (replayed_at NULL) is never purged, however old; a replay in progress holds its row
 * locked and is skipped.
 */
export async function purgeReplayedDeadLetters(db: Queryable, olderThanMs: number, limit: number): Promise<number> {
  const { rowCount } = await db.query(
    `DELETE FROM dead_letters WHERE id = ANY(ARRAY(
       SELECT id FROM dead_letters WHERE replayed_at < now() - $1 * interval '1 millisecond' ORDER BY replayed_at LIMIT $2 FOR UPDATE SKIP LOCKED))`,
    [olderThanMs, limit],
  );
  return rowCount ?? 0;
}
