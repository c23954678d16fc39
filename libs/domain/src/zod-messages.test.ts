import { z } from 'zod';
import './zod-messages';

const messages = (schema: z.ZodType, value: unknown) => schema.safeParse(value).error?.issues.map((i) => `${i.path.join('.')}: ${i.message}`);

describe('validation messages', () => {
  it('keeps the wording clients saw before zod 4 for every default message', () => {
    const schema = z.strictObject({
      quantity: z.number().int().min(1).max(1000),
      count: z.number(),
      name: z.string().min(1).max(3),
      items: z.array(z.number()).min(1).max(1),
      id: z.guid(),
      to: z.email(),
      at: z.iso.datetime({ offset: true }),
      status: z.enum(['PENDING', 'CONFIRMED']),
      version: z.literal('1.0'),
      code: z.string().regex(/^x$/),
    });
    expect(messages(schema, { quantity: 1.5, name: '', items: [1, 2], id: 'x', to: 'x', at: 'x', status: 'X', version: '2', code: 'y', extra: 1 })).toEqual([
      'quantity: Expected integer, received float',
      'count: Required',
      'name: String must contain at least 1 character(s)',
      'items: Array must contain at most 1 element(s)',
      'id: Invalid uuid',
      'to: Invalid email',
      'at: Invalid datetime',
      "status: Invalid enum value. Expected 'PENDING' | 'CONFIRMED', received 'X'",
      'version: Invalid literal value, expected "1.0"',
      'code: Invalid',
      ": Unrecognized key(s) in object: 'extra'",
    ]);
    expect(messages(schema.shape.quantity, 0)).toEqual([': Number must be greater than or equal to 1']);
    expect(messages(schema.shape.quantity, 1001)).toEqual([': Number must be less than or equal to 1000']);
    expect(messages(schema.shape.count, 'seven')).toEqual([': Expected number, received string']);
    expect(messages(schema.shape.name, 'abcd')).toEqual([': String must contain at most 3 character(s)']);
    expect(messages(z.string().min(1, 'own message'), '')).toEqual([': own message']);
  });
});
