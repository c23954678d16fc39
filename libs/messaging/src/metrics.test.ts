import { randomUUID } from 'node:crypto';
import type { ChannelModel, ConfirmChannel } from 'amqplib';
import { Kafka, logLevel } from 'kafkajs';
import type pg from 'pg';
import { createPool } from '@orderflow/db';
import { Registry } from 'prom-client';
import { createTestDatabase, testInfra, uniqueName, waitFor, type TestDatabase } from '@orderflow/testing';
import { registerConsumerLagMetrics, registerOutboxMetrics, registerQueueDepthMetrics } from './metrics';
import { enqueueOutbox } from './outbox';
import { taskTopology } from '@orderflow/domain';
import { connectAmqp, declareTaskTopology } from './rabbit';

const { kafkaBrokers, amqpUrl } = testInfra();

async function sample(registry: Registry, name: string, labels: Record<string, string> = {}): Promise<number | undefined> {
  const metric = registry.getSingleMetric(name);
  const { values } = await metric!.get();
  return values.find((v) => Object.entries(labels).every(([k, want]) => v.labels[k] === want))?.value;
}

describe('scrape-time gauges', () => {
  it('orderflow_kafka_consumer_lag_messages: end offsets minus what the group committed, or the whole topic before its first commit', async () => {
    const topic = uniqueName('lag');
    const kafka = new Kafka({ brokers: kafkaBrokers, clientId: 'metrics-test', logLevel: logLevel.NOTHING });
    const admin = kafka.admin();
    await admin.connect();
    const producer = kafka.producer();
    const registry = new Registry();
    const lag = registerConsumerLagMetrics(registry, {
      brokers: kafkaBrokers,
      clientId: 'metrics-test',
      groups: [
        { groupId: `${topic}-behind`, topics: [topic] },
        { groupId: `${topic}-new`, topics: [topic] },
      ],
    });
    try {
      await admin.createTopics({ topics: [{ topic, numPartitions: 1 }], waitForLeaders: true });
      await producer.connect();
      await producer.send({ topic, messages: [{ value: 'a' }, { value: 'b' }, { value: 'c' }] });
      await admin.setOffsets({ groupId: `${topic}-behind`, topic, partitions: [{ partition: 0, offset: '1' }] });
      expect(
        await waitFor(
          async () => (await registry.metrics()) && (await sample(registry, 'orderflow_kafka_consumer_lag_messages', { group: `${topic}-behind`, topic })),
          { timeoutMs: 30_000, what: 'a lag sample' },
        ),
      ).toBe(2);
      expect(await sample(registry, 'orderflow_kafka_consumer_lag_messages', { group: `${topic}-new`, topic })).toBe(3);
    } finally {
      await lag.close();
      await producer.disconnect();
      await admin.deleteGroups([`${topic}-behind`]).catch(() => undefined);
      await admin.deleteTopics({ topics: [topic] }).catch(() => undefined);
      await admin.disconnect();
    }
  });

  it('orderflow_task_queue_messages: ready tasks per queue, labelled without the resource prefix', async () => {
    const prefix = `${uniqueName('depth')}_`;
    const connection: ChannelModel = await connectAmqp(amqpUrl);
    const channel: ConfirmChannel = await connection.createConfirmChannel();
    const topology = await declareTaskTopology(channel, taskTopology(prefix));
    const registry = new Registry();
    const depth = registerQueueDepthMetrics(registry, { url: amqpUrl, topology: taskTopology(prefix), prefix });
    try {
      for (let i = 0; i < 2; i++) channel.publish(topology.exchange, topology.routingKey, Buffer.from('{}'), { persistent: true });
      await channel.waitForConfirms();
      const ready = await waitFor(
        async () => (await registry.metrics()) && (await sample(registry, 'orderflow_task_queue_messages', { queue: 'notification.send' })),
        { timeoutMs: 30_000, what: 'a depth sample' },
      );
      expect(ready).toBe(2);
      expect(await sample(registry, 'orderflow_task_queue_messages', { queue: 'notification.send.dlq' })).toBe(0);
      expect(await sample(registry, 'orderflow_task_queue_consumers', { queue: 'notification.send' })).toBe(0);
    } finally {
      await depth.close();
      const t = taskTopology(prefix);
      for (const queue of [t.queue, ...t.retryQueues.map((q) => q.name), t.dlq.name]) await channel.deleteQueue(queue);
      await channel.deleteExchange(t.exchange);
      await connection.close();
    }
  });

  describe('outbox', () => {
    let db: TestDatabase;
    let pool: pg.Pool;
    beforeAll(async () => {
      db = await createTestDatabase('inventory', 'outbox_metrics');
      pool = createPool(db.url, 2);
    });
    afterAll(async () => {
      await pool.end();
      await db.drop();
    });

    it('orderflow_outbox_backlog_messages and orderflow_outbox_oldest_message_age_seconds count unpublished rows', async () => {
      const registry = new Registry();
      registerOutboxMetrics(registry, pool);
      await registry.metrics();
      expect(await sample(registry, 'orderflow_outbox_backlog_messages')).toBe(0);
      expect(await sample(registry, 'orderflow_outbox_oldest_message_age_seconds')).toBe(0);
      const [old, young] = [randomUUID(), randomUUID()];
      await enqueueOutbox(pool, [
        { destination: 'kafka', topic: 't', key: 'k', messageId: old, payload: {} },
        { destination: 'rabbitmq', topic: 't', key: 'k', messageId: young, payload: {} },
      ]);
      await pool.query(`UPDATE outbox SET created_at = now() - interval '30 seconds' WHERE message_id = $1`, [old]);
      const backlog = await waitFor(async () => (await registry.metrics()) && (await sample(registry, 'orderflow_outbox_backlog_messages')) === 2, {
        what: 'the backlog to show',
        intervalMs: 200,
      });
      expect(backlog).toBe(true);
      expect(await sample(registry, 'orderflow_outbox_oldest_message_age_seconds')).toBeGreaterThanOrEqual(30);
    });
  });
});
