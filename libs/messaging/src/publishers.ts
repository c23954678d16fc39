import type { ChannelModel, ConfirmChannel } from 'amqplib';
import type { Message, Producer } from 'kafkajs';
import type { Logger } from 'pino';
import { CLOUDEVENTS_CONTENT_TYPE } from './event-codec';
import type { OutboxRecord } from './outbox';
import { connectAmqp, declareTaskTopology, type TaskTopology } from './rabbit';

/** Header that counts deliveries of a task (1 on first publish); the worker's retry ladder reads it. */
export const ATTEMPT_HEADER = 'x-attempt';

/**
 * Publishes outbox rows to Kafka in one batch per call. The idempotent producer (acks=all, one request
 * in flight) keeps the rows' order within each partition, so per-key order holds.
 */
export function kafkaOutboxPublisher(producer: Producer): (records: OutboxRecord[]) => Promise<void> {
  return async (records) => {
    const byTopic = new Map<string, Message[]>();
    for (const r of records) {
      const messages = byTopic.get(r.topic) ?? byTopic.set(r.topic, []).get(r.topic)!;
      messages.push({ key: r.key, value: JSON.stringify(r.payload), headers: { 'content-type': CLOUDEVENTS_CONTENT_TYPE, ...r.headers } });
    }
    await producer.sendBatch({ acks: -1, topicMessages: [...byTopic].map(([topic, messages]) => ({ topic, messages })) });
  };
}

export interface RabbitPublisher {
  /** Publishes outbox rows (routing key = row topic) persistently and waits for the broker's confirms. */
  publish(records: OutboxRecord[]): Promise<void>;
  /** Health check over the publishing connection (opened if needed): the broker answers a round trip. */
  check(): Promise<void>;
  close(): Promise<void>;
}

/**
 * A confirm channel on the `tasks` exchange that (re)connects on demand: after the broker drops the
 * connection, the next publish opens a new one, so the outbox relay's retries recover by themselves.
 */
export function createRabbitPublisher(options: { url: string; prefix?: string; logger: Logger; name?: string }): RabbitPublisher {
  let connecting: Promise<{ connection: ChannelModel; channel: ConfirmChannel; topology: TaskTopology }> | undefined;

  function open() {
    connecting ??= (async () => {
      const connection = await connectAmqp(options.url, { name: options.name ?? 'orderflow-outbox', logger: options.logger });
      const reset = () => (connecting = undefined);
      connection.on('close', reset);
      const channel = await connection.createConfirmChannel();
      channel.on('error', (error: Error) => options.logger.warn({ err: error }, 'amqp publish channel error'));
      channel.on('close', reset);
      const topology = await declareTaskTopology(channel, { prefix: options.prefix });
      return { connection, channel, topology };
    })().catch((error: unknown) => {
      connecting = undefined;
      throw error;
    });
    return connecting;
  }

  return {
    async publish(records) {
      const { channel, topology } = await open();
      for (const r of records) {
        channel.publish(topology.exchange, r.topic, Buffer.from(JSON.stringify(r.payload)), {
          persistent: true,
          mandatory: true,
          contentType: 'application/json',
          messageId: r.messageId,
          correlationId: r.key,
          headers: { [ATTEMPT_HEADER]: 1, ...r.headers },
        });
      }
      await channel.waitForConfirms();
    },
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
