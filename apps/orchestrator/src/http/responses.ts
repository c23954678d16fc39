// The bodies the API answers with, as zod schemas: openapi.ts generates the document's response
// components from them, and e2e/openapi.test.ts checks real answers against that document.
import { z } from 'zod';
import { ORDER_STATUSES } from '@orderflow/domain';

const timestamp = z.iso.datetime();
const count = z.number().int();

export const orderItemResponse = z.strictObject({ sku: z.string(), quantity: count, unitPriceCents: count.min(0) });
export const orderResponse = z.strictObject({
  id: z.guid(),
  customerId: z.string(),
  status: z.enum(ORDER_STATUSES),
  items: z.array(orderItemResponse),
  totalCents: count.min(0),
  reason: z.string().optional().describe('`OUT_OF_STOCK` or `PROCESSING_FAILED` for a rejected order'),
  createdAt: timestamp,
  updatedAt: timestamp,
});
export const orderPageResponse = z.strictObject({ items: z.array(orderResponse), nextCursor: z.string().nullable() });

export const productResponse = z.strictObject({ sku: z.string(), name: z.string(), priceCents: count.min(0), available: count.min(0) });
export const productListResponse = z.strictObject({ items: z.array(productResponse) });
export const stockedProductResponse = productResponse.extend({ onHand: count.min(0).describe('Units in stock, reserved ones included (what `stock` sets)') });
export const stockedProductListResponse = z.strictObject({ items: z.array(stockedProductResponse) });

export const SAGA_STATUSES = ['RUNNING', 'WAITING', 'COMPENSATING', 'COMPLETED', 'FAILED'] as const;
export const sagaSummaryResponse = z.strictObject({
  orderId: z.guid(),
  customerId: z.string(),
  state: z.enum(SAGA_STATUSES).describe("`WAITING`: running or compensating, and waiting out a retry's backoff or an open circuit breaker"),
  currentStep: z.string(),
  attempts: count,
  outcome: z.enum(['CONFIRMED', 'REJECTED', 'CANCELLED']).nullable(),
  lastError: z.string().nullable(),
  nextAttemptAt: timestamp.nullable().describe('When a runner looks at it next: the end of a wait, or the deadline of a step under way'),
  totalCents: count.min(0),
  createdAt: timestamp,
  updatedAt: timestamp,
  finishedAt: timestamp.nullable(),
});
export const sagaPageResponse = z.strictObject({ items: z.array(sagaSummaryResponse), nextCursor: z.string().nullable() });
export const sagaResponse = sagaSummaryResponse.extend({
  compensations: z.array(z.string()).describe('Compensations still to run if it unwinds, newest last (they run in reverse)'),
  cancelRequested: z.boolean(),
  items: z.array(orderItemResponse),
  reason: z.string().nullable().describe('Why the order is being (or was) rejected'),
  steps: z
    .array(z.strictObject({ step: z.string(), outcome: z.string(), attempt: count, detail: z.string().optional(), at: timestamp }))
    .describe('The timeline: every step, attempt, failure, wait and operator action, oldest first'),
  messages: z
    .array(
      z.strictObject({
        id: z.string(),
        destination: z.enum(['kafka', 'rabbitmq']),
        topic: z.string(),
        type: z.string().describe("The fact's CloudEvents type, or the e-mail task's template"),
        messageId: z.string(),
        createdAt: timestamp,
        published: z.boolean().describe('Handed to its broker (Kafka or RabbitMQ), or still waiting in the outbox'),
      }),
    )
    .describe('Its facts and e-mail tasks from the outbox (until retention purges published ones)'),
  deadLetters: z.array(
    z.strictObject({
      id: z.guid(),
      source: z.enum(['kafka', 'rabbitmq', 'saga']),
      origin: z.string(),
      error: z.string(),
      attempts: count,
      status: z.enum(['pending', 'replayed', 'discarded']),
      createdAt: timestamp,
    }),
  ),
});

const byteEncoding = z
  .enum(['utf8', 'base64'])
  .describe('`utf8`: the bytes are UTF-8 text (no control characters but tab, LF, CR), shown as is; `base64`: any other bytes, in base64');
