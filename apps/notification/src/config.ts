import { join } from 'node:path';
import { amqpEnv, commonEnv, env, parseEnv, repoRoot, retentionEnv } from '@orderflow/config';

/** Everything the notification worker reads from env, validated once at start-up. */
export const notificationEnv = {
  ...commonEnv,
  ...amqpEnv,
  HTTP_HOST: env.string('0.0.0.0', 'Interface the ops HTTP server binds'),
  HTTP_PORT: env.port(8083, 'Ops HTTP port: /healthz, /readyz, /status, /metrics'),
  SMTP_URL: env.optionalString('SMTP server URL (smtp://user:pass@host:port); when unset, e-mails are written to MAIL_DIR'),
  SMTP_TIMEOUT_MS: env.int(
    15_000,
    1,
    600_000,
    'Longest the SMTP client waits to connect, for the greeting, or for any one reply (an SMTP_URL query option such as socketTimeout overrides it)',
  ),
  MAIL_DIR: env.string(join(repoRoot(), 'var', 'mail'), 'Directory for one .eml file per e-mail when SMTP_URL is unset'),
  MAIL_FROM: env.string('orderflow <orders@orderflow.local>', 'From address of every e-mail'),
  TASK_PREFETCH: env.int(
    16,
    1,
    1_000,
    'Tasks in flight at once (RabbitMQ prefetch), also the largest batch; a batch holds one database connection while its e-mails are sent',
  ),
  ...retentionEnv,
  // A task is redelivered within a minute (RabbitMQ retries, the orchestrator's outbox re-sending after
  // a crash); one replayed from a dead letter was never sent, so it has no row to miss.
  EMAIL_LOG_RETENTION_DAYS: env.number(
    7,
    0.001,
    3_650,
    'How long the record of a sent e-mail is kept (days); a task redelivered after that would be sent again',
  ),
};

export type NotificationConfig = ReturnType<typeof loadNotificationConfig>;

export function loadNotificationConfig(source: NodeJS.ProcessEnv = process.env) {
  return parseEnv(notificationEnv, source);
}

/**
 * Postgres connections one notification replica holds at most: a pool of 3 — the batch in flight
 * (batches run one at a time, each on one connection whatever TASK_PREFETCH is), the retention job,
 * one spare — plus the health check's own.
 */
export function postgresConnections(): { pool: number; dedicated: number } {
  return { pool: 3, dedicated: 1 };
}
