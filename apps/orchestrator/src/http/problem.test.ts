import { AppError } from '@orderflow/domain';
import { toProblem } from './problem';

describe('toProblem', () => {
  it('answers 503 unavailable, without internals, when the database is restarting or out of reach', () => {
    const failures = [
      Object.assign(new Error('terminating connection due to administrator command'), { code: '57P01' }),
      Object.assign(new Error('the database system is in recovery mode'), { code: '57P03' }),
      Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' }),
      new Error('Connection terminated unexpectedly'),
      new Error('Query read timeout'),
      new Error('timeout exceeded when trying to connect'),
    ];
    for (const error of failures) expect(toProblem(error)).toEqual({ problem: 'unavailable' });
  });

  it('answers 500 for an error it does not know, and the domain status for a domain error', () => {
    expect(toProblem(new TypeError("Cannot read properties of undefined (reading 'id')"))).toEqual({ problem: 'internal' });
    expect(toProblem(Object.assign(new Error('duplicate key value violates unique constraint'), { code: '23505' }))).toEqual({ problem: 'internal' });
    expect(toProblem(new AppError('NOT_FOUND', 'no order 1'))).toEqual({ problem: 'not-found', detail: 'no order 1' });
  });
});
