export type Role = 'customer' | 'admin';

/** What a partner API key may be allowed to do; a bearer token's role allows what its role allows. */
export const API_KEY_SCOPES = ['orders:write', 'orders:read', 'products:read'] as const;
export type ApiKeyScope = (typeof API_KEY_SCOPES)[number];

/** Who is calling, from a verified bearer token or a partner API key. */
export interface Caller {
  /** The token's `sub`, or `apikey:<key id>` for a key: whose orders, Idempotency-Keys and quota these are. */
  id: string;
  role: Role;
  email?: string;
  /** Set for an API key only: it may do exactly these. */
  scopes?: readonly ApiKeyScope[];
  /** Set for an API key with a quota of its own (requests per minute). */
  ratePerMinute?: number;
}

/** The caller id of API key `keyId`; no token `sub` may take this form. */
export const API_KEY_CALLER_PREFIX = 'apikey:';
