import type { Queryable } from '@orderflow/db';

/**
 * Deletes up to `limit` webhook deliveries settled more than `olderThanMs` ago (delivered, or skipped
 * for a disabled subscription), oldest first. A pending one is under way; a failed one stays as long as
 * its dead letter (it is what a replay of that letter finds and completes).
 */
export async function purgeSettledDeliveries(db: Queryable, olderThanMs: number, limit: number): Promise<number> {
  const { rowCount } = await db.query(
    `DELETE FROM webhook_deliveries WHERE id = ANY(ARRAY(
       SELECT id FROM webhook_deliveries WHERE status IN ('delivered', 'skipped') AND created_at < now() - $1 * interval '1 millisecond'
        ORDER BY created_at LIMIT $2 FOR UPDATE SKIP LOCKED))`,
    [olderThanMs, limit],
  );
  return rowCount ?? 0;
}
