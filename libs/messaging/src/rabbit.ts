import amqp, { type Channel, type ChannelModel, type Options } from 'amqplib';
import type { Logger } from 'pino';
import type { DependencyCheck } from '@orderflow/platform';

/** Routing keys are fixed contract names; exchange and queue names carry the resource prefix. */
export const NOTIFICATION_SEND = 'notification.send';
/** Delay before retry 1, 2 and 3 of a notification task (the `notification.send.retry.N` queues' TTLs). */
export const RETRY_DELAYS_MS = [1_000, 4_000, 16_000] as const;

export interface TaskTopology {
  exchange: string;
  queue: string;
  routingKey: string;
  retryQueues: { name: string; routingKey: string; ttlMs: number }[];
  dlq: { name: string; routingKey: string };
}

/**
 * Names of the task topology. Retry and DLQ queues are bound to the `tasks` exchange under their own
 * routing keys, so a worker publishes every hop (retry N, dead letter) to one exchange with confirms
 * and `mandatory`, and never needs the prefixed queue names. Expired retries dead-letter back to
 * `tasks` with routing key `notification.send`.
 */
export function taskTopology(prefix = ''): TaskTopology {
  const queue = `${prefix}${NOTIFICATION_SEND}`;
  return {
    exchange: `${prefix}tasks`,
    queue,
    routingKey: NOTIFICATION_SEND,
    retryQueues: RETRY_DELAYS_MS.map((ttlMs, i) => ({ name: `${queue}.retry.${i + 1}`, routingKey: `${NOTIFICATION_SEND}.retry.${i + 1}`, ttlMs })),
    dlq: { name: `${queue}.dlq`, routingKey: `${NOTIFICATION_SEND}.dlq` },
  };
}

/** Where a task goes after its `attempt`-th delivery (1-based) failed: the next retry queue, then the DLQ. */
export function failureRoutingKey(attempt: number): string {
  return attempt >= 1 && attempt <= RETRY_DELAYS_MS.length ? `${NOTIFICATION_SEND}.retry.${attempt}` : `${NOTIFICATION_SEND}.dlq`;
}

const QUORUM = { 'x-queue-type': 'quorum' };

// At-least-once dead-lettering (quorum queues, RabbitMQ ≥ 3.10) needs reject-publish overflow; a
// message then stays in its queue until the target confirms it, so an expiring retry is never lost.
const deadLetterTo = (exchange: string, routingKey: string): Options.AssertQueue['arguments'] => ({
  'x-dead-letter-exchange': exchange,
  'x-dead-letter-routing-key': routingKey,
  'x-dead-letter-strategy': 'at-least-once',
  'x-overflow': 'reject-publish',
});

/**
 * Declares the task topology above (idempotent: re-declaring with the same arguments is a
 * no-op). The work queue dead-letters rejected messages and crash loops (delivery limit) to the DLQ.
 */
export async function declareTaskTopology(channel: Channel, { prefix = '' }: { prefix?: string } = {}): Promise<TaskTopology> {
  const t = taskTopology(prefix);
  await channel.assertExchange(t.exchange, 'direct', { durable: true });

  await channel.assertQueue(t.queue, { durable: true, arguments: { ...QUORUM, ...deadLetterTo(t.exchange, t.dlq.routingKey), 'x-delivery-limit': 20 } });
  await channel.bindQueue(t.queue, t.exchange, t.routingKey);

  for (const retry of t.retryQueues) {
    await channel.assertQueue(retry.name, { durable: true, arguments: { ...QUORUM, ...deadLetterTo(t.exchange, t.routingKey), 'x-message-ttl': retry.ttlMs } });
    await channel.bindQueue(retry.name, t.exchange, retry.routingKey);
  }

  await channel.assertQueue(t.dlq.name, { durable: true, arguments: QUORUM });
  await channel.bindQueue(t.dlq.name, t.exchange, t.dlq.routingKey);
  return t;
}

export interface ConnectAmqpOptions {
  /** Shown in the RabbitMQ management UI. */
  name?: string;
  timeoutMs?: number;
  logger?: Logger;
}

/**
 * Opens a connection. An 'error' listener is attached (logging it) so a broker failure never crashes
 * the process; callers react to 'close' (drain, reconnect or exit).
 */
export async function connectAmqp(url: string, { name, timeoutMs = 5_000, logger }: ConnectAmqpOptions = {}): Promise<ChannelModel> {
  const connection = await amqp.connect(url, { timeout: timeoutMs, clientProperties: name ? { connection_name: name } : {} });
  connection.on('error', (error: Error) => logger?.error({ err: error }, 'amqp connection error'));
  return connection;
}

/** Readiness check: a fresh connection with a short timeout, closed straight after. */
export function amqpHealthCheck(url: string, timeoutMs = 2_000): DependencyCheck {
  return {
    name: 'rabbitmq',
    async check() {
      const connection = await connectAmqp(url, { name: 'orderflow-health', timeoutMs });
      await connection.close().catch(() => undefined);
    },
  };
}
