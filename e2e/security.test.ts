// Who gets in where (401/403/2xx for every endpoint), shared rate limits, and hostile input.
import { generateKeyPairSync, randomUUID } from 'node:crypto';
import fc from 'fast-check';
import jwt from 'jsonwebtoken';
import { createPool, databaseUrl } from '@orderflow/db';
import { testInfra, waitFor } from '@orderflow/testing';
import { apiClient } from './support/client';
import { spawnApp } from './support/process';
import { startSystem, type System } from './support/system';

const SECRET = 'e2e-secret-0123456789abcdef0123456789';
let system: System;
let api: ReturnType<typeof apiClient>;
let admin: string;
let sku: string;

beforeAll(async () => {
  system = await startSystem('e2e_security');
  api = apiClient(system.url);
  admin = system.token('ops', 'admin');
  sku = `SEC-${randomUUID().slice(0, 8)}`.toUpperCase();
  expect((await api.putProduct(admin, sku, { name: 'Security beans', priceCents: 100, stock: 100_000 })).status).toBe(201);
}, 120_000);

afterAll(() => system?.stop());

type TokenKind = 'none' | 'malformed' | 'expired' | 'wrong-signature' | 'alg-none' | 'no-exp' | 'customer' | 'admin';
const now = () => Math.floor(Date.now() / 1000);
function token(kind: TokenKind, sub: string): string | undefined {
  switch (kind) {
    case 'none':
      return undefined;
    case 'malformed':
      return 'not.a.jwt';
    case 'expired':
      return jwt.sign({ sub, role: 'admin', exp: now() - 60 }, SECRET, { algorithm: 'HS256' });
    case 'wrong-signature':
      return jwt.sign({ sub, role: 'admin' }, `${SECRET}-other`, { algorithm: 'HS256', expiresIn: '1h' });
    case 'alg-none':
      return `${Buffer.from('{"alg":"none","typ":"JWT"}').toString('base64url')}.${Buffer.from(JSON.stringify({ sub, role: 'admin', exp: now() + 3600 })).toString('base64url')}.`;
    case 'no-exp':
      return jwt.sign({ sub, role: 'admin' }, SECRET, { algorithm: 'HS256' });
    case 'customer':
      return system.token(sub, 'customer');
    case 'admin':
      return system.token(sub, 'admin');
  }
}

/** A dead letter to replay, recorded the way the collector does. */
async function deadLetter(): Promise<string> {
  const pool = createPool(databaseUrl(testInfra().databaseUrl, `${system.prefix}orderflow_orchestrator`));
  const id = randomUUID();
  await pool.query(
    `INSERT INTO dead_letters (id, source, origin, message_key, payload, error, attempts, first_failed_at, last_failed_at)
     VALUES ($1, 'kafka', $2, 'k', '{"not":"a cloudevent"}', 'test', 1, now(), now())`,
    [id, system.topics.inventoryEvents],
  );
  await pool.end();
  return id;
}

interface Endpoint {
  name: string;
  adminOnly: boolean;
  /** Sends the request; `sub` owns whatever the request needs (e.g. its own order). */
  call(bearer: string | undefined, sub: string): Promise<{ status: number }>;
}

const withBearer = (bearer?: string): Record<string, string> => (bearer ? { authorization: `Bearer ${bearer}` } : {});
async function ownOrder(sub: string): Promise<string> {
  return (await api.placeOrder(system.token(sub), [{ sku, quantity: 1 }])).body.id;
}

