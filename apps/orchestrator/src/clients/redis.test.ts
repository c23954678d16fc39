// A frozen Redis against the request path (rate limiter, then catalog), with the real Redis behind a
// proxy the test freezes: connections stay open and 'ready', nothing answers (what SIGSTOP does).
import type { Request, RequestHandler, Response } from 'express';
import type { Redis } from 'ioredis';
import pino from 'pino';
import { Registry } from 'prom-client';
import { startFreezableProxy, testInfra, uniqueName, waitFor, type FreezableProxy } from '@orderflow/testing';
import { createCatalog, type Catalog } from '../catalog/catalog';
import { downstreamSettings, loadOrchestratorConfig } from '../config';
import { createRateLimits } from '../http/rate-limit';
import { createOrchestratorMetrics } from '../metrics';
import { createBreakers } from './breakers';
import type { InventoryPort } from './downstream';
import { createRedisClient } from './redis';

const logger = pino({ level: 'silent' });
const COMMAND_TIMEOUT_MS = 300;
const product = { sku: 'V60-DRIPPER', name: 'V60 dripper', priceCents: 2_500, available: 10 };
const inventory = { getProducts: async (skus: string[]) => (skus.includes(product.sku) ? [product] : []) } as InventoryPort;

let proxy: FreezableProxy;
let redis: Redis;
let breakers: ReturnType<typeof createBreakers>;
let metrics: ReturnType<typeof createOrchestratorMetrics>;
let limiter: RequestHandler;
let catalog: Catalog;

beforeEach(async () => {
  const { hostname, port } = new URL(testInfra().redisUrl);
  proxy = await startFreezableProxy({ host: hostname, port: Number(port || 6379) });
  const config = loadOrchestratorConfig({
    JWT_SECRET: 'a-real-secret-of-at-least-32-characters!',
    REDIS_URL: `redis://${proxy.address}`,
    REDIS_COMMAND_TIMEOUT_MS: String(COMMAND_TIMEOUT_MS),
    REDIS_BREAKER_RESET_MS: '500',
  });
  redis = createRedisClient(config);
  await redis.connect();
  metrics = createOrchestratorMetrics(new Registry());
  breakers = createBreakers(downstreamSettings(config).breakers, logger, metrics);
  const keyPrefix = `${uniqueName('redis_breaker')}:`;
  limiter = createRateLimits(redis, {
    perAddressPerMinute: 1_000,
    perCallerPerMinute: 1_000,
    perKeyPerMinute: 1_000,
    burstPerSecond: 1_000,
    keyPrefix,
    logger,
    errors: metrics.rateLimiterErrors,
    guard: breakers.redis,
  }).byCaller;
  catalog = createCatalog(inventory, redis, { keyPrefix, ttlSeconds: 60, logger, guard: breakers.redis });
});
afterEach(async () => {
  breakers?.shutdown();
  redis?.disconnect();
  await proxy?.close();
});

/** What POST /v1/orders asks of Redis: the rate limit, then the prices. Resolves with its duration. */
async function placeOrder(): Promise<number> {
  const started = Date.now();
  const req = { caller: { id: 'alice', role: 'customer' } } as unknown as Request;
  const res = { set: () => res, locals: {} } as unknown as Response;
  await new Promise<void>((resolve, reject) => limiter(req, res, (error?: unknown) => (error ? reject(error) : resolve())));
  expect(await catalog.price([{ sku: product.sku, quantity: 1 }])).toEqual([{ sku: product.sku, quantity: 1, unitPriceCents: 2_500 }]);
  return Date.now() - started;
}

const redisState = () => breakers.states().find((s) => s.name === 'redis')?.state;

describe('a frozen Redis', () => {
  it('costs a request at most one command timeout and then fails fast while the breaker is open', async () => {
    await placeOrder(); // warm: the price is cached
    proxy.freeze();

    const first = await placeOrder();
    expect(first).toBeGreaterThanOrEqual(COMMAND_TIMEOUT_MS - 50);
    expect(first).toBeLessThan(COMMAND_TIMEOUT_MS * 2); // the limiter's timeout opened the circuit; the catalog did not wait again
    expect(redisState()).toBe('open');
    expect((await metrics.breakerState.get()).values).toContainEqual({ labels: { downstream: 'redis', state: 'open' }, value: 1 });

    const later = await Promise.all([placeOrder(), placeOrder(), placeOrder()]);
    for (const ms of later) expect(ms).toBeLessThan(COMMAND_TIMEOUT_MS / 2);
    expect((await metrics.rateLimiterErrors.get()).values[0]?.value).toBe(4); // every request let through was counted
  });

  it('is re-probed by one trial call after REDIS_BREAKER_RESET_MS, and the circuit closes once Redis answers again', async () => {
    proxy.freeze();
    await placeOrder();
    expect(redisState()).toBe('open');
    // A trial while still frozen costs one timeout and opens the circuit again.
    await waitFor(() => redisState() === 'halfOpen', { what: 'the circuit to half-open' });
    await placeOrder();
    expect(redisState()).toBe('open');

    proxy.thaw();
    await waitFor(async () => (await placeOrder(), redisState() === 'closed'), { what: 'a trial call to close the circuit' });
    expect(breakers.states()).toEqual([
      { name: 'order', state: 'closed' },
      { name: 'inventory', state: 'closed' },
      { name: 'redis', state: 'closed' },
    ]);
  });
});
