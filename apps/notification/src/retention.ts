import type { RetentionPolicy } from '@orderflow/db';
import type { NotificationConfig } from './config';
import { purgeEmailLog } from './db/email-log';

const DAY_MS = 86_400_000;

/** The notification worker's tables that grow with traffic, and when their rows go. */
export function retentionPolicies(config: Pick<NotificationConfig, 'EMAIL_LOG_RETENTION_DAYS'>): RetentionPolicy[] {
  return [{ name: 'emails', olderThanMs: config.EMAIL_LOG_RETENTION_DAYS * DAY_MS, purge: purgeEmailLog }];
}
