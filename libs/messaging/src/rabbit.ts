import amqp, { type Channel, type ChannelModel, type Options } from 'amqplib';
import type { Logger } from 'pino';
import type { TaskTopology } from '@orderflow/domain';
import type { DependencyCheck } from '@orderflow/platform';

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
 * Declares a task topology (libs/domain `taskTopology` is orderflow's; idempotent: re-declaring with
 * the same arguments is a no-op). The work queue dead-letters rejected messages and crash loops
 * (delivery limit) to the DLQ; each retry queue holds a message for its TTL, then dead-letters it
 * back to the work queue.
 */
export async function declareTaskTopology(channel: Channel, t: TaskTopology): Promise<TaskTopology> {
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
