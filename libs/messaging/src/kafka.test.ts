import { randomUUID } from 'node:crypto';
import pino from 'pino';
import type { Consumer, IHeaders, Kafka, Producer } from 'kafkajs';
import { cloudEventSchema, createEvent } from '@orderflow/domain';
import { testInfra, uniqueName, waitFor } from '@orderflow/testing';
import { createIdempotentProducer, createKafka, ensureTopics, kafkaHealthCheck } from './kafka';
import { decodeCloudEvent, headerValue } from './event-codec';
import { factMessage } from './outbox';
import { kafkaMessageOf } from './publishers';
import { consumerGroup, topicNames } from '@orderflow/domain';

describe('Kafka plumbing', () => {
  const { kafkaBrokers } = testInfra();
  const prefix = `${uniqueName('kafka')}_`;
  const topics = topicNames(prefix);
  let kafka: Kafka;
  const groups: string[] = [];

  beforeAll(() => {
    kafka = createKafka({ brokers: kafkaBrokers, clientId: `${prefix}test`, logger: pino({ level: 'error' }) });
  });

  afterAll(async () => {
    const admin = kafka.admin();
    await admin.connect();
    try {
      const existing = new Set(await admin.listTopics());
      await admin.deleteTopics({ topics: Object.values(topics).filter((t) => existing.has(t)) });
      // A group is NON_EMPTY for a moment after its last member left: retry until it is gone.
      let remaining = [...groups];
      await waitFor(
        async () => {
          if (remaining.length === 0) return true;
          try {
            await admin.deleteGroups(remaining);
            return true;
          } catch (error) {
            const failed = (error as { groups?: { groupId: string; error?: { type?: string } }[] }).groups ?? [];
            remaining = failed.filter((g) => g.error && g.error.type !== 'GROUP_ID_NOT_FOUND').map((g) => g.groupId);
            return remaining.length === 0;
          }
        },
        { timeoutMs: 20_000, intervalMs: 250, what: `consumer groups ${groups.join(', ')} to be deleted` },
      );
    } finally {
      await admin.disconnect();
    }
  });

  it('ensureTopics creates the four topics and is idempotent', async () => {
    const created = await ensureTopics(kafka, Object.values(topicNames(prefix)));
    expect([...created].sort()).toEqual(Object.values(topics).sort());
    await expect(ensureTopics(kafka, Object.values(topicNames(prefix)))).resolves.toEqual(created);

    const admin = kafka.admin();
    await admin.connect();
    try {
      expect(await admin.listTopics()).toEqual(expect.arrayContaining(created));
      const { topics: metadata } = await admin.fetchTopicMetadata({ topics: [topics.orderEvents] });
      expect(metadata[0]?.partitions).toHaveLength(3);
    } finally {
      await admin.disconnect();
    }
  });

  it("an idempotent producer's CloudEvent is consumed by a consumer group", async () => {
    await ensureTopics(kafka, Object.values(topicNames(prefix)));
    const orderId = randomUUID();
    const traceparent = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
    const event = createEvent({ type: 'order.placed', source: '/orderflow/test', subject: orderId, data: { orderId, totalCents: 1250 }, traceparent });

    const groupId = consumerGroup('messaging-test', prefix);
    groups.push(groupId);
    const received: { key: string | undefined; value: Buffer | null; headers: IHeaders | undefined }[] = [];
    const consumer: Consumer = kafka.consumer({ groupId, sessionTimeout: 10_000, heartbeatInterval: 1_000, maxWaitTimeInMs: 250 });
    const producer: Producer = createIdempotentProducer(kafka);
    try {
      await consumer.connect();
      await consumer.subscribe({ topics: [topics.orderEvents], fromBeginning: true });
      await consumer.run({
        eachMessage: async ({ message }) => {
          received.push({ key: message.key?.toString(), value: message.value, headers: message.headers });
        },
      });

      await producer.connect();
      const [ack] = await producer.send({ topic: topics.orderEvents, messages: [kafkaMessageOf(factMessage(topics.orderEvents, event))] });
      expect(ack?.errorCode).toBe(0);

      const message = await waitFor(() => received.find((m) => m.key === orderId), { timeoutMs: 30_000, what: 'the event to be consumed' });
      const decoded = decodeCloudEvent(message.value);
      expect(decoded).toEqual({ ok: true, event });
      expect(cloudEventSchema.safeParse(JSON.parse(message.value!.toString())).success).toBe(true);
      expect(headerValue(message.headers, 'traceparent')).toBe(traceparent);
      expect(headerValue(message.headers, 'content-type')).toMatch(/^application\/cloudevents\+json/);
    } finally {
      await producer.disconnect();
      await consumer.disconnect();
    }
  });

  it('ensureTopics succeeds in every process when several create the same new topics at once', async () => {
    const racePrefix = `${uniqueName('race')}_`;
    const clients = Array.from({ length: 4 }, (_, i) =>
      createKafka({ brokers: kafkaBrokers, clientId: `${racePrefix}${i}`, logger: pino({ level: 'silent' }) }),
    );
    try {
      const results = await Promise.all(clients.map((client) => ensureTopics(client, Object.values(topicNames(racePrefix)))));
      for (const created of results) expect([...created].sort()).toEqual(Object.values(topicNames(racePrefix)).sort());
    } finally {
      const admin = kafka.admin();
      await admin.connect();
      await admin.deleteTopics({ topics: Object.values(topicNames(racePrefix)) }).catch(() => undefined);
      await admin.disconnect();
    }
  });

  it('kafkaHealthCheck resolves against the broker, check after check, and rejects quickly where nothing listens', async () => {
    const live = kafkaHealthCheck({ brokers: kafkaBrokers });
    const dead = kafkaHealthCheck({ brokers: ['127.0.0.1:1'] });
    try {
      for (let i = 0; i < 3; i++) await expect(live.check()).resolves.toBeUndefined();
      const started = Date.now();
      await expect(dead.check()).rejects.toThrow();
      expect(Date.now() - started).toBeLessThan(3_000);
    } finally {
      await live.close();
      await dead.close();
    }
  });
});
