/**
 * orderflow's messaging contract: the Kafka topics and consumer-group names, and the RabbitMQ task
 * topology with its retry ladder. Names only, no I/O: libs/messaging declares and uses whatever it
 * is given; this file is what changes when the contract does. The prefix (RESOURCE_PREFIX) isolates
 * deployments and test runs (plain concatenation).
 */

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

/** The four topics the system creates up front, with `prefix` applied. */
export function topicNames(prefix = ''): TopicNames {
  const orderEvents = `${prefix}${ORDER_EVENTS}`;
  const inventoryEvents = `${prefix}${INVENTORY_EVENTS}`;
  return { orderEvents, orderEventsDlq: dlqTopic(orderEvents), inventoryEvents, inventoryEventsDlq: dlqTopic(inventoryEvents) };
}

/** A consumer group id with `prefix` applied, e.g. `consumerGroup('orchestrator.saga', p)`. */
export function consumerGroup(name: string, prefix = ''): string {
  return `${prefix}${name}`;
}

/** Routing keys are fixed contract names; exchange and queue names carry the resource prefix. */
export const NOTIFICATION_SEND = 'notification.send';
/** Webhook deliveries (one task per fact per subscription), on the same exchange and retry ladder as e-mails. */
export const WEBHOOK_DELIVER = 'webhook.deliver';
/** The task queues, by routing key: each has its own topology (`taskTopology(prefix, name)`). */
export const TASK_QUEUES = [NOTIFICATION_SEND, WEBHOOK_DELIVER] as const;
export type TaskQueue = (typeof TASK_QUEUES)[number];
/** Delay before retry 1, 2 and 3 of a task (the `<queue>.retry.N` queues' TTLs). */
export const RETRY_DELAYS_MS = [1_000, 4_000, 16_000] as const;

/** A task queue with its retry ladder and dead-letter queue, all bound to one direct exchange. */
export interface TaskTopology {
  exchange: string;
  queue: string;
  routingKey: string;
  retryQueues: { name: string; routingKey: string; ttlMs: number }[];
  dlq: { name: string; routingKey: string };
}

/**
 * The topology of a task queue (`notification.send` unless `name` says otherwise). Retry and DLQ
 * queues are bound to the `tasks` exchange under their own routing keys, so a worker publishes every
 * hop (retry N, dead letter) to one exchange with confirms and `mandatory`, and never needs the
 * prefixed queue names. Expired retries dead-letter back to `tasks` with the queue's routing key.
 */
export function taskTopology(prefix = '', name: TaskQueue = NOTIFICATION_SEND): TaskTopology {
  const queue = `${prefix}${name}`;
  return {
    exchange: `${prefix}tasks`,
    queue,
    routingKey: name,
    retryQueues: RETRY_DELAYS_MS.map((ttlMs, i) => ({ name: `${queue}.retry.${i + 1}`, routingKey: `${name}.retry.${i + 1}`, ttlMs })),
    dlq: { name: `${queue}.dlq`, routingKey: `${name}.dlq` },
  };
}

/** Where a task of `topology` goes after its `attempt`-th delivery (1-based) failed: the next retry queue, then the DLQ. */
export function failureRoutingKey(topology: TaskTopology, attempt: number): string {
  return attempt >= 1 && attempt <= topology.retryQueues.length ? topology.retryQueues[attempt - 1]!.routingKey : topology.dlq.routingKey;
}
