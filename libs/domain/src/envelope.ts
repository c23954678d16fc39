import { z } from 'zod';

/** Every business fact the system records on Kafka; the set is closed on purpose. */
export const FACT_TYPES = [
  'order.placed',
  'order.confirmed',
  'order.rejected',
  'order.cancelled',
  'stock.reserved',
  'stock.released',
  'stock.adjusted',
] as const;

/** One fact type name, e.g. `order.placed`. */
export type FactType = (typeof FACT_TYPES)[number];

/** A CloudEvents 1.0 envelope in structured mode (the whole event is the JSON message value). */
export interface CloudEvent<T = unknown> {
  specversion: '1.0';
  /** UUID; consumers de-duplicate on it. */
  id: string;
  /** Who produced it, e.g. `/orderflow/orchestrator`. */
  source: string;
  type: FactType;
  /** RFC 3339 timestamp of the fact. */
  time: string;
  /** What it is about: the order id or the sku (also the Kafka key). */
  subject?: string;
  datacontenttype: 'application/json';
  data: T;
  /** W3C trace context (CloudEvents distributed-tracing extension). */
  traceparent?: string;
}

export interface CreateEventInput<T> {
  type: FactType;
  source: string;
  subject: string;
  data: T;
  id?: string;
  time?: Date | string;
  traceparent?: string;
}

/** Builds an envelope; pass `id`/`time` to make it deterministic (replays, tests). */
export function createEvent<T>(input: CreateEventInput<T>): CloudEvent<T> {
  const { type, source, subject, data, id, time, traceparent } = input;
  return {
    specversion: '1.0',
    id: id ?? globalThis.crypto.randomUUID(),
    source,
    type,
    time: time === undefined ? new Date().toISOString() : typeof time === 'string' ? time : time.toISOString(),
    subject,
    datacontenttype: 'application/json',
    data,
    ...(traceparent ? { traceparent } : {}),
  };
}

const TRACEPARENT = /^[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$/;
/** A W3C traceparent header value. */
export const traceparentSchema = z.string().regex(TRACEPARENT, 'expected a W3C traceparent');
/** A traceparent as a proto3 string field carries it: empty for none. */
export const wireTraceparentSchema = z.union([z.literal(''), traceparentSchema]);

const envelopeShape = {
  specversion: z.literal('1.0'),
  id: z.guid(),
  source: z.string().min(1),
  type: z.enum(FACT_TYPES),
  time: z.iso.datetime({ offset: true }),
  subject: z.string().min(1).optional(),
  datacontenttype: z.literal('application/json'),
  traceparent: traceparentSchema.optional(),
};

/**
 * Validates an incoming envelope whose `data` must match `data`. Unknown extension attributes are
 * dropped rather than rejected, as CloudEvents asks of consumers.
 */
export function cloudEventSchemaOf<T>(data: z.ZodType<T>): z.ZodType<CloudEvent<T>> {
  // zod infers `data: unknown` as optional; the refinement keeps it required at runtime too.
  return z
    .object({ ...envelopeShape, data })
    .refine((event) => event.data !== undefined, { message: 'data is required', path: ['data'] }) as unknown as z.ZodType<CloudEvent<T>>;
}

/** Validates any envelope of ours, leaving `data` for the consumer of its type to check. */
export const cloudEventSchema: z.ZodType<CloudEvent<unknown>> = cloudEventSchemaOf(z.unknown());
