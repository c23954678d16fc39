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

/** The one quota policy: its name in both fields. */
export const RATE_LIMIT_POLICY = 'per-caller';

/**
 * The two header fields of draft-ietf-httpapi-ratelimit-headers-11 (May 2026), each a Structured Field
 * List (RFC 9651) of one String item with Integer parameters:
 * `RateLimit-Policy: "per-caller";q=<quota>;w=<window s>` and `RateLimit: "per-caller";r=<remaining>;t=<s until reset>`.
 * They replace draft-06's `RateLimit-Limit`, `-Remaining`, `-Reset` and `RateLimit-Policy: <limit>;w=<window>`.
 * Hand-serialized: the policy name is fixed and holds no `"` or `\`, so the sf-string needs no escaping,
 * and every parameter is a non-negative integer.
 */
export function rateLimitFields(policy: { quota: number; windowSeconds: number }, limit: { remaining: number; resetSeconds: number }) {
  return {
    'RateLimit-Policy': `"${RATE_LIMIT_POLICY}";q=${policy.quota};w=${policy.windowSeconds}`,
    RateLimit: `"${RATE_LIMIT_POLICY}";r=${limit.remaining};t=${limit.resetSeconds}`,
  };
}

/** Whole seconds until the caller's window resets. */
const resetSeconds = (state: RateLimiterRes) => Math.ceil(state.msBeforeNext / 1_000);

/**
 * Per-caller rate limit in Redis (rate-limiter-flexible), so every orchestrator replica shares one
 * budget per caller. A full minute's budget may be spent at once (bursts are allowed). Sends the
 * `RateLimit-Policy` and `RateLimit` fields (see {@link rateLimitFields}); over the limit → 429 with
 * `Retry-After` as well. If Redis cannot answer, requests
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
  const policy = { quota: options.perMinute, windowSeconds: 60 };
  const headers = (res: Parameters<RequestHandler>[1], state: RateLimiterRes) => {
    const fields = rateLimitFields(policy, { remaining: Math.max(0, state.remainingPoints), resetSeconds: resetSeconds(state) });
    res.set('RateLimit-Policy', fields['RateLimit-Policy']);
    res.set('RateLimit', fields.RateLimit);
  };
  const guard: RedisGuard = options.guard ?? ((call) => call());
  return async (req, res, next) => {
    try {
      headers(res, await guard(() => limiter.consume(callerOf(req).id)));
      next();
    } catch (outcome) {
      if (outcome instanceof RateLimiterRes) {
        headers(res, outcome);
        // Never earlier than the end of the effective window `t` (the draft's SHOULD).
        res.set('Retry-After', String(Math.max(1, resetSeconds(outcome))));
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
