import type { ErrorRequestHandler, Request, RequestHandler, Response } from 'express';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { Counter } from 'prom-client';
import { createGroupCommit } from '@orderflow/platform';
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
  /** The clock of the addresses remembered as over their quota (tests move it). */
  now?: () => number;
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

/**
 * Takes one request from each counter in KEYS (ARGV[i]: KEYS[i]'s window in ms) and answers, per key,
 * its count in the current window and the ms until that window ends. Fixed windows: a counter starts
 * its window on its first request and expires with it. One script for every policy of a request, so a
 * request costs one Redis round trip (the keys of one request must then live on one node: no cluster).
 */
const CONSUME_SCRIPT = `
local result = {}
for i, key in ipairs(KEYS) do
  local count = redis.call('INCR', key)
  local ttl = redis.call('PTTL', key)
  if ttl < 0 then
    ttl = tonumber(ARGV[i])
    redis.call('PEXPIRE', key, ttl)
  end
  result[2 * i - 1] = count
  result[2 * i] = ttl
end
return result
`;

type ConsumingRedis = Redis & { orderflowRateLimitConsume(keyCount: number, ...keysThenWindows: (string | number)[]): Promise<number[]> };

/** A counter a request takes one from: its policy and its key in Redis. */
interface Check {
  policy: Policy;
  key: string;
}

/** The readings of this request so far (the address's, then the caller's), kept for the fields. */
function record(res: Response, readings: Reading[]): void {
  const all = [...((res.locals.rateLimits as Reading[] | undefined) ?? []), ...readings];
  res.locals.rateLimits = all;
  const fields = rateLimitFields(all);
  res.set('RateLimit-Policy', fields['RateLimit-Policy']);
  res.set('RateLimit', fields.RateLimit);
}

const clientAddress = (req: Request) => req.ip ?? req.socket?.remoteAddress ?? 'unknown';

/** Addresses remembered as over their quota, at most: a flood from many addresses cannot grow the map without bound. */
const MAX_ADDRESSES_OVER = 10_000;

/**
 * The addresses this process has seen refused, until their window ends. An address over its quota is
 * refused from here before its credentials are checked (no signature check, no JWKS lookup, no Redis
 * call), so a flood of bad tokens costs this process almost nothing once Redis has said it is over; the
 * first request of the flood to reach another replica teaches that one the same.
 */
function createAddressesOver(now: () => number) {
  const until = new Map<string, number>();
  return {
    remember(addressKey: string, resetSeconds: number) {
      until.delete(addressKey);
      // Full: forget the one remembered longest ago (the map keeps insertion order), the first to expire.
      if (until.size >= MAX_ADDRESSES_OVER) until.delete(until.keys().next().value!);
      until.set(addressKey, now() + resetSeconds * 1_000);
    },
    /** Seconds until the address may be counted again, or undefined if it is not known to be over. */
    secondsLeft(addressKey: string): number | undefined {
      const end = until.get(addressKey);
      if (end === undefined) return undefined;
      if (end > now()) return Math.ceil((end - now()) / 1_000);
      until.delete(addressKey);
      return undefined;
    },
  };
}

/**
 * Layered rate limits in Redis, so every orchestrator replica shares each budget: per client address
 * (a flood of bad tokens is limited too; TRUST_PROXY decides whether X-Forwarded-For names the
 * address), per caller per minute (a token's `sub`, or an API key with its own quota or the partner
 * default) and per caller per second (the burst cap). A whole minute's quota may be spent at once up
 * to the burst cap.
 *
 * Every request is counted once against each policy that applies, in one Redis call
 * ({@link CONSUME_SCRIPT}; three calls per request cost the orchestrator and Redis a measurable share of
 * their CPU per order), a call it shares with the requests that arrive while another is under way. So a
 * bearer-token request is counted after its token is checked (a signature check, no I/O): `byCaller` takes address, caller and burst together, and `afterFailedAuthentication`
 * takes the address of a request whose credentials were refused, turning its 401 into a 429 once the
 * address is over. An API-key request is counted by address in `beforeAuthentication`, since looking
 * its key up reads the database, and by caller and burst after. Once Redis has refused an address, this
 * process refuses it in `beforeAuthentication` until its window ends, before any credential is looked at
 * and without a Redis call (createAddressesOver): a flood of bad tokens then costs no signature checks.
 *
 * Each answer carries the RateLimit fields of every policy that applied ({@link rateLimitFields}); a
 * refusal is 429 with `Retry-After` (the longest wait of the policies exhausted). If Redis cannot
 * answer, requests are let through (fail open: availability over strictness), logged and counted in
 * `orderflow_rate_limiter_errors_total`; a frozen Redis costs one command timeout, then nothing while
 * the circuit is open.
 */
