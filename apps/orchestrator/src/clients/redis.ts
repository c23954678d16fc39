import { Redis } from 'ioredis';

/**
 * The orchestrator's Redis client (rate limit, catalog cache). No offline queue: while Redis is down,
 * commands fail at once and callers go on without it. A frozen Redis keeps the connection 'ready', so
 * `commandTimeout` bounds every command; `breakers.redis` opens at the first that times out.
 */
export function createRedisClient(config: { REDIS_URL: string; REDIS_COMMAND_TIMEOUT_MS: number }): Redis {
  const redis = new Redis(config.REDIS_URL, {
    maxRetriesPerRequest: 1,
    enableOfflineQueue: false,
    lazyConnect: true,
    commandTimeout: config.REDIS_COMMAND_TIMEOUT_MS,
  });
  redis.on('error', () => undefined); // a failed command reports it; reconnects are ioredis' own
  return redis;
}
