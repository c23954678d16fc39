import type { ChannelModel, ConfirmChannel, ConsumeMessage } from 'amqplib';
import type { Message, Producer } from 'kafkajs';
import type { Logger } from 'pino';
import { inProducerSpans, tracingExported } from '@orderflow/platform';
import { withDeadline } from './deadline';
import { CLOUDEVENTS_CONTENT_TYPE } from './event-codec';
import type { OutboxMessage, OutboxRecord } from './outbox';
import type { TaskTopology } from '@orderflow/domain';
import { connectAmqp, declareTaskTopology } from './rabbit';
import { kafkaSend, rabbitSend } from './semconv';

/** Header that counts deliveries of a task (1 on first publish); the worker's retry ladder reads it. */
export const ATTEMPT_HEADER = 'x-attempt';

/**
 * The Kafka message for an outbox row: the CloudEvent as a structured-mode JSON value, keyed as the
 * row is (the fact's subject: order id or sku), its headers (the trace) beside the content type.
 */
export function kafkaMessageOf(row: Pick<OutboxMessage, 'key' | 'payload' | 'headers'>): Message {
  // A Buffer (an outbox row's stored JSON, a replayed dead letter) goes out byte for byte.
  return {
    key: row.key,
    value: Buffer.isBuffer(row.payload) ? row.payload : JSON.stringify(row.payload),
    headers: { 'content-type': CLOUDEVENTS_CONTENT_TYPE, ...row.headers },
  };
}

/** Whether a publisher makes a producer span per message; by default when spans are exported. */
export interface PublisherTracing {
  traced?: boolean;
}

/**
 * The Kafka publisher of an outbox relay: one batch per call. The idempotent producer (acks=all, one
 * request in flight) keeps the rows' order within each partition, so per-key order holds. With tracing exported, each row gets a `send <topic>`
 * producer span linked to the trace that wrote the row; the message itself carries that trace on
 * (its stored `traceparent`), so consumers continue the writer's trace.
 */
export function kafkaOutboxPublisher(producer: Producer, { traced = tracingExported() }: PublisherTracing = {}): (records: OutboxRecord[]) => Promise<void> {
  return async (records) => {
    const byTopic = new Map<string, Message[]>();
    for (const r of records) {
      const messages = byTopic.get(r.topic) ?? byTopic.set(r.topic, []).get(r.topic)!;
      messages.push(kafkaMessageOf(r));
    }
    const batch = { acks: -1, topicMessages: [...byTopic].map(([topic, messages]) => ({ topic, messages })) };
    if (traced) await inProducerSpans(records.map(kafkaSend), () => producer.sendBatch(batch));
    else await producer.sendBatch(batch);
  };
}

export interface RabbitPublisher {
  /** Publishes outbox rows (routing key = row topic) persistently and waits for the broker's confirms; rejects when one is unroutable. */
  publish(records: OutboxRecord[]): Promise<void>;
  /** Health check over the publishing connection (opened if needed): the broker answers a round trip. */
  check(): Promise<void>;
  close(): Promise<void>;
}

export interface RabbitPublisherOptions extends PublisherTracing {
  url: string;
  /** The topology the outbox's task rows are published to (declared on connect). */
  topology: TaskTopology;
  /** Further topologies on the same exchange that rows are routed to (declared on connect too), e.g. webhook deliveries beside e-mails. */
  moreTopologies?: TaskTopology[];
  logger: Logger;
  name?: string;
  /** Longest one publish may take, connecting and confirms included (a frozen broker never confirms). */
  confirmTimeoutMs?: number;
}

/** `returned`: message ids the broker sent back (`mandatory`, no queue bound), until their publish checks them. */
type Session = { connection: ChannelModel; channel: ConfirmChannel; topology: TaskTopology; returned: Set<string> };

