import { status, type sendUnaryData, type ServerUnaryCall } from '@grpc/grpc-js';
import type { z } from 'zod';
import { grpcError, toGrpcError } from './status';

/** What a use case sees of the call besides the request. */
export interface CallContext {
  /** W3C trace context from the `traceparent` metadata, when the caller sent one. */
  traceparent?: string;
}

/**
 * A unary handler from a request schema and a use-case function: a request failing the schema is
 * INVALID_ARGUMENT, a thrown error is mapped by `toGrpcError` (domain code → status, internals hidden).
 */
export function unaryHandler<S extends z.ZodTypeAny, Res>(schema: S, handle: (request: z.infer<S>, context: CallContext) => Promise<Res>) {
  return (call: ServerUnaryCall<unknown, Res>, callback: sendUnaryData<Res>): void => {
    const parsed = schema.safeParse(call.request);
    if (!parsed.success) {
      const message = parsed.error.issues.map((i) => `${i.path.join('.') || 'request'}: ${i.message}`).join('; ');
      callback(grpcError(status.INVALID_ARGUMENT, message));
      return;
    }
    const traceparent = call.metadata.get('traceparent')[0];
    handle(parsed.data, typeof traceparent === 'string' ? { traceparent } : {}).then(
      (response) => callback(null, response),
      (error: unknown) => callback(toGrpcError(error)),
    );
  };
}
