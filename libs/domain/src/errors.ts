/** Stable error codes; each transport maps them to a status in one place (problem+json, gRPC). */
export type ErrorCode =
  'VALIDATION_FAILED' | 'NOT_FOUND' | 'UNKNOWN_SKU' | 'INVALID_TRANSITION' | 'STOCK_BELOW_RESERVED' | 'CONFLICT' | 'UNAVAILABLE' | 'INTERNAL';

/** The one error type of the system: a stable `code`, a message safe to show, and whether a retry may help. */
export class AppError extends Error {
  readonly code: ErrorCode;
  readonly retryable: boolean;
  readonly details?: Record<string, unknown>;

  constructor(code: ErrorCode, message: string, options: { retryable?: boolean; cause?: unknown; details?: Record<string, unknown> } = {}) {
    super(message, { cause: options.cause });
    this.name = 'AppError';
    this.code = code;
    this.retryable = options.retryable ?? code === 'UNAVAILABLE';
    this.details = options.details;
  }
}

/** True for an AppError (checked by shape, not instanceof, so it works across bundles). */
export function isAppError(error: unknown): error is AppError {
  return (
    typeof error === 'object' && error !== null && (error as { name?: unknown }).name === 'AppError' && typeof (error as { code?: unknown }).code === 'string'
  );
}