export const deadLetterResponse = z.strictObject({
  id: z.guid(),
  source: z.enum(['kafka', 'rabbitmq', 'saga']),
  origin: z.string().describe('Topic, queue or saga step it came from'),
  key: z.string().optional().describe('The message key (Kafka key, task correlation id, saga order id), encoded as `keyEncoding` says'),
  keyEncoding: byteEncoding.optional(),
  messageId: z.string().optional(),
  payload: z.string().describe('The message exactly as received, encoded as `payloadEncoding` says; replay sends these bytes'),
  payloadEncoding: byteEncoding,
  headers: z.record(z.string(), z.string()).describe('Header values as text; those named in `base64Headers` are base64 of their bytes'),
  base64Headers: z.array(z.string()).describe('Headers whose value is not text and is shown as base64'),
  error: z
    .string()
    .describe('Why it was dead-lettered; starts with `placeholder:` when the letter could not be stored as received (its headers are then not kept)'),
  attempts: count,
  firstFailedAt: timestamp,
  lastFailedAt: timestamp,
  status: z.enum(['pending', 'replayed', 'discarded']),
  replayedAt: timestamp.optional(),
  discardedAt: timestamp.optional(),
  discardReason: z.string().optional(),
  createdAt: timestamp,
  replayable: z.boolean(),
});
export const deadLetterPageResponse = z.looseObject({ items: z.array(deadLetterResponse), nextCursor: z.string().nullable() });
export const replayResponse = z.looseObject({ id: z.string(), replayed: z.boolean(), alreadyReplayed: z.boolean() });
export const discardResponse = z.strictObject({ id: z.guid(), discarded: z.boolean(), alreadyDiscarded: z.boolean() });
export const replayMatchingResponse = z.strictObject({
  matched: count.describe('Pending letters that matched the filter: those replayed (at most 1,000 per request; repeat for more) and those skipped'),
  replayed: count,
  skipped: count.describe("Matched but not replayable (a saga's letter, a task that is not JSON); they stay pending"),
});
export const statsResponse = z.looseObject({
  ordersByStatus: z.record(z.string(), count),
  sagasInFlight: count,
  deadLetters: z.looseObject({ total: count, bySource: z.looseObject({}) }),
  outbox: z.looseObject({ unpublished: count, oldestAgeSeconds: z.number() }),
  throughput: z
    .array(z.strictObject({ minute: timestamp, completed: count, failed: count }))
    .describe(
      'Sagas that ended per minute over the last hour, oldest first: `completed` ended as the saga runs (confirmed, rejected for want of stock, or cancelled), `failed` compensated after a step gave up',
    ),
  dependencies: z
    .array(z.strictObject({ name: z.string(), status: z.enum(['up', 'down']), since: timestamp.nullable() }))
    .describe("What the orchestrator's background health checks last found"),
});
export const apiKeyResponse = z.strictObject({
  id: z.guid(),
  name: z.string(),
  scopes: z.array(z.enum(['orders:write', 'orders:read', 'products:read'])),
  ratePerMinute: count.nullable().describe('Its own quota of requests per minute, or null for the partner default'),
  prefix: z.string().describe('The start of the key (`ofk_<id>`), to tell which key a partner holds'),
  createdBy: z.string(),
  createdAt: timestamp,
  revokedAt: timestamp.nullable(),
});
export const createdApiKeyResponse = apiKeyResponse.extend({
  key: z
    .string()
    .nullable()
    .describe('The key, to send as `X-API-Key`: shown in this answer only (stored as a hash); null in a replay of the request (Idempotent-Replayed)'),
});
export const apiKeyPageResponse = z.strictObject({ items: z.array(apiKeyResponse), nextCursor: z.string().nullable() });
export const auditResponse = z.strictObject({
  id: z.string(),
  at: timestamp,
  actor: z.string().describe("The admin token's `sub`"),
  action: z.string().describe('e.g. `saga.retry`, `saga.cancel`, `dead-letter.replay`, `dead-letter.discard`, `dead-letter.replay-matching`, `product.upsert`'),
  target: z.string().nullable(),
  outcome: z.enum(['succeeded', 'refused', 'failed']),
  status: count.describe('The HTTP status it was answered with'),
  detail: z.string().nullable(),
  request: z.unknown().describe('The request body as sent'),
  idempotencyKey: z.string().nullable(),
});
export const auditPageResponse = z.strictObject({ items: z.array(auditResponse), nextCursor: z.string().nullable() });

export const webhookResponse = z.strictObject({
  id: z.guid(),
  url: z.string(),
  events: z.array(z.string()),
  description: z.string().nullable(),
  enabled: z.boolean(),
  disabledReason: z
    .enum(['gone', 'admin'])
    .nullable()
    .describe('Why it is disabled: `gone` when its receiver answered 410 (PATCH `enabled: true` re-enables it), `admin` by an update'),
  createdBy: z.string().describe("The admin token's `sub`"),
  createdAt: timestamp,
  updatedAt: timestamp,
});
export const webhookCreatedResponse = webhookResponse.extend({
  secret: z
    .string()
    .regex(/^whsec_[A-Za-z0-9+/=]+$/)
    .describe('The Standard Webhooks signing secret (`whsec_` + base64). Shown only in this answer: keep it, verify every delivery with it'),
});
export const webhookPageResponse = z.strictObject({ items: z.array(webhookResponse), nextCursor: z.string().nullable() });
export const webhookDeliveryResponse = z.strictObject({
  id: z.guid(),
  subscriptionId: z.guid(),
  eventId: z.guid().describe('The CloudEvent id, sent as `webhook-id`: receivers de-duplicate on it'),
  eventType: z.string(),
  status: z
    .enum(['pending', 'delivered', 'failed', 'skipped'])
    .describe(
      '`pending`: not yet delivered (queued or between retries); `delivered`: answered 2xx; `failed`: every attempt failed, it is in the dead letters (replay it from there); `skipped`: its subscription was disabled (or answered 410)',
    ),
  attempts: count,
  lastStatusCode: count.nullable().describe('The HTTP status of the last attempt; null when it got none (a timeout, a refused address, a network error)'),
  lastError: z.string().nullable(),
  lastAttemptAt: timestamp.nullable(),
  deliveredAt: timestamp.nullable(),
  createdAt: timestamp,
});
export const webhookDeliveryPageResponse = z.strictObject({ items: z.array(webhookDeliveryResponse), nextCursor: z.string().nullable() });
export const webhookTestResponse = z.strictObject({
  deliveryId: z.guid(),
  eventId: z.guid().describe('The id of the `webhook.ping` CloudEvent sent (its `webhook-id`)'),
});
