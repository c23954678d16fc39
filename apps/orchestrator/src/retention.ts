import type { RetentionPolicy } from '@orderflow/db';
import { purgePublishedOutbox } from '@orderflow/messaging';
import type { OrchestratorConfig } from './config';
import { purgeDiscardedDeadLetters, purgeReplayedDeadLetters } from './dead-letters/dead-letter-retention';
import { purgeFinishedSagas } from './saga/saga-retention';
import { purgeSettledDeliveries } from './webhooks/delivery-retention';

const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;

type RetentionConfig = Pick<
  OrchestratorConfig,
  'OUTBOX_RETENTION_HOURS' | 'SAGA_RETENTION_DAYS' | 'DEAD_LETTER_RETENTION_DAYS' | 'WEBHOOK_DELIVERY_RETENTION_DAYS'
>;

/** The orchestrator's tables that grow with traffic, and when their finished rows go. */
export function retentionPolicies(config: RetentionConfig): RetentionPolicy[] {
  return [
    { name: 'outbox', olderThanMs: config.OUTBOX_RETENTION_HOURS * HOUR_MS, purge: purgePublishedOutbox },
    { name: 'sagas', olderThanMs: config.SAGA_RETENTION_DAYS * DAY_MS, purge: purgeFinishedSagas },
    { name: 'dead_letters', olderThanMs: config.DEAD_LETTER_RETENTION_DAYS * DAY_MS, purge: purgeReplayedDeadLetters },
    { name: 'dead_letters_discarded', olderThanMs: config.DEAD_LETTER_RETENTION_DAYS * DAY_MS, purge: purgeDiscardedDeadLetters },
    { name: 'webhook_deliveries', olderThanMs: config.WEBHOOK_DELIVERY_RETENTION_DAYS * DAY_MS, purge: purgeSettledDeliveries },
  ];
}
