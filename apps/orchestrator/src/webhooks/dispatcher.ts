import type { Kafka, Producer } from 'kafkajs';
import type { Logger } from 'pino';
import { createEventConsumer, type EventConsumer } from '@orderflow/messaging';
import { isTransientInfrastructureError } from '@orderflow/platform';
import type { WebhookRepository } from './webhook-repository';

export interface DispatcherOptions {
  kafka: Kafka;
  producer: Producer;
  /** Its consumer group (`orchestrator.webhooks`). */
  groupId: string;
  /** The fact topics: order-events and inventory-events. */
  topics: string[];
  repo: WebhookRepository;
  logger: Logger;
  onEnqueued?(deliveries: number): void;
}

/**
 * Turns facts into deliveries: for each fact, one statement inserts a delivery per enabled matching
 * subscription and its `webhook.deliver` task in the outbox. Idempotent on (subscription, event id),
 * so a redelivered fact adds nothing; a subscription created after a fact was consumed does not get it.
 */
export function createWebhookDispatcher(options: DispatcherOptions): EventConsumer {
  return createEventConsumer({
    kafka: options.kafka,
    groupId: options.groupId,
    topics: options.topics,
    producer: options.producer,
    logger: options.logger,
    // It reads every fact and most match no subscription: 64 KiB per fetch (or whatever a second brings)
    // instead of a fetch per fact; a webhook waits at most a second more for it.
    fetchMinBytes: 64 * 1024,
    // The saga and catalog consumers own these topics' poison messages (they dead-letter them); a
    // database outage waits here instead of dead-lettering facts that are fine.
    onUndecodable: 'skip',
    isOutage: isTransientInfrastructureError,
    handle: async (event) => {
      const tasks = await options.repo.enqueueFact(event);
      if (tasks.length) options.onEnqueued?.(tasks.length);
    },
  });
}
