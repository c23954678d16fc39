import { setTimeout as delay } from 'node:timers/promises';
import type { Consumer, Kafka, KafkaMessage, Producer } from 'kafkajs';
import type { Logger } from 'pino';
import type { CloudEvent } from '@orderflow/domain';
import { backoffMs, inRemoteTrace, recordingSpan, type LogFields } from '@orderflow/platform';
import { decodeCloudEvent } from './event-codec';
import { kafkaMessageAttributes, kafkaProcessAttributes } from './semconv';
import { dlqTopic } from '@orderflow/domain';

/** Longest a consumer's fetch waits for new messages; also the longest its stop() waits for one. */
export const FETCH_WAIT_MS = 1_000;

/**
 * How often the offsets of handled messages are committed (and at once on stop). kafkajs would commit
 * after every batch: with prompt fetches (minBytes 1) that is an OffsetCommit request for every few
 * facts of each partition, and as many broker round trips as fetches. Handlers are idempotent on the
 * event id, so a crash re-delivering up to this much costs only the repeat.
 */
export const COMMIT_INTERVAL_MS = 1_000;

export interface EventConsumerOptions {
  kafka: Kafka;
  groupId: string;
  topics: string[];
  /** Applies one fact. Throwing means "try again"; it must be idempotent on `event.id`. */
  handle: (event: CloudEvent, message: KafkaMessage) => Promise<void>;
  /** Producer for `<topic>.dlq`. */
  producer: Producer;
  logger: Logger;
  /** Attempts before a message is dead-lettered. */
  maxAttempts?: number;
  baseDelayMs?: number;
  maxDelayMs?: number;
  partitionsConsumedConcurrently?: number;
  onDeadLetter?: (topic: string, error: string) => void;
  /** Fields for every log line while the event is handled, e.g. `{ orderId: event.subject }`. */
  logFields?: (event: CloudEvent) => LogFields;
  /**
   * Bytes a fetch waits for (up to FETCH_WAIT_MS) before it answers; default 1, i.e. at once. A
   * consumer that need not be prompt (a backstop) takes larger, fewer fetches with a larger value.
   */
  fetchMinBytes?: number;
  /**
   * An error that says a dependency is down (the database restarting), not that the message is bad: it
   * is retried with backoff for as long as it lasts and never spends an attempt, so an outage dead-letters nothing.
   */
  isOutage?: (error: unknown) => boolean;
  /**
   * What to do with a message that is not a CloudEvent: `dead-letter` it (the default), or `skip` it with
   * a warning, for a second consumer group of a topic whose first group dead-letters it already (one
   * poison message, one dead letter).
   */
  onUndecodable?: 'dead-letter' | 'skip';
  /** How often handled offsets are committed; default COMMIT_INTERVAL_MS. */
  commitIntervalMs?: number;
}

export interface EventConsumer {
  start(): Promise<void>;
  /** Stops fetching, lets the message in hand finish, commits offsets, leaves the group. */
  stop(): Promise<void>;
}

/**
 * A consumer-group member that decodes CloudEvents and applies them one at a time per partition (so
 * one order's facts stay in order). A failing message is retried in place with backoff; after the last
 * attempt, or at once when it cannot be decoded, it goes to `<topic>.dlq` with the error, attempts and
 * original coordinates in headers, and the partition moves on: a poison message never blocks it.
 */
