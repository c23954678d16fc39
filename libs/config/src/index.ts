export { parseEnv, env, ConfigError, isSecretName, redactSecrets } from './env';
export { repoRoot } from './paths';
export { commonEnv, postgresEnv, drainEnv, kafkaEnv, checkKafkaEnv, amqpEnv, redisEnv, databaseName } from './common';
export { retentionEnv, outboxRetentionEnv } from './common';
