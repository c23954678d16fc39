export { parseEnv, env, ConfigError } from './env';
export { repoRoot } from './paths';
export { commonEnv, drainEnv, kafkaEnv, checkKafkaEnv, amqpEnv, redisEnv, databaseName } from './common';
