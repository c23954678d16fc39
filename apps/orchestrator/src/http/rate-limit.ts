import type { RequestHandler, Response } from 'express';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { Counter } from 'prom-client';
import { RateLimiterRedis, RateLimiterRes } from 'rate-limiter-flexible';
import type { RedisGuard } from '../clients/breakers';
import { callerOf } from './auth';
import { HttpProblem } from './problem';

export interface RateLimitOptions {
  /** Requests per minute per client address, before authentication. */
  perAddressPerMinute: number;
  /** Requests per minute per token caller (`sub`). */
  perCallerPerMinute: number;
  /** Requests per minute per API key without a quota of its own. */
  perKeyPerMinute: number;
  /** Requests per second per caller (token or key) at most. */
  burstPerSecond: number;
  keyPrefix: string;
  logger: Logger;
  /** Counts decisions the limiter could not make (Redis down). */
  errors?: Counter<string>;
  /** Runs each Redis call: the Redis circuit breaker bounds it and fails it at once while open. */
  guard?: RedisGuard;
}

/** The quota policies, by the names the RateLimit fields give them. */
export type PolicyName = 'per-ip' | 'per-caller' | 'burst';
interface Policy {
  name: PolicyName;
  quota: number;
  windowSeconds: number;
}
interface Reading {
  policy: Policy;
  remaining: number;
  resetSeconds: number;
}

/**
 * The two header fields of draft-ietf-httpapi-ratelimit-headers-11 (May 2026), each a Structured Field
 * List (RFC 9651) with one String item per policy that applied, Integer parameters on each:
 * `RateLimit-Policy: "per-ip";q=1000;w=60, "per-caller";q=600;w=60, "burst";q=10;w=1` and
 * `RateLimit: "per-ip";r=<remaining>;t=<s until reset>, …`. Hand-serialized: the policy names are fixed
 * and hold no `"` or `\`, so the sf-strings need no escaping, and every parameter is a non-negative integer.
 */
export function rateLimitFields(readings: Reading[]) {
  return {
    'RateLimit-Policy': readings.map(({ policy }) => `"${policy.name}";q=${policy.quota};w=${policy.windowSeconds}`).join(', '),
    RateLimit: readings.map((r) => `"${r.policy.name}";r=${r.remaining};t=${r.resetSeconds}`).join(', '),
  };
}

/** Whole seconds until the window resets. */
const resetSeconds = (state: RateLimiterRes) => Math.ceil(state.msBeforeNext / 1_000);

/** The readings of this request so far (the address's, then the caller's), kept for the fields. */
function record(res: Response, readings: Reading[]): void {
  const all = [...((res.locals.rateLimits as Reading[] | undefined) ?? []), ...readings];
  res.locals.rateLimits = all;
  const fields = rateLimitFields(all);
  res.set('RateLimit-Policy', fields['RateLimit-Policy']);
  res.set('RateLimit', fields.RateLimit);
}

/**
 * Layered rate limits in Redis (rate-limiter-flexible), so every orchestrator replica shares each
 * budget: `byAddress` per client address before authentication (a flood of bad tokens is limited too;
 * TRUST_PROXY decides whether X-Forwarded-For names the address), `byCaller` after it, per caller per
 * minute (a token's `sub`, or an API key with its own quota or the partner default) and per second (the
 * burst cap). A whole minute's quota may be spent at once up to the burst cap. Each answer carries the
 * RateLimit fields of every policy that applied ({@link rateLimitFields}); a refusal is 429 with
 * `Retry-After` (the longest wait of the policies exhausted). If Redis cannot answer, requests are let
 * through (fail open: availability over strictness), logged and counted in
 * `orderflow_rate_limiter_errors_total`; a frozen Redis costs one command timeout, then nothing while
 * the circuit is open.
 */
export function createRateLimits(redis: Redis, options: RateLimitOptions): { byAddress: RequestHandler; byCaller: RequestHandler } {
  const limiter = (suffix: string, points: number, duration: number) =>
    new RateLimiterRedis({ storeClient: redis, keyPrefix: `${options.keyPrefix}${suffix}`, points, duration, rejectIfRedisNotReady: true });
  const address = { name: 'per-ip', quota: options.perAddressPerMinute, windowSeconds: 60 } as const;
  const burst = { name: 'burst', quota: options.burstPerSecond, windowSeconds: 1 } as const;
  const addressLimiter = limiter('ratelimit-ip', address.quota, 60);
  const burstLimiter = limiter('ratelimit-burst', burst.quota, 1);
  // One per quota: keys with quotas of their own share the per-caller counters' prefix, each caller its own counter.
  const callerLimiters = new Map<number, RateLimiterRedis>();
  const callerLimiter = (quota: number) => {
    let found = callerLimiters.get(quota);
    if (!found) callerLimiters.set(quota, (found = limiter('ratelimit', quota, 60)));
    return found;
  };
  const guard: RedisGuard = options.guard ?? ((call) => call());

  /** Consumes one request from each (policy, limiter); records the readings; a refusal is a 429, a Redis failure lets it through. */
  async function consume(res: Response, key: string, checks: [Policy, RateLimiterRedis][]): Promise<HttpProblem | undefined> {
    const outcomes = await Promise.allSettled(checks.map(([, l]) => guard(() => l.consume(key))));
    const readings: Reading[] = [];
    const refused: Reading[] = [];
    let undecided = false;
    for (const [i, outcome] of outcomes.entries()) {
      const state = outcome.status === 'fulfilled' ? outcome.value : outcome.reason;
      if (!(state instanceof RateLimiterRes)) {
        // Counted and logged once per request, however many of its checks failed.
        if (!undecided) {
          options.errors?.inc();
          // The breaker logged the outage when it opened; one line per request on top would flood.
          const circuitOpen = (state as { code?: string }).code === 'EOPENBREAKER';
          options.logger[circuitOpen ? 'debug' : 'warn']({ err: state }, 'rate limiter unavailable; letting the request through');
        }
        undecided = true;
        continue;
      }
      const reading = { policy: checks[i]![0], remaining: Math.max(0, state.remainingPoints), resetSeconds: resetSeconds(state) };
      readings.push(reading);
      if (outcome.status === 'rejected') refused.push(reading);
    }
    record(res, readings);
    if (!refused.length) return undefined;
    // Never earlier than the end of the effective window `t` of every exhausted policy (the draft's SHOULD).
    res.set('Retry-After', String(Math.max(1, ...refused.map((r) => r.resetSeconds))));
    const which = refused.map(
      (r) =>
        `${r.policy.quota} requests per ${r.policy.windowSeconds === 1 ? 'second' : 'minute'} ${r.policy.name === 'per-ip' ? 'per address' : 'per caller'}`,
    );
    return new HttpProblem('rate-limited', `at most ${which.join(' and ')}`);
  }

  return {
    byAddress: async (req, res, next) => next(await consume(res, req.ip ?? req.socket.remoteAddress ?? 'unknown', [[address, addressLimiter]])),
    byCaller: async (req, res, next) => {
      const caller = callerOf(req);
      const quota = caller.ratePerMinute ?? (caller.scopes ? options.perKeyPerMinute : options.perCallerPerMinute);
      const perCaller = { name: 'per-caller', quota, windowSeconds: 60 } as const;
      next(
        await consume(res, caller.id, [
          [perCaller, callerLimiter(quota)],
          [burst, burstLimiter],
        ]),
      );
    },
  };
}