const endpoints: Endpoint[] = [
  {
    name: 'POST /v1/orders',
    adminOnly: false,
    call: (b) => api.request('POST', '/v1/orders', { body: { items: [{ sku, quantity: 1 }] }, headers: { ...withBearer(b), 'idempotency-key': randomUUID() } }),
  },
  { name: 'GET /v1/orders', adminOnly: false, call: (b) => api.request('GET', '/v1/orders?limit=5', { headers: withBearer(b) }) },
  {
    name: 'GET /v1/orders/{id}',
    adminOnly: false,
    call: async (b, sub) => api.request('GET', `/v1/orders/${await ownOrder(sub)}`, { headers: withBearer(b) }),
  },
  {
    name: 'POST /v1/orders/{id}/cancel',
    adminOnly: false,
    call: async (b, sub) => api.request('POST', `/v1/orders/${await ownOrder(sub)}/cancel`, { headers: { ...withBearer(b), 'idempotency-key': randomUUID() } }),
  },
  { name: 'GET /v1/products', adminOnly: false, call: (b) => api.request('GET', '/v1/products', { headers: withBearer(b) }) },
  { name: 'GET /v1/products/{sku}', adminOnly: false, call: (b) => api.request('GET', `/v1/products/${sku}`, { headers: withBearer(b) }) },
  {
    name: 'PUT /v1/admin/products/{sku}',
    adminOnly: true,
    call: (b) =>
      api.request('PUT', `/v1/admin/products/${sku}`, {
        body: { name: 'Security beans', priceCents: 100, stock: 100_000 },
        headers: { ...withBearer(b), 'idempotency-key': randomUUID() },
      }),
  },
  {
    name: 'GET /v1/admin/sagas/{orderId}',
    adminOnly: true,
    call: async (b, sub) => api.request('GET', `/v1/admin/sagas/${await ownOrder(sub)}`, { headers: withBearer(b) }),
  },
  { name: 'GET /v1/admin/dead-letters', adminOnly: true, call: (b) => api.request('GET', '/v1/admin/dead-letters', { headers: withBearer(b) }) },
  {
    name: 'POST /v1/admin/dead-letters/{id}/replay',
    adminOnly: true,
    call: async (b) =>
      api.request('POST', `/v1/admin/dead-letters/${await deadLetter()}/replay`, { headers: { ...withBearer(b), 'idempotency-key': randomUUID() } }),
  },
  { name: 'GET /v1/admin/products', adminOnly: true, call: (b) => api.request('GET', '/v1/admin/products', { headers: withBearer(b) }) },
  { name: 'GET /v1/admin/stats', adminOnly: true, call: (b) => api.request('GET', '/v1/admin/stats', { headers: withBearer(b) }) },
  { name: 'GET /v1/admin/sagas', adminOnly: true, call: (b, sub) => api.request('GET', `/v1/admin/sagas?customerId=${sub}`, { headers: withBearer(b) }) },
  {
    name: 'POST /v1/admin/sagas/{orderId}/cancel',
    adminOnly: true,
    call: async (b, sub) =>
      api.request('POST', `/v1/admin/sagas/${await ownOrder(sub)}/cancel`, {
        body: { reason: 'security matrix' },
        headers: { ...withBearer(b), 'idempotency-key': randomUUID() },
      }),
  },
  {
    name: 'POST /v1/admin/dead-letters/{id}/discard',
    adminOnly: true,
    call: async (b) =>
      api.request('POST', `/v1/admin/dead-letters/${await deadLetter()}/discard`, {
        body: { reason: 'security matrix' },
        headers: { ...withBearer(b), 'idempotency-key': randomUUID() },
      }),
  },
  {
    name: 'POST /v1/admin/dead-letters/replay',
    adminOnly: true,
    call: (b) =>
      api.request('POST', '/v1/admin/dead-letters/replay', {
        body: { topic: `no-such-topic-${randomUUID()}` },
        headers: { ...withBearer(b), 'idempotency-key': randomUUID() },
      }),
  },
  { name: 'GET /v1/admin/api-keys', adminOnly: true, call: (b) => api.request('GET', '/v1/admin/api-keys', { headers: withBearer(b) }) },
  {
    name: 'POST /v1/admin/api-keys',
    adminOnly: true,
    call: (b) =>
      api.request('POST', '/v1/admin/api-keys', {
        body: { name: 'security matrix', scopes: ['products:read'] },
        headers: { ...withBearer(b), 'idempotency-key': randomUUID() },
      }),
  },
  { name: 'GET /v1/admin/webhooks', adminOnly: true, call: (b) => api.request('GET', '/v1/admin/webhooks', { headers: withBearer(b) }) },
  {
    name: 'POST /v1/admin/webhooks',
    adminOnly: true,
    call: (b) =>
      api.request('POST', '/v1/admin/webhooks', {
        body: { url: 'https://partner.example/orderflow-hook', events: ['order.confirmed'] },
        headers: { ...withBearer(b), 'idempotency-key': randomUUID() },
      }),
  },
  { name: 'GET /v1/admin/audit', adminOnly: true, call: (b) => api.request('GET', '/v1/admin/audit?limit=5', { headers: withBearer(b) }) },
];
const kinds: TokenKind[] = ['none', 'malformed', 'expired', 'wrong-signature', 'alg-none', 'no-exp', 'customer', 'admin'];