/**
 * A confirm channel on the `tasks` exchange that (re)connects on demand: after the broker drops the
 * connection, the next publish opens a new one, so the outbox relay's retries recover by themselves.
 * A publish the broker has not confirmed within `confirmTimeoutMs` fails (its outbox rows stay
 * unpublished and are sent again) and gives up its connection, so the retry starts on a fresh one.
 */
export function createRabbitPublisher(options: RabbitPublisherOptions): RabbitPublisher {
  const { confirmTimeoutMs = 10_000, traced = tracingExported() } = options;
  const { exchange } = options.topology;
  let connecting: Promise<Session> | undefined;

  function open(): Promise<Session> {
    if (connecting) return connecting;
    const opening: Promise<Session> = (async () => {
      const connection = await connectAmqp(options.url, { name: options.name ?? 'orderflow-outbox', logger: options.logger });
      // Only this session's end forgets it: one given up on may close long after the next opened.
      const reset = () => void (connecting === opening && (connecting = undefined));
      connection.on('close', reset);
      const channel = await connection.createConfirmChannel();
      channel.on('error', (error: Error) => options.logger.warn({ err: error }, 'amqp publish channel error'));
      channel.on('close', reset);
      const returned = new Set<string>();
      channel.on('return', (m: ConsumeMessage) => void returned.add(String(m.properties.messageId)));
      const topology = await declareTaskTopology(channel, options.topology);
      for (const more of options.moreTopologies ?? []) await declareTaskTopology(channel, more);
      return { connection, channel, topology, returned };
    })();
    connecting = opening;
    opening.catch(() => void (connecting === opening && (connecting = undefined)));
    return opening;
  }

  /** Gives up on a session (its connection closes in the background, or at the broker's heartbeat). */
  function abandon(session: Promise<Session>) {
    if (connecting === session) connecting = undefined;
    void session.then((s) => s.connection.close()).catch(() => undefined);
  }

  async function publish(records: OutboxRecord[]): Promise<void> {
    const session = open();
    const confirmed = (async () => {
      const { channel, topology, returned } = await session;
      for (const r of records) returned.delete(r.messageId); // left by an earlier attempt that failed before its check
      for (const r of records) {
        // A Buffer payload goes out byte for byte (a dead letter's replay); anything else as JSON.
        channel.publish(topology.exchange, r.topic, Buffer.isBuffer(r.payload) ? r.payload : Buffer.from(JSON.stringify(r.payload)), {
          persistent: true,
          mandatory: true,
          contentType: 'application/json',
          messageId: r.messageId,
          correlationId: r.key,
          headers: { [ATTEMPT_HEADER]: 1, ...r.headers },
        });
      }
      await channel.waitForConfirms();
      // The broker sends basic.return before the confirm, so every return of this batch is in by now.
      // A returned row was not taken by any queue: reject, so it stays in the outbox and is sent again.
      const unroutable = records.filter((r) => returned.delete(r.messageId));
      if (unroutable.length) {
        throw new Error(
          `RabbitMQ returned ${unroutable.length} of ${records.length} message(s) as unroutable (no queue bound to ${[...new Set(unroutable.map((r) => r.topic))].join(', ')})`,
        );
      }
    })();
    await withDeadline(confirmed, confirmTimeoutMs, `RabbitMQ did not confirm ${records.length} message(s) within ${confirmTimeoutMs} ms`, () =>
      abandon(session),
    );
  }

  return {
    /** With tracing exported, each row gets a `send` producer span linked to the trace that wrote it. */
    publish: (records) =>
      traced
        ? inProducerSpans(
            records.map((r) => rabbitSend(exchange, r)),
            () => publish(records),
          )
        : publish(records),
    async check() {
      const { channel, topology } = await open();
      await channel.checkExchange(topology.exchange); // a round trip: a frozen broker does not answer
    },
    async close() {
      const current = connecting;
      connecting = undefined;
      if (current) await (await current.catch(() => undefined))?.connection.close().catch(() => undefined);
    },
  };
}
