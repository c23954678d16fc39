export { parseEnv, env, ConfigError } from './env';
export { repoRoot } from './paths';
export { commonEnv, kafkaEnv, amqpEnv, redisEnv, databaseName } from './common';