describe('authentication and authorization', () => {
  it.each(endpoints.map((e) => [e.name, e] as const))('%s answers 401, 403 or 2xx exactly by token', async (_name, endpoint) => {
    const seen: Record<string, number> = {};
    for (const kind of kinds) {
      const sub = `matrix-${kind}-${randomUUID()}`;
      seen[kind] = (await endpoint.call(token(kind, sub), sub)).status;
    }
    const expected = Object.fromEntries(kinds.map((kind) => [kind, kind === 'admin' ? '2xx' : kind === 'customer' ? (endpoint.adminOnly ? 403 : '2xx') : 401]));
    const actual = Object.fromEntries(Object.entries(seen).map(([k, s]) => [k, s >= 200 && s < 300 ? '2xx' : s]));
    expect(actual).toEqual(expected);
  });

  it('accepts RS256 tokens with JWT_PUBLIC_KEY from the configured issuer for the configured audience, and refuses an HS256 token keyed with that public key', async () => {
    const { publicKey, privateKey } = generateKeyPairSync('rsa', {
      modulusLength: 2048,
      publicKeyEncoding: { type: 'spki', format: 'pem' },
      privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
    });
    const rs = spawnApp('orchestrator', {
      RESOURCE_PREFIX: system.prefix,
      HTTP_PORT: '0',
      JWT_SECRET: '',
      JWT_PUBLIC_KEY: publicKey,
      JWT_ISSUER: 'https://issuer.e2e.test/',
      JWT_AUDIENCE: 'orderflow',
      ORDER_GRPC_ADDRESS: `127.0.0.1:${system.ports.orderGrpc}`,
      INVENTORY_GRPC_ADDRESS: `127.0.0.1:${system.ports.inventoryGrpc}`,
    });
    try {
      const port = await waitFor(() => /"httpPort":(\d+)/.exec(rs.output().stdout)?.[1], { timeoutMs: 30_000, what: 'the RS256 orchestrator to listen' });
      const get = (bearer: string) => fetch(`http://127.0.0.1:${port}/v1/admin/stats`, { headers: { authorization: `Bearer ${bearer}` } });
      const signed = { issuer: 'https://issuer.e2e.test/', audience: 'orderflow', expiresIn: '1h' } as const;
      expect((await get(jwt.sign({ sub: 'ops', role: 'admin' }, privateKey, { algorithm: 'RS256', ...signed }))).status).toBe(200);
      expect((await get(jwt.sign({ sub: 'ops', role: 'admin' }, privateKey, { algorithm: 'RS256', ...signed, audience: 'elsewhere' }))).status).toBe(401);
      expect((await get(jwt.sign({ sub: 'ops', role: 'admin' }, privateKey, { algorithm: 'RS256', expiresIn: '1h' }))).status).toBe(401);
      expect((await get(jwt.sign({ sub: 'mallory', role: 'admin' }, publicKey, { algorithm: 'HS256', ...signed }))).status).toBe(401);
      expect((await get(token('alg-none', 'mallory')!)).status).toBe(401);
    } finally {
      expect(await rs.stop()).toBe(0);
    }
  }, 60_000);
});

describe('rate limiting', () => {
  it('shares one caller’s budget between two orchestrators, answers 429 with Retry-After, and leaves other callers alone', async () => {
    const env = {
      RESOURCE_PREFIX: system.prefix,
      HTTP_PORT: '0',
      RATE_LIMIT_PER_MINUTE: '10',
      // The other limits out of the way: this test is about the per-caller budget.
      RATE_LIMIT_BURST_PER_SECOND: '1000',
      RATE_LIMIT_PER_IP_PER_MINUTE: '100000',
      ORDER_GRPC_ADDRESS: `127.0.0.1:${system.ports.orderGrpc}`,
      INVENTORY_GRPC_ADDRESS: `127.0.0.1:${system.ports.inventoryGrpc}`,
    };
    const replicas = [spawnApp('orchestrator', env), spawnApp('orchestrator', env)];
    try {
      const ports = await Promise.all(
        replicas.map((r) => waitFor(() => /"httpPort":(\d+)/.exec(r.output().stdout)?.[1], { timeoutMs: 30_000, what: 'a replica to listen' })),
      );
      const busy = system.token(`busy-${randomUUID()}`);
      const statuses: number[] = [];
      let retryAfter: string | null = null;
      for (let i = 0; i < 12; i++) {
        const res = await fetch(`http://127.0.0.1:${ports[i % 2]}/v1/products/${sku}`, { headers: { authorization: `Bearer ${busy}` } });
        statuses.push(res.status);
        if (res.status === 429) retryAfter = res.headers.get('retry-after');
        expect(res.headers.get('ratelimit-policy')).toBe('"per-ip";q=100000;w=60, "per-caller";q=10;w=60, "burst";q=1000;w=1');
        // Both replicas count down the same budget: 9, 8, … 0 remain, then 0 on each refusal.
        expect(res.headers.get('ratelimit')).toMatch(new RegExp(`, "per-caller";r=${Math.max(0, 9 - i)};t=\\d+, `));
      }
      expect(statuses.filter((s) => s === 200)).toHaveLength(10);
      expect(statuses.filter((s) => s === 429)).toHaveLength(2);
      expect(Number(retryAfter)).toBeGreaterThan(0);
      const other = await fetch(`http://127.0.0.1:${ports[1]}/v1/products/${sku}`, {
        headers: { authorization: `Bearer ${system.token(`calm-${randomUUID()}`)}` },
      });
      expect(other.status).toBe(200);
    } finally {
      await Promise.all(replicas.map((r) => r.stop()));
    }
  }, 60_000);
});

