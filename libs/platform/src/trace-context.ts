import { context, createContextKey, isSpanContextValid, propagation, SpanKind, trace, type Context } from '@opentelemetry/api';

// W3C trace context through the process: the OpenTelemetry SDK (dist/tracing, loaded before each app)
// handles HTTP and gRPC; these helpers carry it over Kafka and RabbitMQ and into the log lines.

const LOG_FIELDS = createContextKey('orderflow.log-fields');
const tracer = () => trace.getTracer('orderflow');

export type LogFields = Record<string, string | number | boolean>;

/** A string view of message headers (Kafka gives Buffers, RabbitMQ any value). */
export type HeaderCarrier = Record<string, unknown> | undefined;

const getter = {
  keys: (carrier: HeaderCarrier) => Object.keys(carrier ?? {}),
  get(carrier: HeaderCarrier, key: string): string | undefined {
    const raw = carrier?.[key];
    const first = Array.isArray(raw) ? raw[0] : raw;
    if (first === undefined || first === null) return undefined;
    return Buffer.isBuffer(first) ? first.toString() : String(first);
  },
};

/** Fields every log line written inside `fn` carries (e.g. `orderId`), on top of the enclosing ones. */
export function withLogFields<T>(fields: LogFields, fn: () => T): T {
  const parent = context.active().getValue(LOG_FIELDS) as LogFields | undefined;
  return context.with(context.active().setValue(LOG_FIELDS, { ...parent, ...fields }), fn);
}

/**
 * The pino mixin: `traceId`/`spanId` of the active span and the fields of `withLogFields`, leaving
 * out keys the logger already binds (a child logger's `orderId` must not appear twice).
 */
export function logContextMixin(logger?: { bindings(): Record<string, unknown> }): Record<string, unknown> {
  const active = context.active();
  const span = trace.getSpan(active)?.spanContext();
  const fields = active.getValue(LOG_FIELDS) as LogFields | undefined;
  const out: Record<string, unknown> = span && isSpanContextValid(span) ? { traceId: span.traceId, spanId: span.spanId } : {};
  if (!fields) return out;
  const bound = logger?.bindings() ?? {};
  for (const [key, value] of Object.entries(fields)) if (!(key in bound)) out[key] = value;
  return out;
}

/** The `traceparent` of the active span, to store with work that continues later (saga data, outbox rows). */
export function currentTraceparent(): string | undefined {
  const carrier: Record<string, string> = {};
  propagation.inject(context.active(), carrier);
  return carrier.traceparent;
}

function remoteContext(carrier: HeaderCarrier): Context {
  return propagation.extract(context.active(), carrier, getter);
}

/**
 * Runs `fn` as a consumer span continuing the trace in `carrier` (message headers with `traceparent`),
 * with `fields` on every log line inside. Without a trace in the headers a new trace starts.
 */
export async function inRemoteTrace<T>(carrier: HeaderCarrier, name: string, fields: LogFields, fn: () => Promise<T>): Promise<T> {
  const span = tracer().startSpan(name, { kind: SpanKind.CONSUMER }, remoteContext(carrier));
  try {
    return await context.with(trace.setSpan(remoteContext(carrier), span), () => withLogFields(fields, fn));
  } catch (error) {
    span.recordException(error as Error);
    throw error;
  } finally {
    span.end();
  }
}

/** `inRemoteTrace` for a stored `traceparent` string (e.g. a saga resuming its order's trace). */
export function inStoredTrace<T>(traceparent: string | undefined, name: string, fields: LogFields, fn: () => Promise<T>): Promise<T> {
  return inRemoteTrace(traceparent ? { traceparent } : {}, name, fields, fn);
}

/** Sends what the tracer has buffered (the SDK exports in batches); bounded, never throws. */
export async function flushTelemetry(timeoutMs = 1_000): Promise<void> {
  const provider = trace.getTracerProvider() as { getDelegate?(): { forceFlush?(): Promise<void> } };
  const flush = provider.getDelegate?.().forceFlush?.();
  if (!flush) return;
  await Promise.race([flush.catch(() => undefined), new Promise((resolve) => setTimeout(resolve, timeoutMs).unref())]);
}
