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

export const sagaResponse = z.strictObject({
  orderId: z.guid(),
  state: z.enum(['RUNNING', 'COMPENSATING', 'COMPLETED', 'FAILED']),
  currentStep: z.string(),
  attempts: count,
  nextAttemptAt: timestamp.nullable(),
  compensations: z.array(z.string()),
  cancelRequested: z.boolean(),
  outcome: z.string().nullable(),
  lastError: z.string().nullable(),
  createdAt: timestamp,
  updatedAt: timestamp,
  steps: z.array(z.looseObject({ step: z.string(), outcome: z.string(), attempt: count, detail: z.string().optional(), at: timestamp })),
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
  replayedAt: timestamp.optional(),
  createdAt: timestamp,
  replayable: z.boolean(),
});
export const deadLetterPageResponse = z.looseObject({ items: z.array(deadLetterResponse), nextCursor: z.string().nullable() });
export const replayResponse = z.looseObject({ id: z.string(), replayed: z.boolean(), alreadyReplayed: z.boolean() });
export const statsResponse = z.looseObject({
  ordersByStatus: z.record(z.string(), count),
  sagasInFlight: count,
  deadLetters: z.looseObject({ total: count, bySource: z.looseObject({}) }),
  outbox: z.looseObject({ unpublished: count, oldestAgeSeconds: z.number() }),
});
