export { parseEnv, env, ConfigError } from './env';
export { repoRoot } from './paths';
export { commonEnv, postgresEnv, drainEnv, kafkaEnv, checkKafkaEnv, amqpEnv, redisEnv, databaseName } from './common';
