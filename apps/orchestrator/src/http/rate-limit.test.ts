// The rate limiter against the real Redis, behind a proxy the test can freeze (a Redis that keeps
// its connections and stops answering).
import type { Request, RequestHandler, Response } from 'express';
import type { Redis } from 'ioredis';
import pino from 'pino';
import { Registry } from 'prom-client';
import { startFreezableProxy, testInfra, uniqueName, type FreezableProxy } from '@orderflow/testing';
import { createBreakers, type RedisGuard } from '../clients/breakers';
import { createRedisClient } from '../clients/redis';
import { downstreamSettings, loadOrchestratorConfig } from '../config';
import { createOrchestratorMetrics } from '../metrics';
import { HttpProblem } from './problem';
import { createRateLimits } from './rate-limit';

const logger = pino({ level: 'silent' });

let proxy: FreezableProxy;
let redis: Redis;
let breakers: ReturnType<typeof createBreakers>;
let metrics: ReturnType<typeof createOrchestratorMetrics>;

beforeEach(async () => {
  const { hostname, port } = new URL(testInfra().redisUrl);
  proxy = await startFreezableProxy({ host: hostname, port: Number(port || 6379) });
  const config = loadOrchestratorConfig({
    JWT_SECRET: 'a-real-secret-of-at-least-32-characters!',
    REDIS_URL: `redis://${proxy.address}`,
    REDIS_COMMAND_TIMEOUT_MS: '200',
  });
  redis = createRedisClient(config);
  await redis.connect();
  metrics = createOrchestratorMetrics(new Registry());
  breakers = createBreakers(downstreamSettings(config).breakers, logger, metrics);
});
afterEach(async () => {
  breakers?.shutdown();
  redis?.disconnect();
  await proxy?.close();
});

type Quotas = { perMinute?: number; perKey?: number; burst?: number; perAddress?: number };
const limits = ({ perMinute = 1_000, perKey = 1_000, burst = 1_000, perAddress = 1_000 }: Quotas = {}) =>
  createRateLimits(redis, {
    perAddressPerMinute: perAddress,
    perCallerPerMinute: perMinute,
    perKeyPerMinute: perKey,
    burstPerSecond: burst,
    keyPrefix: `${uniqueName('rate_limit')}:`,
    logger,
    errors: metrics.rateLimiterErrors,
    guard: breakers.redis,
  });
/** The per-caller limits alone (a per-minute quota, and a burst cap out of the way unless given). */
const limiter = (perMinute: number, burst = 1_000) => limits({ perMinute, burst }).byCaller;

type TestCaller = { id: string; role: 'customer'; scopes?: string[]; ratePerMinute?: number };
interface TestRequest {
  caller?: string | TestCaller;
  ip?: string;
  headers?: Record<string, string>;
  /** The answers so far of the same request (its `res.locals`): a later handler sees what an earlier one counted. */
  locals?: Record<string, unknown>;
}
/** Runs the middleware for one request of `caller` from `ip`: what it passed to next(), its headers, how long it took. */
async function decide(handler: RequestHandler, caller: string | TestCaller = 'alice', ip = '192.0.2.1') {
  return run((req, res, next) => handler(req, res, next), { caller, ip });
}
async function run(
  handler: (req: Request, res: Response, next: (error?: unknown) => void) => unknown,
  { caller, ip = '192.0.2.1', headers: sent = {}, locals = {} }: TestRequest,
) {
  const headers: Record<string, string> = {};
  const req = {
    ...(caller === undefined ? {} : { caller: typeof caller === 'string' ? { id: caller, role: 'customer' } : caller }),
    ip,
    get: (name: string) => sent[name.toLowerCase()],
  } as unknown as Request;
  const res = { set: (name: string, value: string) => ((headers[name] = value), res), locals } as unknown as Response;
  const started = Date.now();
  const passed = await new Promise<unknown>((resolve) => void handler(req, res, (error?: unknown) => resolve(error)));
  return { passed, headers, locals, ms: Date.now() - started };
}

const errorsCounted = async () => (await metrics.rateLimiterErrors.get()).values[0]?.value ?? 0;
const redisState = () => breakers.states().find((s) => s.name === 'redis')?.state;