export function createEventConsumer(options: EventConsumerOptions): EventConsumer {
  const { kafka, groupId, topics, handle, producer, logger, maxAttempts = 5, baseDelayMs = 200, maxDelayMs = 10_000 } = options;
  // A fetch waits at most 1 s for data (kafkajs' default is 5 s): stop() waits for the fetch in hand,
  // so this bounds how long a SIGTERM takes; a busy topic answers at once either way.
  const consumer: Consumer = kafka.consumer({
    groupId,
    sessionTimeout: 30_000,
    heartbeatInterval: 3_000,
    maxWaitTimeInMs: FETCH_WAIT_MS,
    minBytes: options.fetchMinBytes ?? 1,
    allowAutoTopicCreation: false,
  });
  let stopping = false;
  const processAttributes = kafkaProcessAttributes(groupId);

  // The next offset to commit per partition, for messages handled (or dead-lettered, or skipped) since the last commit.
  const handled = new Map<string, { topic: string; partition: number; offset: string }>();
  let commitTimer: NodeJS.Timeout | undefined;
  // One commit at a time: a slow one failing after a later one succeeded must not put older offsets back.
  let committing: Promise<void> | undefined;
  function commitHandled(): Promise<void> {
    return (committing ??= commitOnce().finally(() => (committing = undefined)));
  }
  /** Commits every offset marked so far: after the commit under way, which took only those marked before it. */
  async function commitAllHandled(): Promise<void> {
    await committing;
    await commitHandled();
  }
  async function commitOnce(): Promise<void> {
    if (handled.size === 0) return;
    const offsets = [...handled.entries()];
    handled.clear();
    try {
      await consumer.commitOffsets(offsets.map(([, offset]) => offset));
    } catch (error) {
      // Kept for the next round (unless newer ones of the same partition came meanwhile): with Kafka
      // away, dropping them would leave a partition that gets no new message uncommitted for good.
      // A partition a rebalance took is dropped then (GROUP_JOIN below); its next owner starts from
      // the last commit and handles those messages again, which handlers take.
      for (const [key, offset] of offsets) if (!handled.has(key)) handled.set(key, offset);
      logger.debug({ err: error, groupId }, 'committing handled offsets failed; trying again');
    }
  }
  // After a rebalance, only the partitions this member still owns are its to commit.
  consumer.on(consumer.events.GROUP_JOIN, ({ payload }) => {
    const owned = new Set(Object.entries(payload.memberAssignment).flatMap(([topic, partitions]) => partitions.map((p) => `${topic}/${p}`)));
    for (const key of handled.keys()) if (!owned.has(key)) handled.delete(key);
  });
  function markHandled(topic: string, partition: number, offset: string): Promise<void> | undefined {
    handled.set(`${topic}/${partition}`, { topic, partition, offset: (BigInt(offset) + 1n).toString() });
    // Once stopping, every message is committed as it is done: the group is left right after.
    return stopping ? commitAllHandled() : undefined;
  }

  async function deadLetter(topic: string, partition: number, message: KafkaMessage, error: string, attempts: number) {
    await producer.send({
      topic: dlqTopic(topic),
      acks: -1,
      messages: [
        {
          key: message.key,
          value: message.value,
          headers: {
            ...message.headers,
            'x-error': error.slice(0, 2_000),
            'x-attempts': String(attempts),
            'x-original-topic': topic,
            'x-original-partition': String(partition),
            'x-original-offset': message.offset,
            'x-failed-at': new Date().toISOString(),
          },
        },
      ],
    });
    options.onDeadLetter?.(topic, error);
    logger.error({ topic, partition, offset: message.offset, attempts, error }, 'message dead-lettered');
  }

  return {
    async start() {
      await consumer.connect();
      await consumer.subscribe({ topics, fromBeginning: true });
      commitTimer = setInterval(() => void commitHandled(), options.commitIntervalMs ?? COMMIT_INTERVAL_MS).unref();
      await consumer.run({
        autoCommit: false,
        partitionsConsumedConcurrently: options.partitionsConsumedConcurrently ?? 3,
        eachMessage: async ({ topic, partition, message, heartbeat }) => {
          await handleMessage(topic, partition, message, heartbeat);
          await markHandled(topic, partition, message.offset);
        },
      });
    },
    async stop() {
      stopping = true;
      clearInterval(commitTimer);
      // Committed while still a member of the group; the message in hand is committed as it ends (markHandled).
      await commitAllHandled();
      await consumer.disconnect();
    },
  };

  /** Decodes and applies one message, retrying in place; resolves once it is handled, dead-lettered or skipped. */
  async function handleMessage(topic: string, partition: number, message: KafkaMessage, heartbeat: () => Promise<void>): Promise<void> {
    const decoded = decodeCloudEvent(message.value);
    if (!decoded.ok && options.onUndecodable === 'skip') {
      logger.warn({ topic, partition, offset: message.offset, error: decoded.error }, 'undecodable message skipped (another consumer group dead-letters it)');
      return;
    }
    if (!decoded.ok) return deadLetter(topic, partition, message, `undecodable: ${decoded.error}`, 1);
    const event = decoded.event;
    // Continues the producer's trace (the `traceparent` header), so this hop's logs share its trace
    // id: a `process <topic>` span (OpenTelemetry messaging conventions), detailed only when recorded.
    await inRemoteTrace(
      message.headers,
      `process ${topic}`,
      options.logFields?.(event) ?? {},
      async () => {
        recordingSpan()?.setAttributes(kafkaMessageAttributes(topic, partition, message, event.id));
        for (let attempt = 1, tries = 1; ; tries++) {
          try {
            await handle(event, message);
            return;
          } catch (error) {
            const reason = error instanceof Error ? error.message : String(error);
            // While stopping, leave the offset uncommitted: the next member of the group retries it.
            if (stopping) throw error;
            const outage = options.isOutage?.(error) ?? false;
            if (!outage && attempt >= maxAttempts) return deadLetter(topic, partition, message, reason, attempt);
            logger.warn({ topic, partition, offset: message.offset, attempt, outage, err: error }, 'handler failed; retrying');
            if (!outage) attempt++;
            await delay(backoffMs(Math.min(tries, 30), { baseMs: baseDelayMs, capMs: maxDelayMs }));
            await heartbeat();
          }
        }
      },
      processAttributes,
    );
  }
}
