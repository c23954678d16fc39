import { ConfigError, env } from './env';

/**
 * Bounds on every wait of a Postgres pool (libs/db `createPool`). A transaction may sit idle while a
 * broker confirms (outbox relay, dead-letter replay) or an e-mail goes out, so the idle bound stays
 * above those waits. Migrations use their own client, without a statement timeout.
 */
export const postgresEnv = {
  PG_CONNECT_TIMEOUT_MS: env.int(5_000, 1, 600_000, 'Longest wait for a Postgres connection: connecting, or for a free one in the pool'),
  PG_STATEMENT_TIMEOUT_MS: env.int(10_000, 1, 3_600_000, 'Postgres cancels a statement running longer (statement_timeout); the connection stays usable'),
  PG_QUERY_TIMEOUT_MS: env.int(
    15_000,
    1,
    3_600_000,
    'Client-side bound on one query round trip, for a server or network that stops answering; keep it above PG_STATEMENT_TIMEOUT_MS',
  ),
  PG_IDLE_IN_TRANSACTION_TIMEOUT_MS: env.int(
    60_000,
    1,
    3_600_000,
    'Postgres ends a session whose transaction sits idle longer (idle_in_transaction_session_timeout), releasing its locks',
  ),
};

/** Variables every app reads the same way (README, Configuration). */
export const commonEnv = {
  LOG_LEVEL: env.logLevel(),
  DATABASE_URL: env.url(
    'postgres://postgres@127.0.0.1:5432/postgres',
    ['postgres', 'postgresql'],
    'PostgreSQL server URL; each service uses its own database on it',
  ),
  ...postgresEnv,
  RESOURCE_PREFIX: env.name('', 'Prefix for Kafka topics and groups, RabbitMQ exchanges and queues, Redis keys and database names (test isolation)'),
  SHUTDOWN_TIMEOUT_MS: env.int(10_000, 100, 120_000, 'How long SIGTERM waits for in-flight work before forcing exit'),
  STARTUP_TIMEOUT_MS: env.int(15_000, 0, 300_000, 'How long start-up waits for a dependency before giving up'),
  STATUS_CHECK_INTERVAL_MS: env.int(2_000, 100, 60_000, 'How often the background dependency checks behind /readyz and /status run'),
  STATUS_CHECK_TIMEOUT_MS: env.int(1_000, 50, 30_000, 'How long one dependency check may take before that dependency counts as down'),
};

/** For processes that take requests (HTTP or gRPC): the readiness-first part of a drain. */
export const drainEnv = {
  SHUTDOWN_DRAIN_MS: env.int(
    0,
    0,
    60_000,
    'After SIGTERM, how long the process keeps serving with /readyz at 503 before it stops accepting, so load balancers stop sending first (part of SHUTDOWN_TIMEOUT_MS)',
  ),
};

export const kafkaEnv = {
  KAFKA_BROKERS: env.brokers('127.0.0.1:9092', 'Kafka bootstrap brokers, comma-separated host:port'),
  KAFKA_SSL: env.flag(false, 'Connect to the brokers over TLS (managed Kafka usually needs it)'),
  KAFKA_SASL_MECHANISM: env.choice(['plain', 'scram-sha-256', 'scram-sha-512'] as const, 'SASL mechanism for the brokers; unset means no authentication'),
  KAFKA_SASL_USERNAME: env.optionalString('SASL user name (required with KAFKA_SASL_MECHANISM)'),
  KAFKA_SASL_PASSWORD: env.optionalString('SASL password (required with KAFKA_SASL_MECHANISM)'),
  KAFKA_TOPIC_PARTITIONS: env.int(
    3,
    1,
    1_000,
    'Partitions of the topics an app creates when they are missing (consumer parallelism; existing topics are left as they are)',
  ),
};

/** Cross-field rules of kafkaEnv, checked after parsing: SASL needs both credentials. */
export function checkKafkaEnv(config: { KAFKA_SASL_MECHANISM?: string; KAFKA_SASL_USERNAME?: string; KAFKA_SASL_PASSWORD?: string }): void {
  if (!config.KAFKA_SASL_MECHANISM) return;
  for (const name of ['KAFKA_SASL_USERNAME', 'KAFKA_SASL_PASSWORD'] as const) {
    if (!config[name]) throw new ConfigError(`invalid configuration:\n  ${name}: required when KAFKA_SASL_MECHANISM is set (it is not set)`);
  }
}
export const amqpEnv = {
  AMQP_URL: env.url('amqp://guest:guest@127.0.0.1:5672', ['amqp', 'amqps'], 'RabbitMQ URL'),
};
export const redisEnv = {
  REDIS_URL: env.url('redis://127.0.0.1:6379', ['redis', 'rediss'], 'Redis URL'),
};

/**
 * Bounded life of the tables that grow with traffic (libs/db `createRetentionJob`). Each app spreads
 * the groups its database has; the windows of tables that de-duplicate redeliveries outlast them.
 */
export const retentionEnv = {
  RETENTION_INTERVAL_SECONDS: env.int(300, 1, 86_400, 'How often rows past their retention are purged (in batches; one replica at a time per table)'),
};
export const outboxRetentionEnv = {
  OUTBOX_RETENTION_HOURS: env.number(
    24,
    0.01,
    24 * 365,
    'How long a published outbox row is kept after it was written (hours; fractions allowed); unpublished rows are never purged',
  ),
};
/** The database a service uses on the DATABASE_URL server: `orderflow_<service>`, after the prefix. */
export function databaseName(service: string, prefix = ''): string {
  return `${prefix}orderflow_${service}`;
}
