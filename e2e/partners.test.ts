// Partner access end to end, on two replicas of every app: an API key places and reads its own orders,
// a missing scope is 403, a revoked key is 401 on every replica from the revocation's answer on; the
// per-address limit stops a flood of bad tokens before they are checked; the per-caller burst cap holds.
// TRUST_PROXY=true lets each test speak from client addresses of its own (X-Forwarded-For), so the
// per-address budget one test spends is not another's.
import { randomUUID } from 'node:crypto';
import { waitFor } from '@orderflow/testing';
import { apiClient, type ApiResponse } from './support/client';
import { startSystem, type System } from './support/system';

const PER_ADDRESS_PER_MINUTE = 120;
const BURST_PER_SECOND = 10;

let system: System;
let admin: string;

beforeAll(async () => {
  system = await startSystem('e2e_partners', {
    replicas: 2,
    env: {
      TRUST_PROXY: 'true',
      RATE_LIMIT_PER_IP_PER_MINUTE: String(PER_ADDRESS_PER_MINUTE),
      RATE_LIMIT_BURST_PER_SECOND: String(BURST_PER_SECOND),
      API_KEY_RATE_PER_MINUTE: '1000',
    },
  });
  admin = system.token('partner-ops', 'admin');
}, 180_000);

afterAll(() => system?.stop());

let lastAddress = 0;
/** A client address of its own (TEST-NET-3), sent as X-Forwarded-For on every request of `client`. */
const newAddress = () => `203.0.113.${++lastAddress}`;

/** Requests to replica `replica` (0 or 1) from `address`, with a key, a token or neither. */
function client(address: string, replica = 0) {
  const api = apiClient(system.urls[replica]!);
  return (method: string, path: string, options: { token?: string; apiKey?: string; body?: unknown; headers?: Record<string, string> } = {}) =>
    api.request(method, path, {
      ...(options.token ? { token: options.token } : {}),
      ...(options.body !== undefined ? { body: options.body } : {}),
      headers: {
        'x-forwarded-for': address,
        ...(options.apiKey ? { 'x-api-key': options.apiKey } : {}),
        ...(method === 'GET' ? {} : { 'idempotency-key': randomUUID() }),
        ...options.headers,
      },
    });
}

async function product(stock: number): Promise<string> {
  const sku = `PARTNER-${randomUUID().slice(0, 8)}`.toUpperCase();
  const res = await client(newAddress())('PUT', `/v1/admin/products/${sku}`, { token: admin, body: { name: `Partner beans ${sku}`, priceCents: 900, stock } });
  expect(res.status).toBe(201);
  return sku;
}

async function createKey(scopes: string[], extra: Record<string, unknown> = {}): Promise<{ id: string; key: string }> {
  const res = await client(newAddress())('POST', '/v1/admin/api-keys', { token: admin, body: { name: `partner ${randomUUID()}`, scopes, ...extra } });
  expect(res.status).toBe(201);
  return res.body;
}

const statusOf = (res: ApiResponse) => res.status;

describe('a partner API key', () => {
  it('places and reads its own orders as its own caller, and is refused what its scopes do not allow', async () => {
    const sku = await product(10);
    const writer = await createKey(['orders:write', 'orders:read', 'products:read']);
    const readOnly = await createKey(['products:read']);
    const as = client(newAddress());

    const placed = await as('POST', '/v1/orders', { apiKey: writer.key, body: { items: [{ sku, quantity: 2 }] } });
    expect(placed.status).toBe(202);
    expect(placed.body.customerId).toBe(`apikey:${writer.id}`);
    const settled = await waitFor(
      async () => {
        const res = await as('GET', `/v1/orders/${placed.body.id}`, { apiKey: writer.key });
        return res.body.status !== 'PENDING' && res;
      },
      { timeoutMs: 30_000, intervalMs: 250, what: 'the partner order to settle' },
    );
    expect(settled.body).toMatchObject({ status: 'CONFIRMED', totalCents: 1_800 });
    expect((await as('GET', '/v1/orders', { apiKey: writer.key })).body.items.map((o: { id: string }) => o.id)).toEqual([placed.body.id]);
    expect((await as('GET', `/v1/products/${sku}`, { apiKey: writer.key })).body.available).toBe(8);

    // Its scopes are all it has: no orders for a read-only key, never the admin API.
    expect(statusOf(await as('GET', `/v1/products/${sku}`, { apiKey: readOnly.key }))).toBe(200);
    expect(statusOf(await as('POST', '/v1/orders', { apiKey: readOnly.key, body: { items: [{ sku, quantity: 1 }] } }))).toBe(403);
    expect(statusOf(await as('GET', '/v1/orders', { apiKey: readOnly.key }))).toBe(403);
    expect(statusOf(await as('GET', '/v1/admin/stats', { apiKey: writer.key }))).toBe(403);
    // Another caller's order is as missing to a key as to a customer.
    const customer = system.token(`customer-${randomUUID()}`);
    const theirs = await as('POST', '/v1/orders', { token: customer, body: { items: [{ sku, quantity: 1 }] } });
    expect(statusOf(await as('GET', `/v1/orders/${theirs.body.id}`, { apiKey: writer.key }))).toBe(404);
    // A key that is not one, or a key and a token at once, is 401.
    expect(statusOf(await as('GET', '/v1/products', { apiKey: `${writer.key.slice(0, -4)}AAAA` }))).toBe(401);
    expect(statusOf(await as('GET', '/v1/products', { apiKey: 'not-a-key' }))).toBe(401);
    expect(statusOf(await as('GET', '/v1/products', { apiKey: writer.key, token: customer }))).toBe(401);
  });

  it('is refused on every replica from the moment its revocation is answered', async () => {
    const { id, key } = await createKey(['products:read']);
    const address = newAddress();
    const replicas = [client(address, 0), client(address, 1)];
    for (const as of replicas) expect(statusOf(await as('GET', '/v1/products', { apiKey: key }))).toBe(200);

    const revoked = await replicas[1]!('DELETE', `/v1/admin/api-keys/${id}`, { token: admin });
    expect(revoked.status).toBe(204);

    // No waiting: the first request after the answer, on either replica, is refused.
    const after = await Promise.all(replicas.map((as) => as('GET', '/v1/products', { apiKey: key })));
    expect(after.map(statusOf)).toEqual([401, 401]);
    const listed = await replicas[0]!('GET', '/v1/admin/api-keys?limit=100', { token: admin });
    expect(listed.body.items.find((k: { id: string }) => k.id === id)).toMatchObject({ revokedAt: expect.any(String) });
  });
});

