import type { ErrorRequestHandler, Response } from 'express';
import type { Logger } from 'pino';
import { z } from 'zod';
import { isAppError, type ErrorCode } from '@orderflow/domain';
import { isTransientInfrastructureError } from '@orderflow/platform';

/**
 * One problem type per error the API can answer with (RFC 9457); `type` is a stable URI. `about` and
 * `todo` are the page served at /problems/<type> (problem-pages.ts).
 */
export const PROBLEMS = {
  'validation-failed': {
    status: 400,
    title: 'Request is not valid',
    about: 'The body, query or a path segment does not meet the schema of the operation (see /openapi.json).',
    todo: 'Fix each entry of `errors`: `pointer` is a JSON Pointer (RFC 6901) into the body, `parameter` names a query parameter; `detail` says what is wrong.',
  },
  'malformed-json': {
    status: 400,
    title: 'Body is not valid JSON',
    about: 'The body could not be parsed as JSON, or holds a key such as `__proto__`.',
    todo: 'Send one JSON value, UTF-8 encoded.',
  },
  'idempotency-key-missing': {
    status: 400,
    title: 'Idempotency-Key header is required',
    about: 'Every write needs an `Idempotency-Key` header so that a retry cannot do it twice.',
    todo: 'Send a fresh key (a UUID will do) with each new write, and the same key when retrying it.',
  },
  'idempotency-key-invalid': {
    status: 400,
    title: 'Idempotency-Key header is not valid',
    about: 'The key must be 1-255 printable ASCII characters.',
    todo: 'Send a shorter key of printable ASCII, such as a UUID.',
  },
  unauthorized: {
    status: 401,
    title: 'Authentication required',
    about: 'The bearer token is missing, malformed, expired or not signed by a key this API trusts.',
    todo: 'Send `Authorization: Bearer <JWT>` with a valid, unexpired token (`make token` prints one for development).',
  },
  forbidden: { status: 403, title: 'Not allowed', about: 'The operation is for admin tokens only.', todo: 'Use a token whose `role` claim is `admin`.' },
  'not-found': {
    status: 404,
    title: 'Not found',
    about: 'No such resource or endpoint. Another customer’s order is answered the same way as a missing one.',
    todo: 'Check the id or path; list the collection to find what exists.',
  },
  conflict: {
    status: 409,
    title: 'Conflict with the current state',
    about:
      'The resource cannot change that way now: e.g. cancelling a finished order, stock below what is reserved, replaying a dead letter that is not replayable.',
    todo: 'Read the resource again and decide from its current state; `detail` says which rule refused it.',
  },
  'idempotency-key-in-use': {
    status: 409,
    title: 'A request with this Idempotency-Key is still being processed',
    about: 'The first request with this key has not finished yet.',
    todo: 'Retry the same request with the same key a moment later; it is answered with the first request’s result.',
  },
  'payload-too-large': { status: 413, title: 'Body is too large', about: 'Bodies are limited to 64 KiB.', todo: 'Send fewer items per request.' },
  'unsupported-media-type': {
    status: 415,
    title: 'Content-Type must be application/json',
    about: 'A body was sent with another content type.',
    todo: 'Send `Content-Type: application/json`.',
  },
  'idempotency-key-reused': {
    status: 422,
    title: 'Idempotency-Key was used with a different request',
    about: 'This key already belongs to a request with another method, path or body.',
    todo: 'Use a new key for a new request; reuse a key only to retry the very same request.',
  },
  'unknown-sku': {
    status: 422,
    title: 'Unknown product',
    about: 'An order line names a sku that is not in the catalog.',
    todo: 'Check the skus against GET /v1/products.',
  },
  'rate-limited': {
    status: 429,
    title: 'Too many requests',
    about: 'The caller has spent its quota of requests (see the `RateLimit-Policy` and `RateLimit` headers).',
    todo: 'Wait the number of seconds in `Retry-After`, then retry.',
  },
  internal: {
    status: 500,
    title: 'Internal error',
    about: 'Something failed that should not have; the details are in the server’s logs, not in the answer.',
    todo: 'Retry later; report it with the time and `instance` if it persists.',
  },
  unavailable: {
    status: 503,
    title: 'A service this request needs is unavailable',
    about: 'The order or inventory service or the database is down or overloaded, or its circuit breaker is open.',
    todo: 'Retry after `Retry-After` seconds; a write is safe to retry with the same Idempotency-Key.',
  },
} as const satisfies Record<string, { status: number; title: string; about: string; todo: string }>;
export type ProblemType = keyof typeof PROBLEMS;

