// The event consumer against the real Kafka: an outage is waited out however long it takes (it spends
// no attempts and dead-letters nothing), a second consumer group of a topic can leave its poison
// messages to the first group's dead-lettering, and what a member handled is committed when it stops,
// or once the broker takes the commit again.
import { randomUUID } from 'node:crypto';
import pino from 'pino';
import type { Kafka, Producer } from 'kafkajs';
import { consumerGroup, createEvent, dlqTopic, topicNames, type CloudEvent } from '@orderflow/domain';
import { testInfra, uniqueName, waitFor } from '@orderflow/testing';
import { createEventConsumer, type EventConsumer } from './event-consumer';
import { createIdempotentProducer, createKafka, ensureTopics } from './kafka';
import { factMessage } from './outbox';
import { kafkaMessageOf } from './publishers';

const logger = pino({ level: 'silent' });
const prefix = `${uniqueName('event_consumer')}_`;
const topics = topicNames(prefix);
let kafka: Kafka;
let producer: Producer;
const consumers: EventConsumer[] = [];

beforeAll(async () => {
  kafka = createKafka({ brokers: testInfra().kafkaBrokers, clientId: `${prefix}test`, logger });
  await ensureTopics(kafka, Object.values(topics), { partitions: 1 });
  producer = createIdempotentProducer(kafka);
  await producer.connect();
});

afterAll(async () => {
  await Promise.all(consumers.map((c) => c.stop()));
  await producer?.disconnect();
  const admin = kafka.admin();
  await admin.connect();
  try {
    await admin.deleteTopics({ topics: Object.values(topics) });
  } finally {
    await admin.disconnect();
  }
});

const fact = (): CloudEvent => createEvent({ type: 'order.placed', source: '/test', subject: randomUUID(), data: { n: 1 } });
const publish = (value: Buffer | CloudEvent) =>
  producer.send({
    topic: topics.orderEvents,
    messages: [Buffer.isBuffer(value) ? { key: 'k', value } : kafkaMessageOf(factMessage(topics.orderEvents, value))],
  });
const dlqDepth = async () => {
  const admin = kafka.admin();
  await admin.connect();
  try {
    return (await admin.fetchTopicOffsets(dlqTopic(topics.orderEvents))).reduce((n, p) => n + Number(p.high), 0);
  } finally {
    await admin.disconnect();
  }
};

async function consume(name: string, handle: (event: CloudEvent) => Promise<void>, extra: Partial<Parameters<typeof createEventConsumer>[0]> = {}) {
  const consumer = createEventConsumer({
    kafka,
    groupId: consumerGroup(name, prefix),
    topics: [topics.orderEvents],
    producer,
    logger,
    maxAttempts: 2,
    baseDelayMs: 5,
    maxDelayMs: 20,
    handle,
    ...extra,
  });
  consumers.push(consumer);
  await consumer.start();
  return consumer;
}

it('waits out an outage past its attempts without dead-lettering, then handles the fact, and dead-letters a poison message once per group that owns it', async () => {
  const outage = Object.assign(new Error('the database system is starting up'), { code: '57P03' });
  const handled: string[] = [];
  let failures = 0;
  await consume(
    'outage-aware',
    async (event) => {
      if (failures++ < 6) throw outage; // three times the attempts
      handled.push(event.id);
    },
    { isOutage: (error) => (error as { code?: string }).code === '57P03' },
  );
  const skipped: string[] = [];
  await consume('second-group', async (event) => void skipped.push(event.id), { onUndecodable: 'skip' });

  await publish(Buffer.from('not a cloud event'));
  const event = fact();
  await publish(event);

  await waitFor(() => handled.includes(event.id), { timeoutMs: 30_000, what: 'the fact handled once the outage ended' });
  await waitFor(() => skipped.includes(event.id), { timeoutMs: 30_000, what: 'the second group to pass the poison message and handle the fact' });
  expect(failures).toBe(7);
  // The poison message was dead-lettered by the first group only; the outage dead-lettered nothing.
  expect(await dlqDepth()).toBe(1);
});

it('commits what it handled when it stops, so the next member of its group goes on after it instead of handling it again', async () => {
  // Commits only on stop here: an hour between the periodic commits.
  const options = { onUndecodable: 'skip' as const, commitIntervalMs: 3_600_000 };
  const first: string[] = [];
  const leaving = await consume('handover', async (event) => void first.push(event.id), options);
  const early = [fact(), fact(), fact()];
  for (const event of early) await publish(event);
  await waitFor(() => early.every((e) => first.includes(e.id)), { timeoutMs: 30_000, what: 'the first member to handle three facts' });
  await leaving.stop();

  const second: string[] = [];
  await consume('handover', async (event) => void second.push(event.id), options);
  const late = fact();
  await publish(late);
  await waitFor(() => second.includes(late.id), { timeoutMs: 30_000, what: 'the next member to handle a new fact' });
  expect(second.filter((id) => early.some((e) => e.id === id))).toEqual([]);
});

it('commits handled offsets again after a commit failed, so a partition that gets no new message is not left uncommitted', async () => {
  // The broker refuses the first two commits (as while it restarts); the consumer is otherwise the real one.
  let refused = 0;
  const refusing = Object.create(kafka) as Kafka;
  refusing.consumer = (config) => {
    const consumer = kafka.consumer(config);
    const commit = consumer.commitOffsets.bind(consumer);
    consumer.commitOffsets = async (offsets) => {
      if (refused < 2) {
        refused++;
        throw new Error('The coordinator is not available');
      }
      return commit(offsets);
    };
    return consumer;
  };
  const handled: string[] = [];
  const name = 'refused-commits';
  await consume(name, async (event) => void handled.push(event.id), { kafka: refusing, onUndecodable: 'skip', commitIntervalMs: 100 });
  const events = [fact(), fact()];
  for (const event of events) await publish(event);
  await waitFor(() => events.every((e) => handled.includes(e.id)), { timeoutMs: 30_000, what: 'both facts handled' });

  const admin = kafka.admin();
  await admin.connect();
  try {
    const high = (await admin.fetchTopicOffsets(topics.orderEvents)).reduce((n, p) => n + Number(p.high), 0);
    const committed = async () => {
      const [topic] = await admin.fetchOffsets({ groupId: consumerGroup(name, prefix), topics: [topics.orderEvents] });
      return topic!.partitions.reduce((n, p) => n + Math.max(0, Number(p.offset)), 0);
    };
    await waitFor(async () => (await committed()) === high, { timeoutMs: 10_000, what: 'the handled offsets committed once the broker takes commits' });
  } finally {
    await admin.disconnect();
  }
  expect(refused).toBe(2);
});