describe('hostile input', () => {
  const customer = () => system.token('fuzzer');
  const header = fc.string({ unit: 'binary-ascii', maxLength: 300 }).filter((s) => !/[\r\n\0]/.test(s) && /^[\x20-\x7e\t]*$/.test(s));

  it('never answers 5xx or leaks internals for generated bodies, keys, paths and queries, and stays ready', async () => {
    const json = fc.jsonValue({ maxDepth: 4 });
    const body = fc.oneof(
      json.map((v) => JSON.stringify(v)),
      fc
        .record({
          items: fc.array(
            fc.record({ sku: fc.oneof(fc.constant(sku), fc.string()), quantity: fc.oneof(fc.integer(), fc.double(), fc.string()) }, { requiredKeys: [] }),
          ),
        })
        .map((v) => JSON.stringify(v)),
      fc.string({ maxLength: 500 }),
      fc.constant('{"items":[{"sku":"A","quantity":1}],"__proto__":{"admin":true}}'),
      fc.constant('{"constructor":{"prototype":{"x":1}}}'),
    );
    const path = fc.oneof(
      fc.constantFrom('/v1/orders', '/v1/products', '/v1/admin/stats'),
      fc.string({ unit: fc.constantFrom(...'abc-_.%/0123456789'.split('')), maxLength: 40 }).map((s) => `/v1/orders/${s}`),
      fc.string({ unit: fc.constantFrom(...'abcXYZ-_.%0123456789'.split('')), maxLength: 80 }).map((s) => `/v1/products/${s}`),
      fc.string({ maxLength: 30 }).map((s) => `/v1/orders?limit=${encodeURIComponent(s)}&cursor=${encodeURIComponent(s)}`),
    );
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom('GET', 'POST', 'PUT', 'DELETE', 'PATCH'),
        path,
        body,
        header,
        fc.constantFrom('application/json', 'text/plain', 'application/x-www-form-urlencoded', ''),
        async (method, p, b, key, type) => {
          const headers: Record<string, string> = { authorization: `Bearer ${customer()}` };
          if (key) headers['idempotency-key'] = key;
          if (type) headers['content-type'] = type;
          const res = await fetch(`${system.url}${p}`, { method, headers, body: method === 'GET' ? undefined : b });
          const text = await res.text();
          expect(res.status).toBeLessThan(500);
          expect(text).not.toMatch(/\bat .+\.(js|ts):\d+|SELECT |INSERT |node_modules|ECONNREFUSED/);
        },
      ),
      { numRuns: 1500 },
    );
    expect((await fetch(`${system.opsUrl('orchestrator')}/readyz`)).status).toBe(200);
  }, 180_000);

  it('rejects prototype-pollution keys and bodies over 64 KiB with clear problems', async () => {
    const polluted = await api.request('POST', '/v1/orders', {
      token: customer(),
      raw: '{"items":[{"sku":"A","quantity":1}],"__proto__":{"x":1}}',
      headers: { 'content-type': 'application/json', 'idempotency-key': randomUUID() },
    });
    expect(polluted.status).toBe(400);
    const big = await api.request('POST', '/v1/orders', {
      token: customer(),
      raw: JSON.stringify({ items: [{ sku: 'A'.repeat(70_000), quantity: 1 }] }),
      headers: { 'content-type': 'application/json', 'idempotency-key': randomUUID() },
    });
    expect(big.status).toBe(413);
    const plain = await api.request('POST', '/v1/orders', {
      token: customer(),
      raw: 'items=1',
      headers: { 'content-type': 'text/plain', 'idempotency-key': randomUUID() },
    });
    expect(plain.status).toBe(415);
    expect(plain.headers.get('x-powered-by')).toBeNull();
    expect(plain.headers.get('x-content-type-options')).toBe('nosniff');
  });
});