/**
 * Where this server serves the page of each problem type (GET, no token), and the base of every problem
 * `type`: a URI reference relative to the API (RFC 9457 allows it), so it resolves against whichever
 * address a client reached the API at, to that page, and stays the same string in every deployment.
 */
export const PROBLEM_PAGES = '/problems/';

/**
 * One entry of a validation problem's `errors` (RFC 9457 section 3): `pointer` is a JSON Pointer
 * (RFC 6901, in URI fragment form) into the body, `parameter` a query parameter.
 */
export const problemErrorSchema = z.strictObject({
  detail: z.string().describe('What is wrong with it'),
  pointer: z
    .string()
    .regex(/^#(\/.*)?$/)
    .optional()
    .describe('JSON Pointer (RFC 6901) to the offending member of the body, e.g. `#/items/0/quantity`'),
  parameter: z.string().optional().describe('The offending query parameter'),
});
export const problemSchema = z.looseObject({
  type: z
    .string()
    .startsWith(PROBLEM_PAGES)
    .describe(`Identifies the problem type: a URI reference (\`${PROBLEM_PAGES}<type>\`) that resolves, against the API's address, to the page describing it`),
  title: z.string(),
  status: z.number().int(),
  detail: z.string().optional(),
  instance: z.string().optional(),
  errors: z.array(problemErrorSchema).optional().describe('Each invalid member of the request (validation-failed only)'),
});

/** An error that is answered as a given problem. Thrown by routes, rendered by the one error handler. */
export class HttpProblem extends Error {
  constructor(
    readonly problem: ProblemType,
    readonly detail?: string,
    readonly extra: Record<string, unknown> = {},
  ) {
    super(detail ?? PROBLEMS[problem].title);
    this.name = 'HttpProblem';
  }
}

const BY_CODE: Record<ErrorCode, ProblemType> = {
  VALIDATION_FAILED: 'validation-failed',
  NOT_FOUND: 'not-found',
  UNKNOWN_SKU: 'unknown-sku',
  INVALID_TRANSITION: 'conflict',
  STOCK_BELOW_RESERVED: 'conflict',
  CONFLICT: 'conflict',
  UNAVAILABLE: 'unavailable',
  INTERNAL: 'internal',
};

/** The problem+json document for `problem`, with its status. */
export function problemBody(problem: ProblemType, detail?: string, extra: Record<string, unknown> = {}, instance?: string) {
  const { status, title } = PROBLEMS[problem];
  return { type: `${PROBLEM_PAGES}${problem}`, title, status, ...(detail ? { detail } : {}), ...(instance ? { instance } : {}), ...extra };
}

export function sendProblem(res: Response, problem: ProblemType, detail?: string, extra: Record<string, unknown> = {}): void {
  const body = problemBody(problem, detail, extra, res.req.originalUrl);
  res.status(body.status).type('application/problem+json').send(JSON.stringify(body));
}

/** Maps any thrown value to a problem. 5xx details stay in the logs, never in the response. */
export function toProblem(error: unknown): { problem: ProblemType; detail?: string; extra?: Record<string, unknown> } {
  if (error instanceof HttpProblem) return { problem: error.problem, detail: error.detail, extra: error.extra };
  if (isAppError(error)) {
    const problem = BY_CODE[error.code] ?? 'internal';
    return PROBLEMS[problem].status >= 500 ? { problem } : { problem, detail: error.message };
  }
  const e = error as { type?: string; status?: number };
  if (e.type === 'entity.parse.failed') return { problem: 'malformed-json' };
  if (e.type === 'entity.too.large') return { problem: 'payload-too-large', detail: 'the body limit is 64 KiB' };
  if (e.status === 400 || e.type === 'encoding.unsupported' || e.type === 'charset.unsupported')
    return { problem: 'validation-failed', detail: 'body could not be read' };
  // The database restarting or out of reach: retry later (503, Retry-After), not a bug (500).
  if (isTransientInfrastructureError(error)) return { problem: 'unavailable' };
  return { problem: 'internal' };
}

export function errorHandler(logger: Logger): ErrorRequestHandler {
  return (error, req, res, _next) => {
    const { problem, detail, extra } = toProblem(error);
    if (PROBLEMS[problem].status >= 500) logger.error({ err: error, method: req.method, path: req.path }, 'request failed');
    if (res.headersSent) return;
    if (problem === 'unavailable') res.set('Retry-After', '1');
    sendProblem(res, problem, detail, extra);
  };
}
