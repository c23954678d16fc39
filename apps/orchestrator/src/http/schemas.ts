import { z } from 'zod';
import { ORDER_LIMITS, orderLineSchema, skuSchema } from '@orderflow/domain';
import { HttpProblem } from './problem';

// Strict request schemas: unknown fields are rejected, sizes and counts bounded.
export const placeOrderBody = z.strictObject({
  items: z.array(orderLineSchema.strict()).min(1, 'at least one item').max(ORDER_LIMITS.maxLines, `at most ${ORDER_LIMITS.maxLines} items`),
});
export const upsertProductBody = z.strictObject({
  name: z.string().trim().min(1).max(200),
  priceCents: z.number().int().min(0).max(1e11),
  stock: z.number().int().min(0).max(1e9),
});
export const orderIdParam = z.guid();
export const skuParam = skuSchema;
export const listQuery = z.strictObject({
  limit: z.coerce.number().int().min(1).max(100).default(20),
  cursor: z.string().min(1).max(200).optional(),
});

/** Parses `value` or throws a 400 (404 for a path parameter that cannot name anything) naming each problem. */
export function parse<S extends z.ZodTypeAny>(schema: S, value: unknown, where: 'body' | 'query' | 'path'): z.infer<S> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  if (where === 'path') throw new HttpProblem('not-found');
  const errors = result.error.issues.slice(0, 20).map((i) => ({ path: [where, ...i.path].join('.'), message: i.message }));
  throw new HttpProblem('validation-failed', errors.map((e) => `${e.path}: ${e.message}`).join('; '), { errors });
}

const TRACEPARENT = /^00-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$/;
/** The request's W3C trace context, when it sent a well-formed one. */
export function traceparentOf(header: string | undefined): string | undefined {
  return header && TRACEPARENT.test(header) && !/^00-0{32}-/.test(header) && !/-0{16}-/.test(header) ? header : undefined;
}
