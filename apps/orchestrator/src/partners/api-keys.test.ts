// Partner API keys on the real Postgres: only a hash of the secret is stored, a key authenticates as
// its own caller (with its quota), and a wrong secret, a revoked key or an unknown id does not.
import crypto from 'node:crypto';
import type pg from 'pg';
import { createPool } from '@orderflow/db';
import { createTestDatabase, type TestDatabase } from '@orderflow/testing';
import { createApiKeyStore, type ApiKeyStore } from './api-keys';

let db: TestDatabase;
let pool: pg.Pool;
let keys: ApiKeyStore;

beforeAll(async () => {
  db = await createTestDatabase('orchestrator', 'api_keys');
  pool = createPool(db.url, 4);
  keys = createApiKeyStore(pool);
});

afterAll(async () => {
  await pool.end();
  await db.drop();
});

afterEach(() => jest.restoreAllMocks());

const createKey = (overrides: { ratePerMinute?: number } = {}) =>
  keys.create(pool, { name: 'partner A, order intake', scopes: ['orders:write', 'orders:read'], createdBy: 'ops', ...overrides });

/** `ofk_<id>_<secret>` split into its parts. */
const partsOf = (key: string) => {
  const [, id, secret] = /^ofk_([0-9a-f]{32})_(.+)$/.exec(key)!;
  return { id: id!, secret: secret! };
};

/** `secret` with one character changed: same length, same alphabet. */
const otherSecretLike = (secret: string) => `${secret.slice(0, -1)}${secret.endsWith('A') ? 'B' : 'A'}`;

describe('partner API keys', () => {
  it('stores only a hash of the secret: no column holds the key, its secret or the secret bytes', async () => {
    const { apiKey, key } = await createKey();
    const { secret } = partsOf(key);
    const { rows } = await pool.query('SELECT *, row_to_json(api_keys)::text AS as_text FROM api_keys WHERE id = $1', [apiKey.id]);
    const row = rows[0] as Record<string, unknown> & { secret_hash: Buffer; as_text: string };
    const secretBytes = Buffer.from(secret, 'base64url');
    for (const value of Object.values(row)) {
      const text = Buffer.isBuffer(value)
        ? [value.toString('utf8'), value.toString('hex'), value.toString('base64'), value.toString('base64url')].join(' ')
        : String(value);
      expect(text).not.toContain(secret);
      if (Buffer.isBuffer(value)) expect(value.includes(secretBytes)).toBe(false);
    }
    expect(row.as_text).not.toContain(secret);
    expect(row.secret_hash).toEqual(crypto.createHash('sha256').update(secret).digest());
  });

  it('authenticates a key as its own caller with the scopes it was given', async () => {
    const { apiKey, key } = await createKey();
    expect(await keys.authenticate(key)).toEqual({ id: `apikey:${apiKey.id}`, role: 'customer', scopes: ['orders:write', 'orders:read'] });
  });

  it('refuses a wrong secret of the same key id, comparing the hashes in constant time', async () => {
    const { key } = await createKey();
    const { id, secret } = partsOf(key);
    const compare = jest.spyOn(crypto, 'timingSafeEqual');
    const wrong = otherSecretLike(secret);
    expect(await keys.authenticate(`ofk_${id}_${wrong}`)).toBeUndefined();
    // Buffer.equals or === would not pass through here.
    expect(compare).toHaveBeenCalledTimes(1);
    const [stored, given] = compare.mock.calls[0]!;
    expect(Buffer.from(stored as Buffer)).toEqual(crypto.createHash('sha256').update(secret).digest());
    expect(Buffer.from(given as Buffer)).toEqual(crypto.createHash('sha256').update(wrong).digest());
  });

  it('refuses a revoked key from the revocation on', async () => {
    const { apiKey, key } = await createKey();
    expect(await keys.authenticate(key)).toBeDefined();
    expect(await keys.revoke(pool, apiKey.id)).toMatchObject({ revoked: true, apiKey: { revokedAt: expect.any(String) } });
    expect(await keys.authenticate(key)).toBeUndefined();
  });

  it('refuses a key whose id does not exist and a key that is not of the ofk_ form', async () => {
    const { key } = await createKey();
    const { secret } = partsOf(key);
    expect(await keys.authenticate(`ofk_${crypto.randomUUID().replace(/-/g, '')}_${secret}`)).toBeUndefined();
    expect(await keys.authenticate(secret)).toBeUndefined();
    expect(await keys.authenticate(`${key}x`)).toBeUndefined();
  });

  it("stores a key's own ratePerMinute and answers it on the caller the rate limiter reads; a key without one carries none (the partner default applies)", async () => {
    const own = await createKey({ ratePerMinute: 250 });
    const { rows } = await pool.query('SELECT rate_per_minute FROM api_keys WHERE id = $1', [own.apiKey.id]);
    expect(rows[0]).toEqual({ rate_per_minute: 250 });
    expect(own.apiKey.ratePerMinute).toBe(250);
    expect(await keys.authenticate(own.key)).toMatchObject({ id: `apikey:${own.apiKey.id}`, ratePerMinute: 250 });

    const plain = await createKey();
    expect(await keys.authenticate(plain.key)).not.toHaveProperty('ratePerMinute');
  });
});
