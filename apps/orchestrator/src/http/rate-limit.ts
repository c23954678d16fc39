import type { RequestHandler } from 'express';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { Counter } from 'prom-client';
import { RateLimiterRedis, RateLimiterRes } from 'rate-limiter-flexible';
import type { RedisGuard } from '../clients/breakers';
import { callerOf } from './auth';
import { HttpProblem } from './problem';

export interface RateLimitOptions {
  perMinute: number;
  keyPrefix: string;
  logger: Logger;
  /** Counts decisions the limiter could not make (Redis down). */
  errors?: Counter<string>;
  /** Runs each Redis call: the Redis circuit breaker bounds it and fails it at once while open. */
  guard?: RedisGuard;
}

/**
 * Per-caller rate limit in Redis (rate-limiter-flexible), so every orchestrator replica shares one
 * budget per caller. A full minute's budget may be spent at once (bursts are allowed). Sends the IETF
 * `RateLimit-*` headers; over the limit → 429 with `Retry-After`. If Redis cannot answer, requests
 * are let through (fail open: availability over strictness), logged and counted in
 * `orderflow_rate_limiter_errors_total`; a frozen Redis costs one command timeout, then nothing while the
 * circuit is open.
 */
export function rateLimit(redis: Redis, options: RateLimitOptions): RequestHandler {
  const limiter = new RateLimiterRedis({
    storeClient: redis,
    keyPrefix: `${options.keyPrefix}ratelimit`,
    points: options.perMinute,
    duration: 60,
    rejectIfRedisNotReady: true,
  });
  const headers = (res: Parameters<RequestHandler>[1], state: RateLimiterRes) => {
    res.set('RateLimit-Limit', String(options.perMinute));
    res.set('RateLimit-Remaining', String(Math.max(0, state.remainingPoints)));
    res.set('RateLimit-Reset', String(Math.ceil(state.msBeforeNext / 1_000)));
    res.set('RateLimit-Policy', `${options.perMinute};w=60`);
  };
  const guard: RedisGuard = options.guard ?? ((call) => call());
  return async (req, res, next) => {
    try {
      headers(res, await guard(() => limiter.consume(callerOf(req).id)));
      next();
    } catch (outcome) {
      if (outcome instanceof RateLimiterRes) {
        headers(res, outcome);
        res.set('Retry-After', String(Math.max(1, Math.ceil(outcome.msBeforeNext / 1_000))));
        return next(new HttpProblem('rate-limited', `at most ${options.perMinute} requests per minute`));
      }
      options.errors?.inc();
      // The breaker logged the outage when it opened; one line per request on top would flood.
      const circuitOpen = (outcome as { code?: string }).code === 'EOPENBREAKER';
      options.logger[circuitOpen ? 'debug' : 'warn']({ err: outcome }, 'rate limiter unavailable; letting the request through');
      next();
    }
  };
}
