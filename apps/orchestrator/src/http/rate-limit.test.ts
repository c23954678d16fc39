// The rate limiter against the real Redis, behind a proxy the test can freeze (a Redis that keeps
// its connections and stops answering).
import type { Request, RequestHandler, Response } from 'express';
import type { Redis } from 'ioredis';
import pino from 'pino';
import { Registry } from 'prom-client';
import { startFreezableProxy, testInfra, uniqueName, type FreezableProxy } from '@orderflow/testing';
import { createBreakers } from '../clients/breakers';
import { createRedisClient } from '../clients/redis';
import { downstreamSettings, loadOrchestratorConfig } from '../config';
import { createOrchestratorMetrics } from '../metrics';
import { rateLimit } from './rate-limit';

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

const limiter = (perMinute: number) =>
  rateLimit(redis, { perMinute, keyPrefix: `${uniqueName('rate_limit')}:`, logger, errors: metrics.rateLimiterErrors, guard: breakers.redis });

/** Runs the middleware for one request of `caller`: what it passed to next(), its headers, how long it took. */
async function decide(handler: RequestHandler, caller = 'alice') {
  const headers: Record<string, string> = {};
  const req = { caller: { id: caller, role: 'customer' } } as unknown as Request;
  const res = { set: (name: string, value: string) => ((headers[name] = value), res) } as unknown as Response;
  const started = Date.now();
  const passed = await new Promise<unknown>((resolve) => handler(req, res, (error?: unknown) => resolve(error)));
  return { passed, headers, ms: Date.now() - started };
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
    const reset = (value: string | undefined) => Number(/^"per-caller";r=\d+;t=(\d+)$/.exec(value ?? '')?.[1]);
    for (const [i, { headers }] of answers.entries()) {
      expect(headers['RateLimit-Policy']).toBe('"per-caller";q=2;w=60');
      const t = reset(headers['RateLimit']);
      expect(t).toBeGreaterThanOrEqual(58);
      expect(t).toBeLessThanOrEqual(60);
      expect(headers['RateLimit']).toBe(`"per-caller";r=${[1, 0, 0][i]};t=${t}`);
      expect(Object.keys(headers).filter((name) => /^RateLimit-(Limit|Remaining|Reset)$/.test(name))).toEqual([]);
    }
    expect(first.headers['Retry-After']).toBeUndefined();
    expect(second.headers['Retry-After']).toBeUndefined();
    // Retry-After on the refusal is no earlier than the end of the effective window.
    expect(refused.headers['Retry-After']).toBe(String(reset(refused.headers['RateLimit'])));
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
