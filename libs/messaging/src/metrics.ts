import type { Channel, ChannelModel } from 'amqplib';
import { Kafka, logLevel } from 'kafkajs';
import type { Pool } from 'pg';
import { Gauge, type Registry } from 'prom-client';
import { cachedCollect } from '@orderflow/platform';
import { outboxBacklog } from './outbox';
import { reusableAdmin, type KafkaConnection } from './kafka';
import type { TaskTopology } from '@orderflow/domain';
import { connectAmqp } from './rabbit';

// Gauges read on scrape (prom-client `collect`), through `cachedCollect`: bounded in time, cached for
// a few seconds, and a dependency that is down leaves the last values instead of failing /metrics.

/** `orderflow_outbox_backlog_messages` and `orderflow_outbox_oldest_message_age_seconds` of this service's outbox table. */
export function registerOutboxMetrics(registry: Registry, pool: Pool): void {
  const read = cachedCollect(() => outboxBacklog(pool), { ttlMs: 1_000 });
  new Gauge({
    name: 'orderflow_outbox_backlog_messages',
    help: 'Outbox rows committed but not yet published to Kafka or RabbitMQ',
    registers: [registry],
    async collect() {
      const backlog = await read();
      if (backlog) this.set(backlog.count);
    },
  });
  new Gauge({
    name: 'orderflow_outbox_oldest_message_age_seconds',
    help: 'Age of the oldest unpublished outbox row (0 when none)',
    registers: [registry],
    async collect() {
      const backlog = await read();
      if (backlog) this.set(backlog.oldestAgeSeconds);
    },
  });
}

export interface ConsumerGroupWatch {
  groupId: string;
  topics: string[];
}

/**
 * `orderflow_kafka_consumer_lag_messages{group,topic}`: end offsets minus committed offsets, summed over the
 * topic's partitions (all of a partition when the group never committed there). Uses its own admin
 * client without retries, so a broker that is down costs a scrape at most `timeoutMs`.
 */
export function registerConsumerLagMetrics(
  registry: Registry,
  options: KafkaConnection & { clientId: string; groups: ConsumerGroupWatch[]; timeoutMs?: number },
) {
  const { clientId, groups, timeoutMs = 2_000, ...connection } = options;
  const kafka = new Kafka({
    ...connection,
    clientId: `${clientId}-metrics`,
    connectionTimeout: timeoutMs,
    requestTimeout: timeoutMs,
    retry: { retries: 3, initialRetryTime: 100, maxRetryTime: 500 },
    logLevel: logLevel.NOTHING,
  });
  // A broken connection is not reused: the next scrape connects afresh.
  const admin = reusableAdmin(kafka);

  const read = cachedCollect(
    () =>
      admin.use(async (client) => {
        const rows: { group: string; topic: string; lag: number }[] = [];
        for (const { groupId, topics } of groups) {
          for (const committed of await client.fetchOffsets({ groupId, topics })) {
            const ends = new Map((await client.fetchTopicOffsets(committed.topic)).map((p) => [p.partition, p]));
            let lag = 0;
            for (const p of committed.partitions) {
              const end = ends.get(p.partition);
              if (!end) continue;
              const offset = Number(p.offset);
              lag += offset < 0 ? Number(end.high) - Number(end.low) : Math.max(0, Number(end.high) - offset);
            }
            rows.push({ group: groupId, topic: committed.topic, lag });
          }
        }
        return rows;
      }),
    { ttlMs: 5_000, timeoutMs },
  );
  new Gauge({
    name: 'orderflow_kafka_consumer_lag_messages',
    help: 'Messages on a topic that a consumer group has not committed yet',
    labelNames: ['group', 'topic'],
    registers: [registry],
    async collect() {
      for (const row of (await read()) ?? []) this.set({ group: row.group, topic: row.topic }, row.lag);
    },
  });
  return {
    /** The latest lag per group and topic (cached like the gauge; undefined before the first read). */
    read,
    close: admin.close,
  };
}

/**
 * `orderflow_task_queue_messages{queue}` and `orderflow_task_queue_consumers{queue}` for the task
 * queues (work, retries, dead letters) as this process sees them, labelled with their unprefixed names
 * (not `rabbitmq_queue_*`: those are the names of RabbitMQ's own Prometheus plugin). Asks the broker
 * (passive declare) over its own connection, opened on the first scrape.
 */
export function registerQueueDepthMetrics(registry: Registry, options: { url: string; topology: TaskTopology; prefix?: string; timeoutMs?: number }) {
  const { topology, prefix = '' } = options;
  const label = (name: string) => (name.startsWith(prefix) ? name.slice(prefix.length) : name);
  const queues = [topology.queue, ...topology.retryQueues.map((q) => q.name), topology.dlq.name].map((name) => ({ name, label: label(name) }));
  let session: Promise<{ connection: ChannelModel; channel: Channel }> | undefined;
  const open = () =>
    (session ??= (async () => {
      const connection = await connectAmqp(options.url, { name: 'orderflow-metrics', timeoutMs: options.timeoutMs ?? 2_000 });
      const reset = () => (session = undefined);
      connection.on('close', reset);
      const channel = await connection.createChannel();
      channel.on('error', () => undefined); // a missing queue closes the channel; 'close' resets
      channel.on('close', reset);
      return { connection, channel };
    })().catch((error: unknown) => {
      session = undefined;
      throw error;
    }));

  const read = cachedCollect(
    async () => {
      const { channel } = await open();
      const rows: { queue: string; messages: number; consumers: number }[] = [];
      for (const q of queues) {
        const { messageCount, consumerCount } = await channel.checkQueue(q.name);
        rows.push({ queue: q.label, messages: messageCount, consumers: consumerCount });
      }
      return rows;
    },
    { ttlMs: 5_000, timeoutMs: options.timeoutMs ?? 2_000 },
  );
  new Gauge({
    name: 'orderflow_task_queue_messages',
    help: 'Messages ready in a task queue',
    labelNames: ['queue'],
    registers: [registry],
    async collect() {
      for (const row of (await read()) ?? []) this.set({ queue: row.queue }, row.messages);
    },
  });
  new Gauge({
    name: 'orderflow_task_queue_consumers',
    help: 'Consumers attached to a task queue',
    labelNames: ['queue'],
    registers: [registry],
    async collect() {
      for (const row of (await read()) ?? []) this.set({ queue: row.queue }, row.consumers);
    },
  });
  return {
    /** The latest depth of each task queue (cached like the gauges; undefined before the first read). */
    read,
    async close() {
      const current = session;
      session = undefined;
      await (await current?.catch(() => undefined))?.connection.close().catch(() => undefined);
    },
  };
}
