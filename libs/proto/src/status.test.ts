import { status } from '@grpc/grpc-js';
import { errorCodeOf, grpcError, grpcStatusFor, grpcStatusOf, isRetryableGrpcError, toGrpcError } from './status';

describe('gRPC status mapping', () => {
  test.each([
    ['NOT_FOUND', status.NOT_FOUND],
    ['UNKNOWN_SKU', status.NOT_FOUND],
    ['INVALID_TRANSITION', status.FAILED_PRECONDITION],
    ['CONFLICT', status.ALREADY_EXISTS],
    ['VALIDATION_FAILED', status.INVALID_ARGUMENT],
    ['UNAVAILABLE', status.UNAVAILABLE],
    ['INTERNAL', status.INTERNAL],
    ['SOMETHING_NEW', status.INTERNAL],
    ['constructor', status.INTERNAL],
  ])('domain code %s maps to status %i', (code, expected) => {
    expect(grpcStatusFor(code)).toBe(expected);
  });

  test('grpcError builds a ServiceError whose trailer carries the domain code', () => {
    const error = grpcError('INVALID_TRANSITION', 'order o-1 is REJECTED');

    expect(error).toMatchObject({ code: status.FAILED_PRECONDITION, details: 'order o-1 is REJECTED', message: 'order o-1 is REJECTED' });
    expect(errorCodeOf(error)).toBe('INVALID_TRANSITION');
    expect(errorCodeOf(grpcError(status.ABORTED, 'x'))).toBeUndefined();
  });

  test('toGrpcError maps coded errors and hides the message of anything unexpected', () => {
    const coded = Object.assign(new Error('no such order'), { name: 'AppError', code: 'NOT_FOUND' });
    const unexpected = new Error('relation "orders" does not exist');

    expect(toGrpcError(coded)).toMatchObject({ code: status.NOT_FOUND, details: 'no such order' });
    expect(toGrpcError(unexpected)).toMatchObject({ code: status.INTERNAL, details: 'internal error' });
    expect(toGrpcError(Object.assign(new Error('odd'), { code: 'EODD' }))).toMatchObject({ code: status.INTERNAL, details: 'internal error' });
    const passthrough = grpcError(status.ABORTED, 'try again');
    expect(toGrpcError(passthrough)).toBe(passthrough);
  });

  test('toGrpcError answers UNAVAILABLE (retryable) when the database or network fails transiently', () => {
    const transient = [
      Object.assign(new Error('sorry, too many clients already'), { code: '53300' }),
      Object.assign(new Error('terminating connection due to administrator command'), { code: '57P01' }),
      Object.assign(new Error('could not serialize access'), { code: '40001' }),
      Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' }),
      new Error('timeout exceeded when trying to connect'),
    ];
    for (const error of transient) expect(toGrpcError(error)).toMatchObject({ code: status.UNAVAILABLE, details: 'temporarily unavailable' });
    expect(toGrpcError(Object.assign(new Error('duplicate key'), { code: '23505' }))).toMatchObject({ code: status.INTERNAL });
  });

  test('only transient statuses are retryable', () => {
    for (const code of [status.UNAVAILABLE, status.DEADLINE_EXCEEDED, status.RESOURCE_EXHAUSTED, status.ABORTED]) {
      expect(isRetryableGrpcError(grpcError(code, 'x'))).toBe(true);
    }
    for (const code of [status.NOT_FOUND, status.FAILED_PRECONDITION, status.INVALID_ARGUMENT, status.INTERNAL, status.CANCELLED]) {
      expect(isRetryableGrpcError(grpcError(code, 'x'))).toBe(false);
    }
    expect(isRetryableGrpcError(new Error('plain'))).toBe(false);
    expect(grpcStatusOf(undefined)).toBeUndefined();
  });
});
