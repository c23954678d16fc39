// The OpenTelemetry SDK, bundled on its own as dist/tracing/main.js. Each app's bundle requires it on
// its first line (scripts/build.mjs adds the banner), so the instrumentations hook http, express,
// @grpc/grpc-js, pg and ioredis before the app loads them. Nothing else in the repo imports this file.
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { ExpressInstrumentation, ExpressLayerType } from '@opentelemetry/instrumentation-express';
import { GrpcInstrumentation } from '@opentelemetry/instrumentation-grpc';
import { HttpInstrumentation } from '@opentelemetry/instrumentation-http';
import { IORedisInstrumentation } from '@opentelemetry/instrumentation-ioredis';
import { PgInstrumentation } from '@opentelemetry/instrumentation-pg';
import { NodeSDK } from '@opentelemetry/sdk-node';
import { AlwaysOffSampler, BatchSpanProcessor, NoopSpanProcessor, ParentBasedSampler } from '@opentelemetry/sdk-trace';
import { tracingExported } from './trace-context';

const OPS_PATHS = /^\/(healthz|readyz|metrics)(\?|$)/;

/**
 * Starts tracing for `service`. W3C trace context is always propagated (so logs of every hop share a
 * trace id); spans are exported over OTLP (http/protobuf) only when OTEL_EXPORTER_OTLP_ENDPOINT (or
 * the traces one) is set. Without an exporter, new traces are not recorded (ids only, no cost), and
 * OTEL_SDK_DISABLED=true turns all of it off.
 */
export function startTracing(service: string, env: NodeJS.ProcessEnv = process.env): void {
  if (env.OTEL_SDK_DISABLED === 'true') return;
  const exporting = tracingExported(env);
  const sdk = new NodeSDK({
    serviceName: env.OTEL_SERVICE_NAME || service,
    // The SDK registers no tracer at all without a span processor, and then no span ids exist.
    spanProcessors: [exporting ? new BatchSpanProcessor({ exporter: new OTLPTraceExporter() }) : new NoopSpanProcessor()],
    ...(exporting || env.OTEL_TRACES_SAMPLER ? {} : { sampler: new ParentBasedSampler({ root: new AlwaysOffSampler() }) }),
    // Metrics are Prometheus (prom-client) and logs are stdout; the SDK would default both to OTLP.
    metricReaders: [],
    logRecordProcessors: [],
    // http and gRPC carry the trace context between processes (Kafka and RabbitMQ headers are done by
    // libs/messaging). Express, pg and Redis only add spans, so they are hooked only when spans are
    // exported: wrapping every query for spans nobody records cost a quarter of the throughput.
    instrumentations: [
      new HttpInstrumentation({ ignoreIncomingRequestHook: (req) => OPS_PATHS.test(req.url ?? '') }),
      new GrpcInstrumentation({ ignoreGrpcMethods: ['Check', 'Watch'] }),
      ...(exporting
        ? [
            new ExpressInstrumentation({ ignoreLayersType: [ExpressLayerType.MIDDLEWARE] }),
            // Pollers (outbox relay, saga runner) query all the time; only queries inside a trace get spans.
            new PgInstrumentation({ requireParentSpan: true }),
            new IORedisInstrumentation({ requireParentSpan: true }),
          ]
        : []),
    ],
  });
  sdk.start();
}