describe('the rate limiter', () => {
  it('sends RateLimit-Policy and RateLimit as structured fields, and Retry-After when over the limit', async () => {
    const handler = limiter(2);
    const first = await decide(handler);
    const second = await decide(handler);
    const refused = await decide(handler);
    const answers = [first, second, refused];
    expect(answers.map((a) => a.passed)).toEqual([undefined, undefined, expect.objectContaining({ problem: 'rate-limited' })]);
    // RateLimit: "<policy>";r=<remaining>;t=<seconds until the quota resets>; the window began with the first request.
    const reset = (value: string | undefined) => Number(/^"[a-z-]+";r=\d+;t=(\d+)$/.exec(value ?? '')?.[1]);
    for (const [i, { headers }] of answers.entries()) {
      expect(headers['RateLimit-Policy']).toBe('"per-ip";q=1000;w=60, "per-caller";q=2;w=60, "burst";q=1000;w=1');
      const [address, caller] = (headers['RateLimit'] ?? '').split(', ').map(reset);
      for (const t of [address, caller]) {
        expect(t).toBeGreaterThanOrEqual(58);
        expect(t).toBeLessThanOrEqual(60);
      }
      expect(headers['RateLimit']).toBe(`"per-ip";r=${999 - i};t=${address}, "per-caller";r=${[1, 0, 0][i]};t=${caller}, "burst";r=${999 - i};t=1`);
      expect(Object.keys(headers).filter((name) => /^RateLimit-(Limit|Remaining|Reset)$/.test(name))).toEqual([]);
    }
    expect(first.headers['Retry-After']).toBeUndefined();
    expect(second.headers['Retry-After']).toBeUndefined();
    // Retry-After on the refusal is no earlier than the end of the effective window.
    expect(refused.headers['Retry-After']).toBe(String(reset(refused.headers['RateLimit']?.split(', ')[1])));
  });

  it('counts each client address once per request, whoever it authenticates as', async () => {
    const { byCaller } = limits({ perAddress: 2 });
    const fromOneAddress = [await decide(byCaller, 'x'), await decide(byCaller, 'y'), await decide(byCaller, 'z')];
    expect(fromOneAddress.map((a) => a.passed)).toEqual([undefined, undefined, expect.objectContaining({ problem: 'rate-limited' })]);
    expect(fromOneAddress[2]!.headers['RateLimit-Policy']).toMatch(/^"per-ip";q=2;w=60, "per-caller"/);
    expect(fromOneAddress[2]!.headers['Retry-After']).toMatch(/^[0-9]+$/);
    expect((await decide(byCaller, 'x', '198.51.100.7')).passed).toBeUndefined();
  });

  it('limits a flood of refused credentials by address: their 401 becomes a 429 once the address is over', async () => {
    const { beforeAuthentication, afterFailedAuthentication } = limits({ perAddress: 2 });
    const unauthorized = new HttpProblem('unauthorized', 'bad token');
    const badToken = async (ip = '192.0.2.1') => {
      const locals = {};
      expect((await run(beforeAuthentication, { ip, locals })).passed).toBeUndefined(); // a bearer token is counted after its check
      return run((req, res, next) => afterFailedAuthentication(unauthorized, req, res, next), { ip, locals });
    };
    const answers = [await badToken(), await badToken(), await badToken()];
    expect(answers.map((a) => a.passed)).toEqual([unauthorized, unauthorized, expect.objectContaining({ problem: 'rate-limited' })]);
    expect(answers[2]!.headers['RateLimit-Policy']).toBe('"per-ip";q=2;w=60');
    expect((await badToken('198.51.100.7')).passed).toBe(unauthorized);
  });

  it('refuses an address known to be over before its credentials are checked, without a Redis call, until its window ends', async () => {
    let calls = 0;
    let now = Date.now();
    const { beforeAuthentication, afterFailedAuthentication } = createRateLimits(redis, {
      perAddressPerMinute: 1,
      perCallerPerMinute: 1_000,
      perKeyPerMinute: 1_000,
      burstPerSecond: 1_000,
      keyPrefix: `${uniqueName('rate_limit')}:`,
      logger,
      guard: (call) => (calls++, breakers.redis(call)),
      now: () => now,
    });
    const unauthorized = new HttpProblem('unauthorized', 'bad token');
    /** A request with a bad token: passed before authentication, then refused by it (if it got that far). */
    const badToken = async (ip = '192.0.2.1') => {
      const locals = {};
      const before = await run(beforeAuthentication, { ip, locals });
      if (before.passed !== undefined) return { ...before, checked: false };
      return { ...(await run((req, res, next) => afterFailedAuthentication(unauthorized, req, res, next), { ip, locals })), checked: true };
    };
    expect((await badToken()).passed).toBe(unauthorized);
    const over = await badToken();
    expect(over).toMatchObject({ checked: true, passed: { problem: 'rate-limited' } });
    expect(calls).toBe(2);

    // From now on this process refuses the address before authentication, with no Redis call.
    const known = await badToken();
    expect(known).toMatchObject({ checked: false, passed: { problem: 'rate-limited' } });
    expect(calls).toBe(2);
    expect(known.headers['RateLimit-Policy']).toBe('"per-ip";q=1;w=60');
    expect(known.headers['RateLimit']).toMatch(/^"per-ip";r=0;t=(59|60)$/);
    expect(known.headers['Retry-After']).toMatch(/^(59|60)$/);
    // Another address is counted as usual.
    expect((await badToken('198.51.100.7')).passed).toBe(unauthorized);
    expect(calls).toBe(3);

    // Once the window has ended the address is counted in Redis again (whose own counter decides).
    now += 61_000;
    expect((await badToken()).checked).toBe(true);
    expect(calls).toBe(4);
  });

  it('counts the address of an API-key request before its key is looked up, and only once', async () => {
    const { beforeAuthentication, afterFailedAuthentication, byCaller } = limits({ perAddress: 1 });
    const headers = { 'x-api-key': 'ofk_a_b' };
    const partner: TestCaller = { id: 'apikey:a', role: 'customer', scopes: ['orders:read'] };
    const first = { locals: {} };
    expect((await run(beforeAuthentication, { headers, ...first })).passed).toBeUndefined();
    // The same request after its key authenticated: caller and burst only, the address is counted already.
    const after = await run(byCaller, { caller: partner, headers, ...first });
    expect(after.passed).toBeUndefined();
    expect(after.headers['RateLimit-Policy']).toMatch(/^"per-ip";q=1;w=60, "per-caller";q=1000;w=60, "burst"/);
    // The next one is refused by address before its key is looked up, and a refused key is not counted twice.
    const second = { locals: {} };
    const refused = await run(beforeAuthentication, { headers, ...second });
    expect(refused.passed).toMatchObject({ problem: 'rate-limited' });
    const unauthorized = new HttpProblem('unauthorized', 'bad key');
    expect((await run((req, res, next) => afterFailedAuthentication(refused.passed, req, res, next), { headers, ...second })).passed).toBe(refused.passed);
    expect((await run((req, res, next) => afterFailedAuthentication(unauthorized, req, res, next), { headers, ...second })).passed).toBe(unauthorized);
  });

  it('takes every policy of a request from Redis in one call', async () => {
    let calls = 0;
    const counting: RedisGuard = (call) => (calls++, breakers.redis(call));
    const { byCaller } = createRateLimits(redis, {
      perAddressPerMinute: 10,
      perCallerPerMinute: 10,
      perKeyPerMinute: 10,
      burstPerSecond: 10,
      keyPrefix: `${uniqueName('rate_limit')}:`,
      logger,
      guard: counting,
    });
    const { headers } = await decide(byCaller);
    expect(headers['RateLimit-Policy']).toBe('"per-ip";q=10;w=60, "per-caller";q=10;w=60, "burst";q=10;w=1');
    expect(calls).toBe(1);
  });

  it('counts requests that arrive together in a shared Redis call, each against its own counters', async () => {
    let calls = 0;
    const { byCaller } = createRateLimits(redis, {
      perAddressPerMinute: 1_000,
      perCallerPerMinute: 15,
      perKeyPerMinute: 1_000,
      burstPerSecond: 1_000,
      keyPrefix: `${uniqueName('rate_limit')}:`,
      logger,
      guard: (call) => (calls++, breakers.redis(call)),
    });
    // 20 requests of one caller at once (from 20 addresses), and one of another caller.
    const answers = await Promise.all([...Array.from({ length: 20 }, (_, i) => decide(byCaller, 'alice', `192.0.2.${i + 1}`)), decide(byCaller, 'bob')]);
    expect(calls).toBeLessThan(5);
    const remaining = (a: (typeof answers)[number]) => Number(/"per-caller";r=(\d+)/.exec(a.headers['RateLimit'] ?? '')?.[1]);
    // Every one of alice's requests was counted once: 15 passed with 14..0 left, 5 refused.
    const alice = answers.slice(0, 20);
    expect(
      alice
        .filter((a) => a.passed === undefined)
        .map(remaining)
        .sort((x, y) => y - x),
    ).toEqual(Array.from({ length: 15 }, (_, i) => 14 - i));
    expect(alice.filter((a) => a.passed !== undefined)).toHaveLength(5);
    expect(answers[20]!.passed).toBeUndefined();
    expect(remaining(answers[20]!)).toBe(14);
    // Each address was counted once.
    expect(alice.every((a) => /^"per-ip";r=999;/.test(a.headers['RateLimit'] ?? ''))).toBe(true);
  });

  it('caps each caller per second within its per-minute quota', async () => {
    const handler = limiter(100, 3);
    const answers = [];
    for (let i = 0; i < 4; i++) answers.push(await decide(handler, 'bursty'));
    expect(answers.map((a) => a.passed)).toEqual([undefined, undefined, undefined, expect.objectContaining({ problem: 'rate-limited' })]);
    expect(answers[3]!.headers['Retry-After']).toBe('1');
    expect((await decide(handler, 'calm')).passed).toBeUndefined();
  });

  it('gives an API key the partner quota, or its own, apart from token callers', async () => {
    const { byCaller } = limits({ perMinute: 100, perKey: 1 });
    const key = (id: string, ratePerMinute?: number): TestCaller => ({
      id: `apikey:${id}`,
      role: 'customer',
      scopes: ['orders:read'],
      ...(ratePerMinute ? { ratePerMinute } : {}),
    });
    const partner = [await decide(byCaller, key('a')), await decide(byCaller, key('a'))];
    expect(partner.map((a) => a.passed)).toEqual([undefined, expect.objectContaining({ problem: 'rate-limited' })]);
    expect(partner[0]!.headers['RateLimit-Policy']).toMatch(/^"per-ip";q=1000;w=60, "per-caller";q=1;w=60, /);
    const own = [await decide(byCaller, key('b', 2)), await decide(byCaller, key('b', 2)), await decide(byCaller, key('b', 2))];
    expect(own.map((a) => a.passed)).toEqual([undefined, undefined, expect.objectContaining({ problem: 'rate-limited' })]);
    expect((await decide(byCaller, 'a-token-caller')).passed).toBeUndefined();
  });

  it('lets a request through and counts it when Redis times out', async () => {
    const handler = limiter(100);
    proxy.freeze();
    const { passed, ms } = await decide(handler);
    expect(passed).toBeUndefined(); // next() without an error: the request goes on
    expect(ms).toBeLessThan(1_000);
    expect(await errorsCounted()).toBe(1);
    expect(redisState()).toBe('open');
  });

  it('answers over-the-limit with 429 and keeps the Redis circuit closed: a refusal is an answer, not a failure', async () => {
    const handler = limiter(1);
    expect((await decide(handler)).passed).toBeUndefined();
    for (let i = 0; i < 6; i++) {
      const { passed, headers } = await decide(handler);
      expect(passed).toMatchObject({ problem: 'rate-limited' });
      expect(headers['Retry-After']).toBeDefined();
    }
    expect(redisState()).toBe('closed');
    expect(await errorsCounted()).toBe(0);
  });
});
