import { context, propagation, trace } from '@opentelemetry/api';
import { NodeSDK } from '@opentelemetry/sdk-node';
import { NoopSpanProcessor } from '@opentelemetry/sdk-trace';
import pino from 'pino';
import { currentTraceparent, inRemoteTrace, inStoredTrace, logContextMixin, withLogFields } from './trace-context';

// The SDK as the apps start it (dist/tracing), without instrumentations: context manager, W3C propagator, tracer.
const sdk = new NodeSDK({ spanProcessors: [new NoopSpanProcessor()], metricReaders: [], logRecordProcessors: [], autoDetectResources: false });
const lines: string[] = [];
const logger = pino({ base: { service: 'test' }, mixin: (_merge, _level, l) => logContextMixin(l) }, { write: (line: string) => void lines.push(line) });
const last = () => JSON.parse(lines.at(-1)!);

beforeAll(() => sdk.start());
afterAll(async () => {
  await sdk.shutdown();
  trace.disable();
  context.disable();
  propagation.disable();
});

const TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736';
const PARENT = `00-${TRACE_ID}-00f067aa0ba902b7-01`;

describe('trace context in logs', () => {
  it('gives log lines inside a consumed message the trace of its traceparent header, with a span of their own', async () => {
    await inRemoteTrace({ traceparent: Buffer.from(PARENT) }, 'order-events process', { orderId: 'o-1' }, async () => {
      logger.info('handling');
      expect(currentTraceparent()).toMatch(new RegExp(`^00-${TRACE_ID}-[0-9a-f]{16}-01$`));
    });
    expect(last()).toMatchObject({ service: 'test', traceId: TRACE_ID, spanId: expect.stringMatching(/^[0-9a-f]{16}$/), orderId: 'o-1', msg: 'handling' });
    expect(last().spanId).not.toBe('00f067aa0ba902b7');
  });

  it('continues a stored traceparent, and starts a new trace when there is none', async () => {
    await inStoredTrace(PARENT, 'saga step', {}, async () => logger.info('stored'));
    expect(last().traceId).toBe(TRACE_ID);
    await inStoredTrace(undefined, 'saga step', {}, async () => logger.info('fresh'));
    expect(last().traceId).toMatch(/^[0-9a-f]{32}$/);
    expect(last().traceId).not.toBe(TRACE_ID);
  });

  it('adds fields of nested withLogFields, and never a field the logger already binds', () => {
    withLogFields({ orderId: 'o-2' }, () =>
      withLogFields({ step: 'RESERVE_STOCK' }, () => {
        logger.info('nested');
        logger.child({ orderId: 'o-2' }).info('bound');
      }),
    );
    expect(JSON.parse(lines.at(-2)!)).toMatchObject({ orderId: 'o-2', step: 'RESERVE_STOCK' });
    expect(lines.at(-1)!.match(/"orderId"/g)).toHaveLength(1);
  });

  it('adds nothing outside any trace or fields', () => {
    logger.info('plain');
    expect(last()).not.toHaveProperty('traceId');
    expect(last()).not.toHaveProperty('orderId');
  });
});
