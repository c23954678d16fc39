import type { RequestHandler } from 'express';
import { createPublicKey, createSecretKey, type KeyObject } from 'node:crypto';
import jwt from 'jsonwebtoken';
import { JwksClient } from 'jwks-rsa';
import { z } from 'zod';
import { API_KEY_CALLER_PREFIX, type ApiKeyScope, type Caller, type Role } from '../domain/caller';
import { HttpProblem } from './problem';

export type { Caller, Role };

export interface AuthConfig {
  JWT_SECRET?: string;
  JWT_PUBLIC_KEY?: string;
  JWT_JWKS_URL?: string;
  JWT_JWKS_CACHE_SECONDS?: number;
  JWT_ISSUER?: string;
  JWT_AUDIENCE?: string;
}

declare module 'express-serve-static-core' {
  interface Request {
    caller?: Caller;
  }
}

/**
 * The claims the system relies on, checked at the edge: a bad one is a 401 here, not a dead-lettered
 * e-mail later. `sub` is the caller (never in the form reserved for API keys), `role` what it may do,
 * `email` where its e-mails go.
 */
const claimsSchema = z.looseObject({
  sub: z
    .string()
    .min(1)
    .max(128)
    .refine((sub) => !sub.startsWith(API_KEY_CALLER_PREFIX), 'is reserved for API keys'),
  role: z.enum(['customer', 'admin']),
  email: z.email().max(254).optional(),
  exp: z.number(),
});

function callerOfClaims(decoded: string | jwt.JwtPayload): Caller {
  if (typeof decoded === 'string') throw new HttpProblem('unauthorized', 'token payload is not an object');
  const claims = claimsSchema.safeParse(decoded);
  if (!claims.success) {
    const issue = claims.error.issues[0]!;
    throw new HttpProblem('unauthorized', `token claim ${String(issue.path[0] ?? '')} is not valid: ${issue.message}`);
  }
  const { sub, role, email } = claims.data;
  return { id: sub, role, ...(email ? { email } : {}) };
}

const BEARER = /^Bearer ([A-Za-z0-9._~+/-]+=*)$/;
function bearerToken(authorization: string | undefined): string {
  const match = BEARER.exec(authorization ?? '');
  if (!match) throw new HttpProblem('unauthorized', 'a bearer token (or an X-API-Key) is required');
  return match[1]!;
}

const unauthorized = (error: unknown) => new HttpProblem('unauthorized', error instanceof jwt.TokenExpiredError ? 'token expired' : 'token is not valid');

/** The one algorithm a public key can verify: RS256 for RSA, ES256 for P-256; never HS256 keyed by a public key. */
function algorithmOf(key: KeyObject): jwt.Algorithm {
  if (key.asymmetricKeyType === 'rsa') return 'RS256';
  if (key.asymmetricKeyType === 'ec' && key.asymmetricKeyDetails?.namedCurve === 'prime256v1') return 'ES256';
  throw new Error(`unsupported ${key.asymmetricKeyType ?? 'unknown'} key: RSA (RS256) or P-256 (ES256) only`);
}

const verifyOptions = (config: AuthConfig, algorithms: jwt.Algorithm[]): jwt.VerifyOptions => ({
  algorithms,
  clockTolerance: 5,
  ...(config.JWT_ISSUER ? { issuer: config.JWT_ISSUER } : {}),
  ...(config.JWT_AUDIENCE ? { audience: config.JWT_AUDIENCE } : {}),
});

/**
 * Verifies `Authorization: Bearer <jwt>` against a configured key, with an explicit algorithm allow-list:
 * HS256 with JWT_SECRET, or the public key's one algorithm (RS256, ES256) with JWT_PUBLIC_KEY; never
 * `none`. `exp` is required, `iss`/`aud` when configured. Returns the caller, or throws a 401
 * HttpProblem. Synchronous and framework-free, so the benchmark's peers (tools/bench/peers) check
 * tokens exactly as the API does.
 */
export function createTokenVerifier(config: AuthConfig): (authorization: string | undefined) => Caller {
  // Parsed once: given a string, jsonwebtoken would build a KeyObject on every request (5 % of the CPU under load).
  const key = config.JWT_PUBLIC_KEY ? createPublicKey(config.JWT_PUBLIC_KEY) : createSecretKey(Buffer.from(config.JWT_SECRET!, 'utf8'));
  const options = verifyOptions(config, [config.JWT_PUBLIC_KEY ? algorithmOf(key) : 'HS256']);
  return (authorization) => {
    const token = bearerToken(authorization);
    let decoded: string | jwt.JwtPayload;
    try {
      decoded = jwt.verify(token, key, options);
    } catch (error) {
      throw unauthorized(error);
    }
    return callerOfClaims(decoded);
  };
}

