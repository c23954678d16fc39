import { z } from 'zod';
import { FACT_TYPES, ORDER_LIMITS, orderLineSchema, skuSchema } from '@orderflow/domain';
import { API_KEY_SCOPES } from '../domain/caller';
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
const CURSOR = 'The `nextCursor` of the previous page';
export const listQuery = z.strictObject({
  limit: z.coerce.number().int().min(1).max(100).default(20),
  cursor: z.string().min(1).max(200).optional().describe(CURSOR),
});
const instant = z.iso.datetime({ offset: true });
export const sagaSearchQuery = z.strictObject({
  state: z.enum(['RUNNING', 'WAITING', 'COMPENSATING', 'COMPLETED', 'FAILED']).optional(),
  step: z.string().min(1).max(64).optional().describe('Current step, e.g. `RESERVE_STOCK`, `CONFIRM_ORDER`, `RELEASE_STOCK`'),
  customerId: z.string().min(1).max(200).optional(),
  from: instant.optional().describe('Created at or after (RFC 3339)'),
  to: instant.optional().describe('Created before (RFC 3339)'),
  limit: z.coerce.number().int().min(1).max(100).default(20),
  cursor: z.string().min(1).max(200).optional().describe(CURSOR),
});
const deadLetterFilter = {
  source: z.enum(['kafka', 'rabbitmq', 'saga']).optional(),
  topic: z.string().min(1).max(300).optional().describe('The topic, queue or saga step it came from (`origin`)'),
  from: instant.optional().describe('Recorded at or after (RFC 3339)'),
  to: instant.optional().describe('Recorded before (RFC 3339)'),
};
export const deadLetterQuery = z.strictObject({
  ...deadLetterFilter,
  status: z.enum(['pending', 'replayed', 'discarded']).optional(),
  limit: z.coerce.number().int().min(1).max(200).default(50),
  cursor: z.string().max(200).optional().describe(CURSOR),
});
export const replayMatchingBody = z.strictObject(deadLetterFilter);
export const createApiKeyBody = z.strictObject({
  name: z.string().trim().min(1).max(200).describe('Who holds it, e.g. the partner and system'),
  scopes: z
    .array(z.enum(API_KEY_SCOPES))
    .min(1)
    .max(API_KEY_SCOPES.length)
    .refine((scopes) => new Set(scopes).size === scopes.length, 'scopes must not repeat')
    .describe('What the key may do: `orders:write` (place and cancel orders), `orders:read` (its own orders), `products:read` (the catalog)'),
  ratePerMinute: z
    .number()
    .int()
    .min(1)
    .max(1_000_000)
    .optional()
    .describe('Its own quota of requests per minute; the partner default (`API_KEY_RATE_PER_MINUTE`) if absent'),
});
export const reasonBody = z.strictObject({ reason: z.string().trim().min(1).max(500).describe('Why, for the audit log') });
export const auditQuery = z.strictObject({
  action: z.string().min(1).max(100).optional().describe('Only this action, e.g. `saga.retry`, `dead-letter.replay-matching`, `api-key.create`'),
  actor: z.string().min(1).max(200).optional().describe("Only this admin's actions (the token's `sub`)"),
  limit: z.coerce.number().int().min(1).max(200).default(50),
  cursor: z.string().min(1).max(200).optional().describe(CURSOR),
});

const webhookEvents = z
  .array(z.enum(FACT_TYPES))
  .min(1)
  .max(FACT_TYPES.length)
  .refine((types) => new Set(types).size === types.length, 'each event type once')
  .describe('The fact types to deliver (their CloudEvents `type`)');
const webhookUrl = z
  .string()
  .min(1)
  .max(2_048)
  .describe('Where deliveries are POSTed: https, and a host whose addresses are all public (unless the server sets WEBHOOK_ALLOW_PRIVATE)');
const webhookDescription = z.string().trim().max(500);
export const createWebhookBody = z.strictObject({ url: webhookUrl, events: webhookEvents, description: webhookDescription.optional() });
export const updateWebhookBody = z
  .strictObject({
    url: webhookUrl.optional(),
    events: webhookEvents.optional(),
    description: webhookDescription.nullable().optional(),
    enabled: z.boolean().optional().describe('`true` re-enables one that was disabled (by an admin, or because its receiver answered 410)'),
  })
  .refine((patch) => Object.keys(patch).length > 0, 'nothing to change');

/** A JSON Pointer (RFC 6901) in URI fragment form: `#/items/0/quantity`. */
export function jsonPointer(path: readonly PropertyKey[]): string {
  const token = (key: PropertyKey) =>
    String(key)
      .replace(/~/g, '~0')
      .replace(/\//g, '~1')
      .replace(/[^A-Za-z0-9\-._~!$&'()*+,;=:@?]/gu, (c) => encodeURIComponent(c));
  return `#${path.map((key) => `/${token(key)}`).join('')}`;
}

/**
 * The `errors` members of a validation problem (RFC 9457 section 3): one per invalid member, with a JSON
 * Pointer into the body or the name of the query parameter; an unknown member is named by itself.
 */
function problemErrors(issue: z.core.$ZodIssue, where: 'body' | 'query'): { detail: string; pointer?: string; parameter?: string }[] {
  const paths = issue.code === 'unrecognized_keys' ? issue.keys.map((key) => [...issue.path, key]) : [issue.path];
  return paths.map((path) => {
    if (where === 'body') return { detail: issue.message, pointer: jsonPointer(path) };
    return path.length ? { detail: issue.message, parameter: String(path[0]) } : { detail: issue.message };
  });
}

/** Parses `value` or throws a 400 (404 for a path parameter that cannot name anything) naming each problem. */
export function parse<S extends z.ZodType>(schema: S, value: unknown, where: 'body' | 'query' | 'path'): z.output<S> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  if (where === 'path') throw new HttpProblem('not-found');
  const issues = result.error.issues.slice(0, 20);
  const detail = issues.map((i) => `${[where, ...i.path].join('.')}: ${i.message}`).join('; ');
  throw new HttpProblem('validation-failed', detail, { errors: issues.flatMap((i) => problemErrors(i, where)) });
}

const TRACEPARENT = /^00-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$/;
/** The request's W3C trace context, when it sent a well-formed one. */
export function traceparentOf(header: string | undefined): string | undefined {
  return header && TRACEPARENT.test(header) && !/^00-0{32}-/.test(header) && !/-0{16}-/.test(header) ? header : undefined;
}
