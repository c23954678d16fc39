import type { Queryable } from '@orderflow/db';

/**
 * Deletes up to `limit` sagas finished more than `olderThanMs` ago, oldest first, and their step logs
 * with them (ON DELETE CASCADE). A running or compensating saga has no finished_at and is never
 * touched; nor is a failed one whose dead letter nobody has dealt with (replayed or discarded): its step log is what the
 * operator reads. A cancel of a confirmed order re-opens its saga (finished_at back to NULL): the row
 * lock taken here and the recheck of finished_at make the two wait for each other, never both win.
 */
export async function purgeFinishedSagas(db: Queryable, olderThanMs: number, limit: number): Promise<number> {
  const { rowCount } = await db.query(
    `DELETE FROM sagas WHERE order_id = ANY(ARRAY(
       SELECT s.order_id FROM sagas s
        WHERE s.finished_at < now() - $1 * interval '1 millisecond'
          AND NOT EXISTS (SELECT 1 FROM dead_letters d WHERE d.source = 'saga' AND d.message_key = s.order_id::text AND d.replayed_at IS NULL AND d.discarded_at IS NULL)
        ORDER BY s.finished_at LIMIT $2 FOR UPDATE OF s SKIP LOCKED))`,
    [olderThanMs, limit],
  );
  return rowCount ?? 0;
}
