import { HttpProblem } from './problem';
import { jsonPointer, listQuery, parse, placeOrderBody } from './schemas';

function problemOf(run: () => unknown): HttpProblem {
  try {
    run();
  } catch (error) {
    if (error instanceof HttpProblem) return error;
    throw error;
  }
  throw new Error('expected a problem');
}

describe('request validation', () => {
  it('reports each invalid field with a JSON Pointer to it', () => {
    const problem = problemOf(() =>
      parse(
        placeOrderBody,
        {
          items: [
            { sku: 'BEANS-1', quantity: 1 },
            { sku: 'BEANS-2', quantity: 0 },
          ],
          'a/b~c': true,
        },
        'body',
      ),
    );
    expect(problem.problem).toBe('validation-failed');
    expect(problem.extra.errors).toEqual([
      { detail: 'Number must be greater than or equal to 1', pointer: '#/items/1/quantity' },
      { detail: "Unrecognized key(s) in object: 'a/b~c'", pointer: '#/a~1b~0c' },
    ]);
    // The summary clients already read stays as it was.
    expect(problem.detail).toBe("body.items.1.quantity: Number must be greater than or equal to 1; body: Unrecognized key(s) in object: 'a/b~c'");
  });

  it('names the query parameter of each invalid one', () => {
    const problem = problemOf(() => parse(listQuery, { limit: '0', sort: 'x' }, 'query'));
    expect(problem.extra.errors).toEqual([
      { detail: 'Number must be greater than or equal to 1', parameter: 'limit' },
      { detail: "Unrecognized key(s) in object: 'sort'", parameter: 'sort' },
    ]);
  });

  it('writes JSON Pointers in URI fragment form (RFC 6901 section 6)', () => {
    expect(jsonPointer([])).toBe('#');
    expect(jsonPointer(['items', 0, 'sku'])).toBe('#/items/0/sku');
    expect(jsonPointer(['a b', 'é', '%'])).toBe('#/a%20b/%C3%A9/%25');
  });
});
