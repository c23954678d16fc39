import { Metadata, status, type ServiceError } from '@grpc/grpc-js';
import { isTransientInfrastructureError } from '@orderflow/platform';

/** Trailer that carries the domain error code next to the gRPC status, so clients can map it back exactly. */
export const ERROR_CODE_TRAILER = 'error-code';

// Domain codes (libs/domain ErrorCode) and gRPC status names both map; anything else is INTERNAL.
const STATUS_BY_CODE = new Map<string, status>(
  Object.entries({
    NOT_FOUND: status.NOT_FOUND,
    UNKNOWN_SKU: status.NOT_FOUND,
    INVALID_TRANSITION: status.FAILED_PRECONDITION,
    FAILED_PRECONDITION: status.FAILED_PRECONDITION,
    STOCK_BELOW_RESERVED: status.FAILED_PRECONDITION,
    CONFLICT: status.ALREADY_EXISTS,
    ALREADY_EXISTS: status.ALREADY_EXISTS,
    VALIDATION_FAILED: status.INVALID_ARGUMENT,
    INVALID_ARGUMENT: status.INVALID_ARGUMENT,
    UNAVAILABLE: status.UNAVAILABLE,
    INTERNAL: status.INTERNAL,
  }),
);

// Failures where the same call may succeed later; everything else would fail the same way again.
const TRANSIENT = new Set([status.UNAVAILABLE, status.DEADLINE_EXCEEDED, status.RESOURCE_EXHAUSTED, status.ABORTED]);

/** The gRPC status for a domain error code (or a gRPC status name); unknown codes are INTERNAL. */
export function grpcStatusFor(code: string): status {
  return STATUS_BY_CODE.get(code) ?? status.INTERNAL;
}

/**
 * A ServiceError to pass to a handler's callback (or emit on a stream). A string code is a domain
 * code: it picks the status and travels in the `error-code` trailer.
 */
export function grpcError(code: status | string, message: string): ServiceError {
  const metadata = new Metadata();
  if (typeof code === 'string') metadata.set(ERROR_CODE_TRAILER, code);
  const grpcCode = typeof code === 'string' ? grpcStatusFor(code) : code;
  return Object.assign(new Error(message), { code: grpcCode, details: message, metadata });
}

// A service whose database is unreachable, full or restarting is unavailable, not broken: as INTERNAL
// these failed sagas for good (PROCESSING_FAILED) on a database blip; UNAVAILABLE is retried.
/**
 * Any thrown value as a ServiceError: gRPC errors pass through, errors with a string `code` (AppError)
 * are mapped, a transient database or network failure is UNAVAILABLE, and anything else becomes
 * INTERNAL; neither carries the original message, so internals never reach callers.
 */
export function toGrpcError(error: unknown): ServiceError {
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code === 'number' && code in status) return error as ServiceError;
  if (typeof code === 'string' && STATUS_BY_CODE.has(code) && code !== 'INTERNAL') return grpcError(code, (error as Error).message);
  if (isTransientInfrastructureError(error)) return grpcError('UNAVAILABLE', 'temporarily unavailable');
  return grpcError('INTERNAL', 'internal error');
}

/** The gRPC status code of an error from a client call, or undefined for anything else. */
export function grpcStatusOf(error: unknown): status | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'number' && code in status ? code : undefined;
}

/** The domain code the server put in the `error-code` trailer, if any. */
export function errorCodeOf(error: unknown): string | undefined {
  // Duck-typed rather than instanceof: a bundled copy of grpc-js would have its own Metadata class.
  const metadata = (error as { metadata?: Partial<Metadata> } | null)?.metadata;
  const value = typeof metadata?.get === 'function' ? metadata.get(ERROR_CODE_TRAILER)[0] : undefined;
  return typeof value === 'string' ? value : undefined;
}

/** Whether retrying the call may help: UNAVAILABLE, DEADLINE_EXCEEDED, RESOURCE_EXHAUSTED, ABORTED. */
export function isRetryableGrpcError(error: unknown): boolean {
  const code = grpcStatusOf(error);
  return code !== undefined && TRANSIENT.has(code);
}
