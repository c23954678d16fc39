import type { PoolClient } from 'pg';
import { purgeByAge } from '@orderflow/db';

/**
 * Records that `consumer` handled `messageId`, inside the transaction that applies the effect.
 * Returns false when it was already handled: the caller then skips the effect, so a redelivered
 * message changes nothing. The primary key decides, so two concurrent deliveries cannot both win.
 */
export async function claimInbox(tx: Pick<PoolClient, 'query'>, consumer: string, messageId: string): Promise<boolean> {
  const { rowCount } = await tx.query('INSERT INTO inbox (consumer, message_id) VALUES ($1, $2) ON CONFLICT DO NOTHING', [consumer, messageId]);
  return rowCount === 1;
}

/**
 * Deletes up to `limit` inbox rows recorded more than `olderThanMs` ago (retention job). The window
 * must outlast any redelivery: a message re-read after its row is gone would be handled twice.
 */
export const purgeInbox = purgeByAge('inbox', 'ctid', 'processed_at');
