import { Client, credentials, status, type ServiceError } from '@grpc/grpc-js';
import fc from 'fast-check';

/** A bare gRPC client that sends already-encoded request bytes, for fuzzing servers. */
export function rawGrpcClient(address: string) {
  const client = new Client(address, credentials.createInsecure());
  return {
    /** Resolves with the status code of the call. */
    call: (path: string, bytes: Uint8Array): Promise<number> =>
      new Promise((resolve) => {
        client.makeUnaryRequest(
          path,
          (b: Uint8Array) => Buffer.from(b),
          (b: Buffer) => b,
          bytes,
          { deadline: Date.now() + 5_000 },
          (error: ServiceError | null) => resolve(error ? error.code : status.OK),
        );
      }),
    close: () => client.close(),
  };
}

/** Statuses that blame the request, or OK: what garbage may get, unlike INTERNAL or UNKNOWN. */
export const CLIENT_STATUSES = new Set([status.OK, status.INVALID_ARGUMENT, status.NOT_FOUND, status.FAILED_PRECONDITION, status.ALREADY_EXISTS]);

/** Strings that tend to break validators: empty, blank, huge, UUID-shaped, random. */
export const fuzzText = fc.oneof(
  fc.string({ maxLength: 80 }),
  fc.constantFrom('', ' ', 'SKU-1', '00000000-0000-0000-0000-000000000000', 'x'.repeat(300)),
  fc.uuid(),
);
/** Values for int32 fields, edges included. */
export const fuzzInt32 = fc.oneof(fc.integer(), fc.constantFrom(0, -1, 1, 1001, 2 ** 31 - 1, -(2 ** 31)));
/** Values for int64 fields (carried as JS numbers), edges included. */
export const fuzzInt64 = fc.oneof(fc.integer(), fc.constantFrom(0, -1, 1, 1001, 2 ** 31, -(2 ** 31), Number.MAX_SAFE_INTEGER, -Number.MAX_SAFE_INTEGER));
