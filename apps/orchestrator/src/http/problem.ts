import type { ErrorRequestHandler, Response } from 'express';
import type { Logger } from 'pino';
import { isAppError, type ErrorCode } from '@orderflow/domain';
import { isTransientInfrastructureError } from '@orderflow/platform';

/** One problem type per error the API can answer with (RFC 9457); `type` is a stable URI. */
export const PROBLEMS = {
  'validation-failed': { status: 400, title: 'Request is not valid' },
  'malformed-json': { status: 400, title: 'Body is not valid JSON' },
  'idempotency-key-missing': { status: 400, title: 'Idempotency-Key header is required' },
  'idempotency-key-invalid': { status: 400, title: 'Idempotency-Key header is not valid' },
  unauthorized: { status: 401, title: 'Authentication required' },
  forbidden: { status: 403, title: 'Not allowed' },
  'not-found': { status: 404, title: 'Not found' },
  conflict: { status: 409, title: 'Conflict with the current state' },
  'idempotency-key-in-use': { status: 409, title: 'A request with this Idempotency-Key is still being processed' },
  'payload-too-large': { status: 413, title: 'Body is too large' },
  'unsupported-media-type': { status: 415, title: 'Content-Type must be application/json' },
  'idempotency-key-reused': { status: 422, title: 'Idempotency-Key was used with a different request' },
  'unknown-sku': { status: 422, title: 'Unknown product' },
  'rate-limited': { status: 429, title: 'Too many requests' },
  internal: { status: 500, title: 'Internal error' },
  unavailable: { status: 503, title: 'A service this request needs is unavailable' },
} as const;
export type ProblemType = keyof typeof PROBLEMS;

export const PROBLEM_BASE = 'https://orderflow.dev/problems/';

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
  return { type: `${PROBLEM_BASE}${problem}`, title, status, ...(detail ? { detail } : {}), ...(instance ? { instance } : {}), ...extra };
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
  if (e.status === 400 || e.type === 'encoding.unsupported' || e.type === 'charset.unsupported') return { problem: 'validation-failed', detail: 'body could not be read' };
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