/**
 * Verifies bearer tokens with keys from an identity provider's JWKS endpoint (JWT_JWKS_URL): the key
 * named by the token's `kid`, RS256 or ES256 by the key's type, `iss` and `aud` required. Keys are
 * cached for JWT_JWKS_CACHE_SECONDS; an unknown `kid` (a rotation) fetches the set again, at most 10
 * times a minute. A key the provider no longer publishes stops working once its cache entry expires.
 * The provider unreachable with the key not cached is a 503 (retry), not a 401.
 */
export function createJwksTokenVerifier(config: AuthConfig): (authorization: string | undefined) => Promise<Caller> {
  const client = new JwksClient({
    jwksUri: config.JWT_JWKS_URL!,
    cache: true,
    cacheMaxAge: (config.JWT_JWKS_CACHE_SECONDS ?? 600) * 1_000,
    rateLimit: true,
    jwksRequestsPerMinute: 10,
    timeout: 5_000,
  });
  // One KeyObject per signing key jwks-rsa hands out (the same object while cached): parsing the PEM on
  // every request is what createTokenVerifier avoids too.
  const keyObjects = new WeakMap<object, KeyObject>();
  const keyObjectOf = (signingKey: { getPublicKey(): string }) => {
    let key = keyObjects.get(signingKey);
    if (!key) keyObjects.set(signingKey, (key = createPublicKey(signingKey.getPublicKey())));
    return key;
  };
  return async (authorization) => {
    const token = bearerToken(authorization);
    const header = jwt.decode(token, { complete: true })?.header;
    if (!header) throw new HttpProblem('unauthorized', 'token is not valid');
    let key: KeyObject;
    try {
      key = keyObjectOf(await client.getSigningKey(header.kid));
    } catch (error) {
      const name = (error as { name?: string }).name;
      if (name === 'SigningKeyNotFoundError' || name === 'JwksRateLimitError') throw new HttpProblem('unauthorized', 'token is signed with an unknown key');
      throw new HttpProblem('unavailable', 'the identity provider’s keys could not be fetched; retry');
    }
    let decoded: string | jwt.JwtPayload;
    try {
      decoded = jwt.verify(token, key, verifyOptions(config, [algorithmOf(key)]));
    } catch (error) {
      throw unauthorized(error);
    }
    return callerOfClaims(decoded);
  };
}

/** Finds the caller a partner API key stands for (apps/orchestrator/src/partners/api-keys.ts). */
export type ApiKeyAuthenticator = (presented: string) => Promise<Caller | undefined>;

/**
 * Express middleware: the caller on `req.caller`, from `X-API-Key` (a partner key: unknown or revoked
 * is 401) or else from the bearer token. Sending both is refused: which one counts would be a guess.
 */
export function authenticate(tokens: (authorization: string | undefined) => Caller | Promise<Caller>, apiKeys?: ApiKeyAuthenticator): RequestHandler {
  return async (req, _res, next) => {
    try {
      const apiKey = req.get('x-api-key');
      if (apiKey !== undefined) {
        if (req.get('authorization') !== undefined) throw new HttpProblem('unauthorized', 'send either a bearer token or an X-API-Key, not both');
        const caller = apiKeys && (await apiKeys(apiKey));
        if (!caller) throw new HttpProblem('unauthorized', 'the API key is not valid (unknown, revoked or malformed)');
        req.caller = caller;
      } else {
        req.caller = await tokens(req.get('authorization'));
      }
      next();
    } catch (error) {
      next(error);
    }
  };
}

/** The scope a partner key needs for a request under /v1 (`path` relative to it); undefined: no key may. */
function scopeFor(method: string, path: string): ApiKeyScope | undefined {
  const reading = method === 'GET' || method === 'HEAD';
  if (path === '/orders' || path.startsWith('/orders/')) return reading ? 'orders:read' : 'orders:write';
  if ((path === '/products' || path.startsWith('/products/')) && reading) return 'products:read';
  return undefined;
}

/** Lets a partner key through only where one of its scopes allows (403 otherwise); token callers pass (their role decides). */
export const requireScope: RequestHandler = (req, _res, next) => {
  const scopes = req.caller?.scopes;
  if (!scopes) return next();
  const needed = scopeFor(req.method, req.path);
  if (!needed) return next(new HttpProblem('forbidden', 'an API key cannot use this endpoint'));
  next(scopes.includes(needed) ? undefined : new HttpProblem('forbidden', `the API key lacks the ${needed} scope`));
};

/** Lets only the given roles through (after `authenticate`). */
export function requireRole(...roles: Role[]): RequestHandler {
  return (req, _res, next) =>
    next(req.caller && !req.caller.scopes && roles.includes(req.caller.role) ? undefined : new HttpProblem('forbidden', `requires role ${roles.join(' or ')}`));
}

/** The authenticated caller; routes behind `authenticate` always have one. */
export function callerOf(req: { caller?: Caller }): Caller {
  if (!req.caller) throw new HttpProblem('unauthorized');
  return req.caller;
}
