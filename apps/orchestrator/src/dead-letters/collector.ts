import type { Kafka, KafkaMessage } from 'kafkajs';
import type { ConsumeMessage } from 'amqplib';
import type { Logger } from 'pino';
import { TASK_QUEUES, taskTopology, type TaskQueue } from '@orderflow/domain';
import { createTaskWorker, FETCH_WAIT_MS } from '@orderflow/messaging';
import { deadLetterId, isDataError, type DeadLetter, type DeadLetterRepository, type DeadLetterSource } from './dead-letter-repository';
import { cleanText, sanitizeHeaders } from './encoding';

/** A header as text for the collector's own columns (error, attempts, times); bytes that are not text are read as best it can. */
const textOf = (v: string | Buffer | undefined): string | undefined => (v === undefined ? undefined : Buffer.isBuffer(v) ? cleanText(v.toString('utf8')) : v);
const attemptsOf = (v: string | undefined): number => {
  const n = Number(v ?? 1);
  return Number.isInteger(n) && n >= 0 && n < 2 ** 31 ? n : 1;
};
const timeOf = (v: string | undefined, fallback: string): string => (v !== undefined && !Number.isNaN(Date.parse(v)) ? v : fallback);

// kafkajs hands a repeated header as an array; the first value is the one kept (as before).
const kafkaHeaders = (message: KafkaMessage) =>
  sanitizeHeaders(Object.fromEntries(Object.entries(message.headers ?? {}).map(([k, v]) => [k, Array.isArray(v) ? v[0] : v])));

/** Why a dead letter did not go into Postgres as received. */
export type Unrecordable = 'placeholder' | 'dropped';

export interface CollectorOptions {
  kafka: Kafka;
  dlqTopics: string[];
  groupId: string;
  amqpUrl: string;
  prefix: string;
  repo: DeadLetterRepository;
  logger: Logger;
  onRecorded?: (source: DeadLetterSource) => void;
  /** A letter Postgres refused: kept as a placeholder row, or (neither would go in) skipped. Both are logged. */
  onUnrecordable?: (source: DeadLetterSource, outcome: Unrecordable) => void;
}

/**
 * Indexes every dead letter into Postgres so the admin API can list and replay them: it reads the
 * Kafka `<topic>.dlq` topics and the RabbitMQ task queues' DLQs (`notification.send.dlq`, `webhook.deliver.dlq`). Recording is idempotent
 * (the id comes from where the letter was seen), so a redelivery changes nothing. Payloads are kept
 * byte for byte and headers made storable; a letter Postgres still refuses is a permanent failure:
 * it is recorded as a placeholder, or at worst logged, counted and skipped, never retried for ever
 * (which would hold up every letter behind it on its partition or queue).
 */
export function createDeadLetterCollector(options: CollectorOptions) {
  const { kafka, repo, logger } = options;
  const consumer = kafka.consumer({ groupId: options.groupId, maxWaitTimeInMs: FETCH_WAIT_MS, allowAutoTopicCreation: false });

  async function store(letter: Omit<DeadLetter, 'replayedAt' | 'createdAt'>): Promise<void> {
    const where = { id: letter.id, source: letter.source, origin: letter.origin };
    let outcome;
    try {
      outcome = await repo.record(letter);
    } catch (error) {
      if (!isDataError(error)) throw error; // Postgres down or slow: retried, the letter waits its turn
      logger.error({ ...where, err: error }, 'dead letter could not be recorded, not even as a placeholder; skipped');
      options.onUnrecordable?.(letter.source, 'dropped');
      return;
    }
    if (outcome === 'placeholder') {
      logger.error(where, 'dead letter could not be stored as received; recorded a placeholder with its payload');
      options.onUnrecordable?.(letter.source, 'placeholder');
    }
    if (outcome !== 'duplicate') options.onRecorded?.(letter.source);
  }

  async function recordKafka(topic: string, partition: number, message: KafkaMessage): Promise<void> {
    const headers = kafkaHeaders(message);
    const failedAt = timeOf(textOf(headers['x-failed-at']), new Date(Number(message.timestamp) || Date.now()).toISOString());
    await store({
      id: deadLetterId('kafka', topic, String(partition), message.offset),
      source: 'kafka',
      origin: textOf(headers['x-original-topic']) ?? topic.replace(/\.dlq$/, ''),
      ...(message.key ? { key: message.key } : {}),
      payload: message.value ?? Buffer.alloc(0),
      headers,
      error: textOf(headers['x-error']) ?? 'unknown',
      attempts: attemptsOf(textOf(headers['x-attempts'])),
      firstFailedAt: failedAt,
      lastFailedAt: failedAt,
    });
  }

  async function recordRabbit(queue: TaskQueue, body: Buffer, msg: ConsumeMessage): Promise<void> {
    const headers = sanitizeHeaders(msg.properties.headers ?? {});
    const now = new Date().toISOString();
    const messageId = msg.properties.messageId === undefined || msg.properties.messageId === null ? undefined : cleanText(String(msg.properties.messageId));
    const correlationId =
      msg.properties.correlationId === undefined || msg.properties.correlationId === null ? undefined : String(msg.properties.correlationId);
    const lastFailedAt = timeOf(textOf(headers['x-last-failed-at']), now);
    await store({
      id: deadLetterId('rabbitmq', messageId ?? body.toString('base64').slice(0, 64), textOf(headers['x-last-failed-at']) ?? now),
      source: 'rabbitmq',
      origin: queue,
      ...(correlationId ? { key: Buffer.from(correlationId) } : {}),
      ...(messageId ? { messageId } : {}),
      payload: body,
      headers,
      error: textOf(headers['x-error']) ?? textOf(headers['x-last-error']) ?? 'unknown',
      attempts: attemptsOf(textOf(headers['x-attempts'])),
      firstFailedAt: timeOf(textOf(headers['x-first-failed-at']), now),
      lastFailedAt,
    });
  }

  // One reader per task queue's DLQ (`notification.send.dlq`, `webhook.deliver.dlq`); the queue is the letter's origin.
  const queueReaders = TASK_QUEUES.map((queue) =>
    createTaskWorker({
      url: options.amqpUrl,
      topology: taskTopology(options.prefix, queue),
      logger,
      name: 'orderflow-dead-letters',
      queue: (t) => t.dlq.name,
      onFailure: 'requeue',
      handle: (body, msg) => recordRabbit(queue, body, msg),
    }),
  );

  return {
    async start() {
      await consumer.connect();
      await consumer.subscribe({ topics: options.dlqTopics, fromBeginning: true });
      await consumer.run({ eachMessage: ({ topic, partition, message }) => recordKafka(topic, partition, message) });
      for (const reader of queueReaders) await reader.start();
    },
    async stop() {
      await Promise.all(queueReaders.map((reader) => reader.stop()));
      await consumer.disconnect();
    },
  };
}
