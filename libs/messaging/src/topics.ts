/** Kafka topic and consumer-group names. The prefix (RESOURCE_PREFIX) isolates test runs. */

export const ORDER_EVENTS = 'order-events';
export const INVENTORY_EVENTS = 'inventory-events';

/** The dead-letter topic beside `topic`. */
export function dlqTopic(topic: string): string {
  return `${topic}.dlq`;
}

export interface TopicNames {
  orderEvents: string;
  orderEventsDlq: string;
  inventoryEvents: string;
  inventoryEventsDlq: string;
}

/** The four topics the system creates up front, with `prefix` applied (plain concatenation). */
export function topicNames(prefix = ''): TopicNames {
  const orderEvents = `${prefix}${ORDER_EVENTS}`;
  const inventoryEvents = `${prefix}${INVENTORY_EVENTS}`;
  return { orderEvents, orderEventsDlq: dlqTopic(orderEvents), inventoryEvents, inventoryEventsDlq: dlqTopic(inventoryEvents) };
}

/** A consumer group id with `prefix` applied, e.g. `consumerGroup('orchestrator.saga', p)`. */
export function consumerGroup(name: string, prefix = ''): string {
  return `${prefix}${name}`;
}
