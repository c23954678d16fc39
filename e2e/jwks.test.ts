// Bearer tokens from an identity provider, end to end: the test serves a JWKS and rotates its keys, and
// the system (JWT_JWKS_URL, keys trusted for 2 s) accepts and refuses tokens as the rotation says. Also:
// `iss` and `aud` are required, the claims the system relies on are checked at the edge, and a token
// cannot pick an algorithm its key was not made for; a provider that cannot hand out a key is a 503.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { generateKeyPairSync, randomUUID, type KeyObject } from 'node:crypto';
import jwt from 'jsonwebtoken';
import { waitFor } from '@orderflow/testing';
import { apiClient } from './support/client';
import { startSystem, type System } from './support/system';

const ISSUER = 'https://idp.e2e.test/';
const AUDIENCE = 'orderflow-api';

interface SigningKey {
  kid: string;
  alg: 'RS256' | 'ES256';
  privateKey: KeyObject;
  jwk: Record<string, unknown>;
}
function signingKey(kid: string, alg: SigningKey['alg']): SigningKey {
  const { privateKey, publicKey } = alg === 'RS256' ? generateKeyPairSync('rsa', { modulusLength: 2048 }) : generateKeyPairSync('ec', { namedCurve: 'P-256' });
  return { kid, alg, privateKey, jwk: { ...publicKey.export({ format: 'jwk' }), kid, alg, use: 'sig' } };
}

let published: SigningKey[] = [];
let jwksFetches = 0;
/** While set, the provider answers 500 instead of its keys. */
let providerDown = false;
let idp: Server;
let system: System;
let api: ReturnType<typeof apiClient>;

beforeAll(async () => {
  idp = createServer((req, res) => {
    jwksFetches++;
    if (providerDown) {
      res.statusCode = 500;
      return void res.end();
    }
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ keys: published.map((k) => k.jwk) }));
  });
  await new Promise<void>((resolve) => idp.listen(0, '127.0.0.1', resolve));
  system = await startSystem('e2e_jwks', {
    env: {
      JWT_SECRET: '',
      JWT_JWKS_URL: `http://127.0.0.1:${(idp.address() as AddressInfo).port}/.well-known/jwks.json`,
      JWT_ISSUER: ISSUER,
      JWT_AUDIENCE: AUDIENCE,
      JWT_JWKS_CACHE_SECONDS: '2',
    },
  });
  api = apiClient(system.url);
}, 120_000);

afterAll(async () => {
  await system?.stop();
  await new Promise((resolve) => idp?.close(resolve));
});

/** A token from the provider, signed with `key`; `claims` and `options` override the usual ones. */
function token(key: SigningKey, claims: Record<string, unknown> = {}, options: jwt.SignOptions = {}): string {
  return jwt.sign({ sub: `idp-user-${randomUUID()}`, role: 'customer', email: 'user@example.com', ...claims }, key.privateKey, {
    algorithm: key.alg,
    keyid: key.kid,
    issuer: ISSUER,
    audience: AUDIENCE,
    expiresIn: '10m',
    ...options,
  });
}
const statusWith = async (bearer: string) => (await api.request('GET', '/v1/products', { token: bearer })).status;

describe('tokens from an identity provider (JWT_JWKS_URL)', () => {
  const rsa = signingKey(`rsa-${randomUUID()}`, 'RS256');
  const ec = signingKey(`ec-${randomUUID()}`, 'ES256');

  it('accepts the keys the provider publishes and follows a rotation: old and new keys while both are published, then only the new', async () => {
    published = [rsa];
    const before = token(rsa);
    expect(await statusWith(before)).toBe(200);

    // Rotation, step 1: the new key is published beside the old; a token with its (unknown) kid makes the system fetch the set again.
    published = [rsa, ec];
    const fetchesBefore = jwksFetches;
    expect(await statusWith(token(ec))).toBe(200);
    expect(jwksFetches).toBeGreaterThan(fetchesBefore);
    expect(await statusWith(before)).toBe(200);

    // Step 2: the old key is withdrawn; tokens signed with it stop working once its cache entry expires (2 s here).
    published = [ec];
    await waitFor(async () => (await statusWith(before)) === 401, { timeoutMs: 20_000, intervalMs: 500, what: 'the withdrawn key to be refused' });
    expect(await statusWith(token(ec))).toBe(200);
    expect(await statusWith(token(rsa))).toBe(401);
  });

  it('refuses a key the provider never published, and a token that picks another algorithm than its key’s', async () => {
    published = [rsa, ec];
    expect(await statusWith(token(signingKey(`unknown-${randomUUID()}`, 'RS256')))).toBe(401);
    // HS256 "signed" with the RSA key's public JWK as the secret: the key allows RS256 only.
    const confused = jwt.sign({ sub: 'mallory', role: 'admin' }, JSON.stringify(rsa.jwk), {
      algorithm: 'HS256',
      keyid: rsa.kid,
      issuer: ISSUER,
      audience: AUDIENCE,
      expiresIn: '10m',
    });
    expect(await statusWith(confused)).toBe(401);
  });

  it('requires the issuer and the audience, and checks sub, role and email at the edge', async () => {
    published = [rsa];
    expect(await statusWith(token(rsa, {}, { issuer: 'https://someone-else.test/' }))).toBe(401);
    expect(await statusWith(token(rsa, {}, { audience: 'another-api' }))).toBe(401);
    const bad = await api.request('GET', '/v1/products', { token: token(rsa, { email: 'not an address' }) });
    expect(bad.status).toBe(401);
    expect(bad.body.detail).toMatch(/claim email/);
    expect(await statusWith(token(rsa, { role: 'superuser' }))).toBe(401);
    expect(await statusWith(token(rsa, { sub: '' }))).toBe(401);
    expect(await statusWith(token(rsa, { sub: 'apikey:00000000-0000-0000-0000-000000000000' }))).toBe(401);
    expect(await statusWith(token(rsa, { role: 'admin' }))).toBe(200);
  });

  it('answers 503 (retry), not 401, while the provider cannot hand out a key it has not cached, and accepts it once the provider is back', async () => {
    const fresh = signingKey(`rsa-${randomUUID()}`, 'RS256');
    providerDown = true;
    try {
      // Polled: the system fetches the key set at most 10 times a minute, and the tests above spent some
      // of those; a request while none is left is refused as an unknown key (401) without a fetch.
      const fetchesBefore = jwksFetches;
      await waitFor(
        async () => {
          const res = await api.request('GET', '/v1/products', { token: token(fresh) });
          if (res.status === 503) expect(res.body).toMatchObject({ type: '/problems/unavailable', status: 503 });
          return res.status === 503;
        },
        { timeoutMs: 30_000, intervalMs: 1_000, what: 'a 503 while the provider is down' },
      );
      expect(jwksFetches).toBeGreaterThan(fetchesBefore); // it did ask the provider
    } finally {
      providerDown = false;
    }
    published = [rsa, fresh];
    await waitFor(async () => (await statusWith(token(fresh))) === 200, { timeoutMs: 30_000, intervalMs: 1_000, what: 'the key once the provider is back' });
  });
});