describe('the rate limits', () => {
  it('turn a flood of bad tokens from one address into 429s, and leave other addresses alone', async () => {
    const floodAddress = newAddress();
    const flood = client(floodAddress);
    const answers: number[] = [];
    for (let i = 0; i < PER_ADDRESS_PER_MINUTE + 20; i++) answers.push(statusOf(await flood('GET', '/v1/products', { token: `not.a.token${i}` })));
    expect(answers.slice(0, PER_ADDRESS_PER_MINUTE).every((s) => s === 401)).toBe(true);
    expect(answers.slice(PER_ADDRESS_PER_MINUTE)).toEqual(Array(20).fill(429));

    const refused = await flood('GET', '/v1/products', { token: system.token('honest-but-unlucky') });
    expect(refused.status).toBe(429);
    expect(refused.headers.get('retry-after')).toMatch(/^[0-9]+$/);
    // Refused before its token is checked: this replica knows the address is over (the only policy applied).
    expect(refused.headers.get('ratelimit-policy')).toBe(`"per-ip";q=${PER_ADDRESS_PER_MINUTE};w=60`);
    expect(refused.headers.get('ratelimit')).toMatch(/^"per-ip";r=0;/);
    expect(refused.body).toMatchObject({ type: '/problems/rate-limited', status: 429 });
    // The other replica shares the address's budget (it lives in Redis); another address has its own.
    const sameAddress = client(floodAddress, 1);
    expect(statusOf(await sameAddress('GET', '/v1/products', { token: 'not.a.token' }))).toBe(429);
    expect(statusOf(await client(newAddress(), 1)('GET', '/v1/products', { token: 'not.a.token' }))).toBe(401);
  });

  it('hold a key to the per-minute quota it was created with, on every replica, apart from other keys', async () => {
    const QUOTA = 5;
    const own = await createKey(['products:read'], { ratePerMinute: QUOTA });
    const other = await createKey(['products:read']);
    // One address per request, so only the key's own budget can run out; alternating replicas share it.
    const asKey = (key: string, i: number) => client(newAddress(), i % 2)('GET', '/v1/products', { apiKey: key });
    const answers: ApiResponse[] = [];
    for (let i = 0; i < QUOTA + 2; i++) answers.push(await asKey(own.key, i));
    expect(answers.map(statusOf)).toEqual([...Array(QUOTA).fill(200), 429, 429]);
    expect(answers[0]!.headers.get('ratelimit-policy')).toContain(`"per-caller";q=${QUOTA};w=60`);
    expect(answers[QUOTA]!.body).toMatchObject({ type: '/problems/rate-limited', detail: expect.stringContaining(`${QUOTA} requests per minute per caller`) });
    // Another key (the partner default, 1000 here) is untouched.
    expect(statusOf(await asKey(other.key, 0))).toBe(200);
  });

  it('cap each caller per second, token or key, whatever its per-minute quota', async () => {
    const key = await createKey(['products:read']);
    for (const credentials of [{ token: system.token(`bursty-${randomUUID()}`) }, { apiKey: key.key }]) {
      const as = client(newAddress());
      // Sent at once, so they fall in one second.
      const answers = await Promise.all(Array.from({ length: BURST_PER_SECOND + 5 }, () => as('GET', '/v1/products', credentials)));
      const statuses = answers.map(statusOf).sort();
      expect(statuses.filter((s) => s === 200).length).toBeLessThanOrEqual(BURST_PER_SECOND);
      expect(statuses.filter((s) => s === 429).length).toBeGreaterThanOrEqual(5);
      const refusal = answers.find((a) => a.status === 429)!;
      expect(refusal.headers.get('ratelimit-policy')).toContain(`"burst";q=${BURST_PER_SECOND};w=1`);
      expect(refusal.headers.get('retry-after')).toBe('1');
      // A second later the caller may go on.
      await waitFor(async () => (await as('GET', '/v1/products', credentials)).status === 200, {
        timeoutMs: 5_000,
        intervalMs: 300,
        what: 'the burst window to pass',
      });
    }
  });
});
