import type { RequestHandler } from 'express';
import { createPublicKey, createSecretKey } from 'node:crypto';
import jwt from 'jsonwebtoken';
import type { Caller, Role } from '../domain/caller';
import { HttpProblem } from './problem';

export type { Caller, Role };

export interface AuthConfig {
  JWT_SECRET?: string;
  JWT_PUBLIC_KEY?: string;
  JWT_ISSUER?: string;
  JWT_AUDIENCE?: string;
}

declare module 'express-serve-static-core' {
  interface Request {
    caller?: Caller;
  }
}

/**
 * Verifies `Authorization: Bearer <jwt>` with an explicit algorithm allow-list: RS256 with a public key
 * or HS256 with a secret, never `none` and never HS256 keyed by a public key. `exp` is required.
 * Returns the caller, or throws a 401/403 HttpProblem. Framework-free, so the benchmark's peers
 * (tools/bench/peers) check tokens exactly as the API does.
 */
export function createTokenVerifier(config: AuthConfig): (authorization: string | undefined) => Caller {
  // Parsed once: given a string, jsonwebtoken would build a KeyObject on every request (5 % of the CPU under load).
  const key = config.JWT_PUBLIC_KEY ? createPublicKey(config.JWT_PUBLIC_KEY) : createSecretKey(Buffer.from(config.JWT_SECRET!, 'utf8'));
  const options: jwt.VerifyOptions = {
    algorithms: config.JWT_PUBLIC_KEY ? ['RS256'] : ['HS256'],
    clockTolerance: 5,
    ...(config.JWT_ISSUER ? { issuer: config.JWT_ISSUER } : {}),
    ...(config.JWT_AUDIENCE ? { audience: config.JWT_AUDIENCE } : {}),
  };
  return (authorization) => {
    const match = /^Bearer ([A-Za-z0-9._~+/-]+=*)$/.exec(authorization ?? '');
    if (!match) throw new HttpProblem('unauthorized', 'a bearer token is required');
    let claims: jwt.JwtPayload;
    try {
      const decoded = jwt.verify(match[1]!, key, options);
      if (typeof decoded === 'string') throw new Error('payload is not an object');
      claims = decoded;
    } catch (error) {
      const reason = error instanceof jwt.TokenExpiredError ? 'token expired' : 'token is not valid';
      throw new HttpProblem('unauthorized', reason);
    }
    const role = claims.role;
    if (typeof claims.exp !== 'number') throw new HttpProblem('unauthorized', 'token has no exp claim');
    if (typeof claims.sub !== 'string' || !claims.sub || claims.sub.length > 128) throw new HttpProblem('unauthorized', 'token has no valid sub claim');
    if (role !== 'customer' && role !== 'admin') throw new HttpProblem('forbidden', 'token role is not customer or admin');
    return { id: claims.sub, role, ...(typeof claims.email === 'string' ? { email: claims.email } : {}) };
  };
}

/** Express middleware: `createTokenVerifier` on every request, the caller on `req.caller`. */
export function authenticate(config: AuthConfig): RequestHandler {
  const verify = createTokenVerifier(config);
  return (req, _res, next) => {
    try {
      req.caller = verify(req.get('authorization'));
      next();
    } catch (error) {
      next(error);
    }
  };
}

/** Lets only the given roles through (after `authenticate`). */
export function requireRole(...roles: Role[]): RequestHandler {
  return (req, _res, next) =>
    next(req.caller && roles.includes(req.caller.role) ? undefined : new HttpProblem('forbidden', `requires role ${roles.join(' or ')}`));
}

/** The authenticated caller; routes behind `authenticate` always have one. */
export function callerOf(req: { caller?: Caller }): Caller {
  if (!req.caller) throw new HttpProblem('unauthorized');
  return req.caller;
}
