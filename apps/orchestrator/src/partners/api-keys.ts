import { createHash, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import type { Pool } from 'pg';
import { prepared, type Queryable } from '@orderflow/db';
import { API_KEY_CALLER_PREFIX, type ApiKeyScope, type Caller } from '../domain/caller';

/** A partner API key as admins see it: never its secret. */
export interface ApiKey {
  id: string;
  name: string;
  scopes: ApiKeyScope[];
  ratePerMinute: number | null;
  /** The start of the key (`ofk_<id>`), enough to tell which key a partner holds. */
  prefix: string;
  createdBy: string;
  createdAt: string;
  revokedAt: string | null;
}

// `ofk_<key id, 32 hex>_<secret, 32 random bytes in base64url>`: the id finds the row, the secret proves
// possession; the prefix makes a leaked key recognisable to secret scanners.
const KEY_FORMAT = /^ofk_([0-9a-f]{32})_([A-Za-z0-9_-]{43})$/;
const hashOf = (secret: string) => createHash('sha256').update(secret).digest();
const uuidOf = (hex: string) => `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
const prefixOf = (id: string) => `ofk_${id.replace(/-/g, '')}`;

interface ApiKeyRow {
  id: string;
  name: string;
  scopes: ApiKeyScope[];
  rate_per_minute: number | null;
  created_by: string;
  created_at: Date;
  revoked_at: Date | null;
}

const toApiKey = (r: ApiKeyRow): ApiKey => ({
  id: r.id,
  name: r.name,
  scopes: r.scopes,
  ratePerMinute: r.rate_per_minute,
  prefix: prefixOf(r.id),
  createdBy: r.created_by,
  createdAt: r.created_at.toISOString(),
  revokedAt: r.revoked_at?.toISOString() ?? null,
});

/** Partner API keys: created shown once, stored as a hash, revoked at once (every request reads its key's row). */
export function createApiKeyStore(pool: Pool) {
  return {
    /** Creates a key in the caller's transaction; the key itself is in the answer and nowhere else. */
    async create(
      tx: Queryable,
      input: { name: string; scopes: ApiKeyScope[]; ratePerMinute?: number; createdBy: string },
    ): Promise<{ apiKey: ApiKey; key: string }> {
      const id = randomUUID();
      const secret = randomBytes(32).toString('base64url');
      const { rows } = await tx.query<ApiKeyRow>(
        `INSERT INTO api_keys (id, name, secret_hash, scopes, rate_per_minute, created_by) VALUES ($1, $2, $3, $4, $5, $6) RETURNING *`,
        [id, input.name, hashOf(secret), input.scopes, input.ratePerMinute ?? null, input.createdBy],
      );
      return { apiKey: toApiKey(rows[0]!), key: `${prefixOf(id)}_${secret}` };
    },

    /** Newest first; `before` is the last key of the previous page. */
    async list(limit: number, before?: { createdAt: string; id: string }): Promise<ApiKey[]> {
      const { rows } = before
        ? await pool.query<ApiKeyRow>(
            'SELECT * FROM api_keys WHERE (created_at, id) < ($2::timestamptz, $3::uuid) ORDER BY created_at DESC, id DESC LIMIT $1',
            [limit, before.createdAt, before.id],
          )
        : await pool.query<ApiKeyRow>('SELECT * FROM api_keys ORDER BY created_at DESC, id DESC LIMIT $1', [limit]);
      return rows.map(toApiKey);
    },

    /** Revokes a key in the caller's transaction: from its commit on, no request authenticates with it. Undefined when there is no such key. */
    async revoke(tx: Queryable, id: string): Promise<{ apiKey: ApiKey; revoked: boolean } | undefined> {
      const { rows } = await tx.query<ApiKeyRow & { changed: boolean }>(
        `WITH r AS (UPDATE api_keys SET revoked_at = now() WHERE id = $1 AND revoked_at IS NULL RETURNING *)
         SELECT true AS changed, * FROM r UNION ALL SELECT false, * FROM api_keys WHERE id = $1 AND NOT EXISTS (SELECT 1 FROM r)`,
        [id],
      );
      return rows[0] && { apiKey: toApiKey(rows[0]), revoked: rows[0].changed };
    },

    /**
     * The caller a presented key stands for, or undefined when it is malformed, unknown or revoked. The
     * secret's hash is compared in constant time; a malformed key costs a hash too, so timing tells nothing.
     */
    async authenticate(presented: string): Promise<Caller | undefined> {
      const match = KEY_FORMAT.exec(presented);
      const given = hashOf(match?.[2] ?? presented);
      if (!match) return undefined;
      const { rows } = await pool.query(
        prepared('SELECT secret_hash, scopes, rate_per_minute FROM api_keys WHERE id = $1 AND revoked_at IS NULL', [uuidOf(match[1]!)]),
      );
      const row = rows[0] as { secret_hash: Buffer; scopes: ApiKeyScope[]; rate_per_minute: number | null } | undefined;
      if (!row || !timingSafeEqual(row.secret_hash, given)) return undefined;
      return {
        id: `${API_KEY_CALLER_PREFIX}${uuidOf(match[1]!)}`,
        role: 'customer',
        scopes: row.scopes,
        ...(row.rate_per_minute ? { ratePerMinute: row.rate_per_minute } : {}),
      };
    },
  };
}

export type ApiKeyStore = ReturnType<typeof createApiKeyStore>;