export function createRateLimits(redis: Redis, options: RateLimitOptions) {
  const address = { name: 'per-ip', quota: options.perAddressPerMinute, windowSeconds: 60 } as const;
  const burst = { name: 'burst', quota: options.burstPerSecond, windowSeconds: 1 } as const;
  const keys = {
    address: (req: Request) => `${options.keyPrefix}ratelimit-ip:${clientAddress(req)}`,
    caller: (id: string) => `${options.keyPrefix}ratelimit:${id}`,
    burst: (id: string) => `${options.keyPrefix}ratelimit-burst:${id}`,
  };
  const guard: RedisGuard = options.guard ?? ((call) => call());
  const addressesOver = createAddressesOver(options.now ?? Date.now);
  const consuming = redis as ConsumingRedis;
  // EVALSHA, loading the script on NOSCRIPT (ioredis); idempotent, so several limiters may share a client.
  if (!consuming.orderflowRateLimitConsume) redis.defineCommand('orderflowRateLimitConsume', { lua: CONSUME_SCRIPT });

  // The checks of the requests that arrive while a call is under way share the next call (the script
  // takes any number of counters; a key twice in one call is counted twice): under load one Redis
  // call serves many requests, while a lone request waits for nothing but the current turn of the loop.
  const counting = createGroupCommit<Check[], number[]>({
    maxBatch: 128,
    maxConcurrent: 2,
    async run(requests) {
      const checks = requests.flat();
      const windowsMs = checks.map((c) => c.policy.windowSeconds * 1_000);
      const counted = await guard(() => consuming.orderflowRateLimitConsume(checks.length, ...checks.map((c) => c.key), ...windowsMs));
      let taken = 0;
      return requests.map((mine) => {
        const from = 2 * taken;
        taken += mine.length;
        return counted.slice(from, 2 * taken);
      });
    },
  });

  /** Takes one request from every check (in a Redis call it may share); records the readings; a refusal is a 429, a Redis failure lets it through. */
  async function consume(res: Response, checks: Check[]): Promise<HttpProblem | undefined> {
    let counted: number[];
    try {
      counted = await counting.add(checks);
    } catch (error) {
      options.errors?.inc();
      // The breaker logged the outage when it opened; one line per request on top would flood.
      const circuitOpen = (error as { code?: string }).code === 'EOPENBREAKER';
      options.logger[circuitOpen ? 'debug' : 'warn']({ err: error }, 'rate limiter unavailable; letting the request through');
      return undefined;
    }
    const readings = checks.map(({ policy, key }, i) => ({
      policy,
      key,
      count: counted[2 * i]!,
      reading: { policy, remaining: Math.max(0, policy.quota - counted[2 * i]!), resetSeconds: Math.ceil(counted[2 * i + 1]! / 1_000) },
    }));
    record(
      res,
      readings.map((r) => r.reading),
    );
    const refused = readings.filter((r) => r.count > r.policy.quota).map((r) => r.reading);
    if (!refused.length) return undefined;
    const addressOver = readings.find((r) => r.policy === address && r.count > address.quota);
    if (addressOver) addressesOver.remember(addressOver.key, addressOver.reading.resetSeconds);
    return refusal(res, refused);
  }

  /** The 429 for the exhausted policies; Retry-After is the longest of their waits. */
  function refusal(res: Response, refused: Reading[]): HttpProblem {
    // Never earlier than the end of the effective window `t` of every exhausted policy (the draft's SHOULD).
    res.set('Retry-After', String(Math.max(1, ...refused.map((r) => r.resetSeconds))));
    const which = refused.map(
      (r) =>
        `${r.policy.quota} requests per ${r.policy.windowSeconds === 1 ? 'second' : 'minute'} ${r.policy.name === 'per-ip' ? 'per address' : 'per caller'}`,
    );
    return new HttpProblem('rate-limited', `at most ${which.join(' and ')}`);
  }

  /** Counts the request against its address, once: the first of the three handlers that gets to it. */
  const addressCheck = (req: Request, res: Response): Check[] => {
    if (res.locals.addressCounted) return [];
    res.locals.addressCounted = true;
    return [{ policy: address, key: keys.address(req) }];
  };

  const beforeAuthentication: RequestHandler = async (req, res, next) => {
    const secondsLeft = addressesOver.secondsLeft(keys.address(req));
    if (secondsLeft !== undefined) {
      // Known to be over: refused without a look at its credentials or a Redis call.
      res.locals.addressCounted = true;
      const reading = { policy: address, remaining: 0, resetSeconds: secondsLeft };
      record(res, [reading]);
      return next(refusal(res, [reading]));
    }
    next(req.get('x-api-key') === undefined ? undefined : await consume(res, addressCheck(req, res)));
  };

  const afterFailedAuthentication: ErrorRequestHandler = async (error, req, res, next) => {
    const checks = addressCheck(req, res);
    next((checks.length && (await consume(res, checks))) || error);
  };

  const byCaller: RequestHandler = async (req, res, next) => {
    const caller = callerOf(req);
    const quota = caller.ratePerMinute ?? (caller.scopes ? options.perKeyPerMinute : options.perCallerPerMinute);
    const perCaller = { name: 'per-caller', quota, windowSeconds: 60 } as const;
    next(await consume(res, [...addressCheck(req, res), { policy: perCaller, key: keys.caller(caller.id) }, { policy: burst, key: keys.burst(caller.id) }]));
  };

  return {
    /** Before authentication: an address known to be over is refused; the address of an X-API-Key request (its authentication reads the database) is counted. */
    beforeAuthentication,
    /** After authentication refused the credentials: the address, unless counted; over it, 429 instead of the refusal. */
    afterFailedAuthentication,
    /** After authentication: the caller's quota and burst cap, and the address unless counted, in one call. */
    byCaller,
  };
}

export type RateLimits = ReturnType<typeof createRateLimits>;
