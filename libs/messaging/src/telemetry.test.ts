// Producer spans of the outbox relays and the messaging attributes of consumer spans (OpenTelemetry
// messaging semantic conventions), with the SDK recording into memory. The relay runs against the
// real Postgres and RabbitMQ; Kafka's producer is a stand-in (the spans are made around its call).
import { randomUUID } from 'node:crypto';
import type { ConsumeMessage } from 'amqplib';
import type { KafkaMessage, Producer } from 'kafkajs';
import type pg from 'pg';
import pino from 'pino';
import { context, propagation, SpanKind, trace } from '@opentelemetry/api';
import { NodeSDK } from '@opentelemetry/sdk-node';
import { InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace';
import { createPool } from '@orderflow/db';
import { inRemoteTrace, recordingSpan } from '@orderflow/platform';
import { createTestDatabase, testInfra, uniqueName, waitFor, type TestDatabase } from '@orderflow/testing';
import { enqueueOutbox, outboxPendingCondition, type OutboxMessage, type OutboxRecord } from './outbox';
import { createOutboxRelay } from './outbox-relay';
import { createRabbitPublisher, kafkaOutboxPublisher } from './publishers';
import { taskTopology } from '@orderflow/domain';
import { connectAmqp } from './rabbit';
import { kafkaMessageAttributes, kafkaProcessAttributes, RABBIT_PROCESS_ATTRIBUTES, rabbitDeliveryAttributes } from './semconv';

const exporter = new InMemorySpanExporter();
const sdk = new NodeSDK({
  spanProcessors: [new SimpleSpanProcessor({ exporter })],
  metricReaders: [],
  logRecordProcessors: [],
  autoDetectResources: false,
  instrumentations: [],
});
const logger = pino({ level: 'silent' });

const TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736';
const WRITER = `00-${TRACE_ID}-00f067aa0ba902b7-01`;

let db: TestDatabase;
let pool: pg.Pool;

beforeAll(async () => {
  sdk.start();
  db = await createTestDatabase('orchestrator', 'telemetry');
  pool = createPool(db.url, 4);
});
afterAll(async () => {
  await pool?.end();
  await db?.drop();
  await sdk.shutdown();
  trace.disable();
  context.disable();
  propagation.disable();
});
beforeEach(() => exporter.reset());

/** A stand-in producer that takes every batch. */
function fakeProducer(): Producer & { batches: number } {
  const producer = { batches: 0, sendBatch: async () => void producer.batches++ };
  return producer as unknown as Producer & { batches: number };
}

const fact = (topic: string, headers: Record<string, string>): OutboxMessage => ({
  destination: 'kafka',
  topic,
  key: randomUUID(),
  messageId: randomUUID(),
  payload: { id: randomUUID() },
  headers,
});

async function relayed(publish: (records: OutboxRecord[]) => Promise<void>, messages: OutboxMessage[]): Promise<void> {
  const relay = createOutboxRelay({ pool, databaseUrl: db.url, destination: 'kafka', publish, logger, idleMs: 50 });
  const client = await pool.connect();
  try {
    await enqueueOutbox(client, messages);
  } finally {
    client.release();
  }
  relay.start();
  try {
    const ids = messages.map((m) => m.messageId);
    await waitFor(
      async () =>
        (await pool.query(`SELECT count(*)::int AS n FROM outbox o WHERE message_id = ANY($1) AND NOT ${outboxPendingCondition('o')}`, [ids])).rows[0].n ===
        ids.length,
      { what: 'the rows published' },
    );
  } finally {
    await relay.stop();
  }
}

describe('the outbox relay with tracing on', () => {
  it('makes a PRODUCER span per row, named and attributed by the messaging conventions, linked to the trace that wrote the row', async () => {
    const topic = uniqueName('order-events');
    const linked = fact(topic, { traceparent: WRITER });
    const untraced = fact(topic, {});
    await relayed(kafkaOutboxPublisher(fakeProducer(), { traced: true }), [linked, untraced]);
    const spans = exporter.getFinishedSpans().filter((s) => s.name === `send ${topic}`);
    expect(spans).toHaveLength(2);
    const of = (id: string) => spans.find((s) => s.attributes['messaging.message.id'] === id)!;
    expect(of(linked.messageId)).toMatchObject({
      kind: SpanKind.PRODUCER,
      attributes: {
        'messaging.system': 'kafka',
        'messaging.operation.name': 'send',
        'messaging.operation.type': 'send',
        'messaging.destination.name': topic,
        'messaging.kafka.message.key': linked.key,
      },
    });
    // Its own trace (the relay is in none), linked to the writer's.
    expect(of(linked.messageId).spanContext().traceId).not.toBe(TRACE_ID);
    expect(of(linked.messageId).links.map((l) => l.context)).toEqual([expect.objectContaining({ traceId: TRACE_ID, spanId: '00f067aa0ba902b7' })]);
    expect(of(untraced.messageId).links).toEqual([]);
  });

  it('makes no span at all with tracing off (the default without an OTLP endpoint)', async () => {
    const topic = uniqueName('order-events');
    const producer = fakeProducer();
    const { OTEL_EXPORTER_OTLP_ENDPOINT, OTEL_EXPORTER_OTLP_TRACES_ENDPOINT } = process.env;
    delete process.env.OTEL_EXPORTER_OTLP_ENDPOINT;
    delete process.env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT;
    let publish: ReturnType<typeof kafkaOutboxPublisher>;
    try {
      publish = kafkaOutboxPublisher(producer);
    } finally {
      Object.assign(process.env, JSON.parse(JSON.stringify({ OTEL_EXPORTER_OTLP_ENDPOINT, OTEL_EXPORTER_OTLP_TRACES_ENDPOINT })));
    }
    await relayed(publish, [fact(topic, { traceparent: WRITER })]);
    expect(producer.batches).toBeGreaterThan(0);
    expect(exporter.getFinishedSpans()).toEqual([]);
  });

  it('names a RabbitMQ send by exchange and routing key, and marks the spans of a failed publish as errors', async () => {
    const prefix = `${uniqueName('telemetry')}_`;
    const topology = taskTopology(prefix);
    const publisher = createRabbitPublisher({ url: testInfra().amqpUrl, topology, logger, traced: true });
    const row = (topic: string): OutboxRecord => ({
      id: 1,
      destination: 'rabbitmq',
      topic,
      key: randomUUID(),
      messageId: randomUUID(),
      payload: {},
      headers: { traceparent: WRITER },
    });
    try {
      const ok = row(topology.routingKey);
      await publisher.publish([ok]);
      await expect(publisher.publish([row('nowhere')])).rejects.toThrow(/unroutable/);
      const [sent, refused] = exporter.getFinishedSpans();
      expect(sent).toMatchObject({
        name: `send ${topology.exchange}:notification.send`,
        kind: SpanKind.PRODUCER,
        attributes: {
          'messaging.system': 'rabbitmq',
          'messaging.destination.name': `${topology.exchange}:notification.send`,
          'messaging.rabbitmq.destination.routing_key': 'notification.send',
          'messaging.message.id': ok.messageId,
        },
      });
      expect(sent!.links[0]?.context.traceId).toBe(TRACE_ID);
      expect(refused).toMatchObject({ name: `send ${topology.exchange}:nowhere`, status: { code: 2 } });
    } finally {
      await publisher.close();
      const admin = await connectAmqp(testInfra().amqpUrl, { name: 'telemetry-test' });
      const channel = await admin.createChannel();
      for (const queue of [topology.queue, ...topology.retryQueues.map((q) => q.name), topology.dlq.name]) await channel.deleteQueue(queue);
      await channel.deleteExchange(topology.exchange);
      await admin.close();
    }
  });
});

describe('consumer spans', () => {
  it('of Kafka: process <topic>, CONSUMER, with the group, partition, offset, message id and key', async () => {
    const message = { key: Buffer.from('order-1'), offset: '42', headers: { traceparent: Buffer.from(WRITER) } } as unknown as KafkaMessage;
    await inRemoteTrace(
      message.headers,
      'process order-events',
      {},
      async () => recordingSpan()?.setAttributes(kafkaMessageAttributes('order-events', 2, message, 'event-1')),
      kafkaProcessAttributes('orchestrator.saga'),
    );
    const [span] = exporter.getFinishedSpans();
    expect(span).toMatchObject({
      name: 'process order-events',
      kind: SpanKind.CONSUMER,
      attributes: {
        'messaging.system': 'kafka',
        'messaging.operation.name': 'process',
        'messaging.operation.type': 'process',
        'messaging.consumer.group.name': 'orchestrator.saga',
        'messaging.destination.name': 'order-events',
        'messaging.destination.partition.id': '2',
        'messaging.kafka.offset': 42,
        'messaging.message.id': 'event-1',
        'messaging.kafka.message.key': 'order-1',
      },
    });
    // A child of the producer's trace: the writer's trace id carries on.
    expect(span!.spanContext().traceId).toBe(TRACE_ID);
  });

  it('of RabbitMQ: process <queue>, with exchange:routing key:queue as the destination (the queue left out when it is the routing key)', async () => {
    const delivery = (queue: string) =>
      inRemoteTrace(
        { traceparent: WRITER },
        `process ${queue}`,
        {},
        async () =>
          recordingSpan()?.setAttributes(
            rabbitDeliveryAttributes(queue, {
              fields: { exchange: 'tasks', routingKey: 'notification.send', deliveryTag: 7 },
              properties: { messageId: 'task-1' },
            } as unknown as ConsumeMessage),
          ),
        RABBIT_PROCESS_ATTRIBUTES,
      );
    await delivery('notification.send');
    await delivery('x_notification.send');
    const [plain, prefixed] = exporter.getFinishedSpans();
    expect(plain).toMatchObject({
      kind: SpanKind.CONSUMER,
      attributes: {
        'messaging.system': 'rabbitmq',
        'messaging.operation.name': 'process',
        'messaging.destination.name': 'tasks:notification.send',
        'messaging.rabbitmq.destination.routing_key': 'notification.send',
        'messaging.rabbitmq.message.delivery_tag': 7,
        'messaging.message.id': 'task-1',
      },
    });
    expect(prefixed!.attributes['messaging.destination.name']).toBe('tasks:notification.send:x_notification.send');
  });

  it('compute no per-message attributes when the span is not recorded', async () => {
    const unsampled = `00-${TRACE_ID}-00f067aa0ba902b7-00`;
    let computed = false;
    await inRemoteTrace({ traceparent: unsampled }, 'process order-events', {}, async () => recordingSpan()?.setAttributes(((computed = true), {})));
    expect(computed).toBe(false);
    expect(exporter.getFinishedSpans()).toEqual([]);
  });
});
