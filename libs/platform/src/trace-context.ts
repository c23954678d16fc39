import {
  context,
  createContextKey,
  isSpanContextValid,
  propagation,
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  trace,
  type Attributes,
  type Link,
  type Span,
} from '@opentelemetry/api';

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

/**
 * Whether spans are exported: an OTLP endpoint is set and the SDK is not disabled (tracing-preload.ts
 * decides the same way). Spans that only add detail are made only then; the trace context itself
 * always flows. Read it once, when a component is created, not per message.
 */
export function tracingExported(env: NodeJS.ProcessEnv = process.env): boolean {
  return env.OTEL_SDK_DISABLED !== 'true' && Boolean(env.OTEL_EXPORTER_OTLP_ENDPOINT || env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT);
}

/**
 * Runs `fn` as a consumer span continuing the trace in `carrier` (message headers with `traceparent`),
 * with `fields` on every log line inside. Without a trace in the headers a new trace starts.
 * `attributes` are fixed ones (made once by the caller, not per message); per-message attributes go
 * on `recordingSpan()` inside `fn`, so they cost nothing while spans are not recorded.
 */
export async function inRemoteTrace<T>(carrier: HeaderCarrier, name: string, fields: LogFields, fn: () => Promise<T>, attributes?: Attributes): Promise<T> {
  const parent = propagation.extract(context.active(), carrier, getter);
  const span = tracer().startSpan(name, { kind: SpanKind.CONSUMER, attributes }, parent);
  try {
    return await context.with(trace.setSpan(parent, span), () => withLogFields(fields, fn));
  } catch (error) {
    failed(span, error);
    throw error;
  } finally {
    span.end();
  }
}

/** The active span if it is recorded (its trace is sampled), for attributes worth computing only then. */
export function recordingSpan(): Span | undefined {
  const span = trace.getActiveSpan();
  return span?.isRecording() ? span : undefined;
}

/** One message of `inProducerSpans`: its span's name and attributes, and the trace that created it. */
export interface ProducedMessage {
  name: string;
  attributes: Attributes;
  /** The `traceparent` stored with the message (e.g. its outbox row's): the span links to that trace. */
  traceparent?: string;
}

/**
 * Runs `send` (one batch to a broker) inside a producer span per message, each a new trace linked to
 * the trace that created its message (its stored `traceparent`), ended when `send` settles. Call it
 * only when `tracingExported()`: it does per-message work (parsing each traceparent, a span each).
 */
export async function inProducerSpans<T>(messages: ProducedMessage[], send: () => Promise<T>): Promise<T> {
  const spans = messages.map(({ name, attributes, traceparent }) => {
    const links: Link[] = [];
    const created = traceparent ? trace.getSpanContext(propagation.extract(ROOT_CONTEXT, { traceparent })) : undefined;
    if (created && isSpanContextValid(created)) links.push({ context: created });
    return tracer().startSpan(name, { kind: SpanKind.PRODUCER, attributes, links, root: true });
  });
  try {
    return await send();
  } catch (error) {
    for (const span of spans) failed(span, error);
    throw error;
  } finally {
    for (const span of spans) span.end();
  }
}

function failed(span: Span, error: unknown): void {
  if (!span.isRecording()) return;
  span.recordException(error instanceof Error ? error : String(error));
  span.setStatus({ code: SpanStatusCode.ERROR, message: error instanceof Error ? error.message : String(error) });
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
