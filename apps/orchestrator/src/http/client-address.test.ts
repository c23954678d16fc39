// Which address the per-address rate limit counts, as TRUST_PROXY says: the HTTP app over a real Redis,
// flooded with bad tokens that each claim another client in X-Forwarded-For.
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { Redis } from 'ioredis';
import pino from 'pino';
import { testInfra, uniqueName } from '@orderflow/testing';
import { trustProxySetting } from '../config';
import { createHttpApp, type HttpAppDeps } from './app';
import { createRateLimits } from './rate-limit';

const logger = pino({ level: 'silent' });
const PER_ADDRESS = 3;
let redis: Redis;
const servers: Server[] = [];

beforeAll(() => {
  redis = new Redis(testInfra().redisUrl);
});
afterAll(async () => {
  await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))));
  redis?.disconnect();
});

/** The public app with TRUST_PROXY = `trustProxy` and its own rate-limit counters; the parts these requests never reach are left out. */
async function appTrusting(trustProxy: string): Promise<string> {
  const rateLimits = createRateLimits(redis, {
    perAddressPerMinute: PER_ADDRESS,
    perCallerPerMinute: 1_000,
    perKeyPerMinute: 1_000,
    burstPerSecond: 1_000,
    keyPrefix: `${uniqueName('client_address')}:`,
    logger,
  });
  const pass: HttpAppDeps['requestLog'] = (_req, _res, next) => next();
  const app = createHttpApp({
    auth: { JWT_SECRET: 'a-component-test-secret-of-32-chars!!' },
    trustProxy: trustProxySetting(trustProxy),
    rateLimits,
    requestLog: pass,
    logger,
    admin: {} as HttpAppDeps['admin'],
  } as unknown as HttpAppDeps);
  const server = app.listen(0, '127.0.0.1');
  servers.push(server);
  await new Promise((resolve) => server.once('listening', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

/** Statuses of bad-token requests, each saying it comes from another client. */
async function floodFromClaimedAddresses(base: string, n: number): Promise<number[]> {
  const statuses: number[] = [];
  for (let i = 0; i < n; i++) {
    const res = await fetch(`${base}/v1/products`, { headers: { authorization: 'Bearer not.a.token', 'x-forwarded-for': `203.0.113.${i + 1}` } });
    statuses.push(res.status);
  }
  return statuses;
}

it('counts the connecting address, not X-Forwarded-For, when TRUST_PROXY is false', async () => {
  const statuses = await floodFromClaimedAddresses(await appTrusting('false'), PER_ADDRESS + 2);
  expect(statuses).toEqual([...Array(PER_ADDRESS).fill(401), 429, 429]);
});

it('counts the client X-Forwarded-For names when TRUST_PROXY trusts the proxy in front', async () => {
  const statuses = await floodFromClaimedAddresses(await appTrusting('1'), PER_ADDRESS + 2);
  expect(statuses).toEqual(Array(PER_ADDRESS + 2).fill(401));
});
