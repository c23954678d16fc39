import type { Kafka, KafkaMessage } from 'kafkajs';
import type { ConsumeMessage } from 'amqplib';
import type { Logger } from 'pino';
import { createTaskWorker, FETCH_WAIT_MS } from '@orderflow/messaging';
import { deadLetterId, type DeadLetterRepository, type DeadLetterSource } from './dead-letter-repository';

const text = (v: unknown): string | undefined => (v === undefined || v === null ? undefined : Buffer.isBuffer(v) ? v.toString() : String(v));

function kafkaHeaders(message: KafkaMessage): Record<string, string> {
  return Object.fromEntries(Object.entries(message.headers ?? {}).map(([k, v]) => [k, text(Array.isArray(v) ? v[0] : v) ?? '']));
}

export interface CollectorOptions {
  kafka: Kafka;
  dlqTopics: string[];
  groupId: string;
  amqpUrl: string;
  prefix: string;
  repo: DeadLetterRepository;
  logger: Logger;
  onRecorded?: (source: DeadLetterSource) => void;
}

/**
 * Indexes every dead letter into Postgres so the admin API can list and replay them: it reads the
 * Kafka `<topic>.dlq` topics and the RabbitMQ `notification.send.dlq` queue. Recording is idempotent
 * (the id comes from where the letter was seen), so a redelivery changes nothing.
 */
export function createDeadLetterCollector(options: CollectorOptions) {
  const { kafka, repo, logger } = options;
  const consumer = kafka.consumer({ groupId: options.groupId, maxWaitTimeInMs: FETCH_WAIT_MS, allowAutoTopicCreation: false });

  async function recordKafka(topic: string, partition: number, message: KafkaMessage): Promise<void> {
    const headers = kafkaHeaders(message);
    const failedAt = headers['x-failed-at'] ?? new Date(Number(message.timestamp)).toISOString();
    const isNew = await repo.record({
      id: deadLetterId('kafka', topic, String(partition), message.offset),
      source: 'kafka',
      origin: headers['x-original-topic'] ?? topic.replace(/\.dlq$/, ''),
      ...(message.key ? { key: message.key.toString() } : {}),
      payload: message.value?.toString() ?? '',
      headers,
      error: headers['x-error'] ?? 'unknown',
      attempts: Number(headers['x-attempts'] ?? 1),
      firstFailedAt: failedAt,
      lastFailedAt: failedAt,
    });
    if (isNew) options.onRecorded?.('kafka');
  }

  async function recordRabbit(body: Buffer, msg: ConsumeMessage): Promise<void> {
    const raw = msg.properties.headers ?? {};
    const headers = Object.fromEntries(Object.entries(raw).map(([k, v]) => [k, text(v) ?? '']));
    const now = new Date().toISOString();
    const messageId = text(msg.properties.messageId);
    const isNew = await repo.record({
      id: deadLetterId('rabbitmq', messageId ?? body.toString('base64').slice(0, 64), headers['x-last-failed-at'] ?? now),
      source: 'rabbitmq',
      origin: 'notification.send',
      ...(msg.properties.correlationId ? { key: String(msg.properties.correlationId) } : {}),
      ...(messageId ? { messageId } : {}),
      payload: body.toString(),
      headers,
      error: headers['x-error'] ?? headers['x-last-error'] ?? 'unknown',
      attempts: Number(headers['x-attempts'] ?? 1),
      firstFailedAt: headers['x-first-failed-at'] ?? now,
      lastFailedAt: headers['x-last-failed-at'] ?? now,
    });
    if (isNew) options.onRecorded?.('rabbitmq');
  }

  const queueReader = createTaskWorker({
    url: options.amqpUrl,
    prefix: options.prefix,
    logger,
    name: 'orderflow-dead-letters',
    queue: (t) => t.dlq.name,
    onFailure: 'requeue',
    handle: recordRabbit,
  });

  return {
    async start() {
      await consumer.connect();
      await consumer.subscribe({ topics: options.dlqTopics, fromBeginning: true });
      await consumer.run({ eachMessage: ({ topic, partition, message }) => recordKafka(topic, partition, message) });
      await queueReader.start();
    },
    async stop() {
      await queueReader.stop();
      await consumer.disconnect();
    },
  };
}
