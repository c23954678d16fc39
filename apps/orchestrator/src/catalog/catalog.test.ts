// The catalog cache against the real Redis, behind a proxy the test freezes (connections kept, no
// answers); inventory is an in-memory port whose price the test changes.
import { Redis } from 'ioredis';
import pino from 'pino';
import { startFreezableProxy, testInfra, uniqueName, waitFor, type FreezableProxy } from '@orderflow/testing';
import { createBreakers } from '../clients/breakers';
import type { InventoryPort, Product } from '../clients/downstream';
import { createRedisClient } from '../clients/redis';
import { downstreamSettings, loadOrchestratorConfig } from '../config';
import { createCatalog, type CatalogOptions } from './catalog';

const logger = pino({ level: 'silent' });
const sku = 'CHEMEX-6';

let proxy: FreezableProxy;
let redis: Redis;
let direct: Redis;
let breakers: ReturnType<typeof createBreakers>;
let product: Product;
let keyPrefix: string;
const inventory = { getProducts: async (skus: string[]) => (skus.includes(sku) ? [{ ...product }] : []) } as InventoryPort;

beforeEach(async () => {
  const { hostname, port } = new URL(testInfra().redisUrl);
  proxy = await startFreezableProxy({ host: hostname, port: Number(port || 6379) });
  const config = loadOrchestratorConfig({
    JWT_SECRET: 'a-real-secret-of-at-least-32-characters!',
    REDIS_URL: `redis://${proxy.address}`,
    REDIS_COMMAND_TIMEOUT_MS: '200',
    REDIS_BREAKER_RESET_MS: '300',
  });
  redis = createRedisClient(config);
  await redis.connect();
  direct = new Redis(testInfra().redisUrl);
  breakers = createBreakers(downstreamSettings(config).breakers, logger);
  product = { sku, name: 'Chemex 6 cup', priceCents: 4_500, available: 5 };
  keyPrefix = `${uniqueName('catalog')}:`;
});
afterEach(async () => {
  breakers?.shutdown();
  redis?.disconnect();
  direct?.disconnect();
  await proxy?.close();
});

const catalog = (options: Partial<CatalogOptions> = {}) =>
  createCatalog(inventory, redis, { keyPrefix, ttlSeconds: 60, logger, guard: breakers.redis, ...options });
const priceOf = async (c: ReturnType<typeof catalog>) => (await c.price([{ sku, quantity: 1 }]))[0]!.unitPriceCents;
const redisState = () => breakers.states().find((s) => s.name === 'redis')?.state;

/** A price change Redis could not be told about: the cache holds the old price, the circuit is open. */
async function priceChangeMissedByFrozenRedis(c: ReturnType<typeof catalog>) {
  expect(await priceOf(c)).toBe(4_500); // cached
  product.priceCents = 5_000;
  proxy.freeze();
  expect(await priceOf(c)).toBe(5_000); // one timeout opens the circuit; read through to inventory
  expect(redisState()).toBe('open');
  const started = Date.now();
  await c.invalidate({ skus: [sku], definitionChanged: true }); // resolves: the fact is not retried or dead-lettered
  expect(Date.now() - started).toBeLessThan(100);
  expect(await direct.get(`${keyPrefix}price:${sku}`)).toContain('4500');
}

describe('the catalog', () => {
  it('prices concurrent orders with one MGET', async () => {
    const mgets: string[][] = [];
    const counting = new Proxy(redis, {
      get: (target, name) => (name === 'mget' ? (...keys: string[]) => (mgets.push(keys), target.mget(...keys)) : Reflect.get(target, name, target)),
    });
    const c = createCatalog(inventory, counting, { keyPrefix, ttlSeconds: 60, logger, guard: breakers.redis });
    await priceOf(c); // fills the cache
    mgets.length = 0;
    expect(await Promise.all([priceOf(c), priceOf(c), priceOf(c)])).toEqual([4_500, 4_500, 4_500]);
    expect(mgets).toEqual([[`${keyPrefix}price:${sku}`, `${keyPrefix}product:${sku}`]]);
  });

  it('deletes the keys of invalidations that arrive while a delete is under way with one more DEL', async () => {
    const dels: string[][] = [];
    const counting = new Proxy(redis, {
      get: (target, name) => (name === 'del' ? (...keys: string[]) => (dels.push(keys), target.del(...keys)) : Reflect.get(target, name, target)),
    });
    const c = createCatalog(inventory, counting, { keyPrefix, ttlSeconds: 60, logger, guard: breakers.redis });
    expect(await priceOf(c)).toBe(4_500); // cached
    product.priceCents = 4_900;
    const first = c.invalidate({ skus: [sku], definitionChanged: true });
    const more = [c.invalidate({ skus: ['A-1'], definitionChanged: true }), c.invalidate({ skus: ['B-2'], definitionChanged: false })];
    expect(await priceOf(c)).toBe(4_900); // the new price at once
    await Promise.all([first, ...more]);
    expect(dels).toEqual([
      [`${keyPrefix}product:${sku}`, `${keyPrefix}price:${sku}`],
      [`${keyPrefix}product:A-1`, `${keyPrefix}price:A-1`, `${keyPrefix}product:B-2`],
    ]);
  });

  it('keeps pricing from inventory after an invalidation Redis did not take, even once Redis answers again with the old price', async () => {
    const c = catalog({ retryInvalidationMs: 60_000 }); // no retry during this test
    await priceChangeMissedByFrozenRedis(c);
    proxy.thaw();
    const prices: number[] = [];
    await waitFor(async () => (prices.push(await priceOf(c)), redisState() === 'closed'), { what: 'the Redis circuit to close' });
    prices.push(await priceOf(c), await priceOf(c)); // with the circuit closed, served by Redis
    expect(new Set(prices)).toEqual(new Set([5_000])); // never the stale 4500 Redis still had
  });

  it('deletes the entries of a missed invalidation once Redis takes it', async () => {
    const c = catalog({ retryInvalidationMs: 100 });
    await priceChangeMissedByFrozenRedis(c);
    proxy.thaw();
    await waitFor(async () => (await direct.exists(`${keyPrefix}price:${sku}`, `${keyPrefix}product:${sku}`)) === 0, {
      what: 'the stale entries to be deleted',
    });
    // The retried DEL is the half-open probe: Redis drops the keys before its reply closes the circuit.
    await waitFor(() => redisState() === 'closed', { what: 'the Redis circuit to close after the probe' });
  });
});
