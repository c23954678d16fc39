/**
 * Kafka and RabbitMQ plumbing shared by the apps: clients, envelopes, outbox and relay, consumers,
 * the task worker. orderflow's own names (topics, the notification task topology and retry ladder)
 * are contract and live in libs/domain (messaging-contract.ts); everything here takes them as input.
 */

/** Kafka client factory, topic creation, idempotent producer and readiness check. */
export {
  createKafka,
  ensureTopics,
  createIdempotentProducer,
  kafkaConnection,
  kafkaHealthCheck,
  type KafkaConnection,
  type KafkaOptions,
  type EnsureTopicsOptions,
} from './kafka';
/** CloudEvent <-> Kafka message (structured mode, traceparent header). */
export { CLOUDEVENTS_CONTENT_TYPE, decodeCloudEvent, headerValue, type DecodedEvent } from './event-codec';
/** RabbitMQ: declaring a task topology (exchange, work, retry and dead-letter queues), connection and readiness check. */
export { declareTaskTopology, connectAmqp, amqpHealthCheck, type ConnectAmqpOptions } from './rabbit';
/** Transactional outbox: an OutboxWriter writes messages with the change they describe (a statement or a transaction); the relay publishes them in order. */
export {
  factMessage,
  purgePublishedOutbox,
  outboxPendingCondition,
  outboxBacklog,
  outboxStatus,
  OUTBOX_CHANNEL,
  type OutboxMessage,
  type OutboxRecord,
  type OutboxDestination,
  type OutboxGuard,
} from './outbox';
export { createOutboxRelay, type OutboxRelay, type OutboxRelayOptions } from './outbox-relay';
export {
  createOutboxWriter,
  notifyingOutboxWriter,
  type OutboxInTransaction,
  type OutboxParts,
  type OutboxStatementBuilder,
  type OutboxWriter,
} from './outbox-writer';
/** Broker publishers the relay hands batches to. */
export { kafkaOutboxPublisher, kafkaMessageOf, createRabbitPublisher, ATTEMPT_HEADER, type RabbitPublisher } from './publishers';
/** Kafka consumer-group member with in-place retry and dead-lettering. */
export { createEventConsumer, FETCH_WAIT_MS, type EventConsumer, type EventConsumerOptions } from './event-consumer';
export {
  createTaskWorker,
  permanentTaskError,
  deferredTaskError,
  type TaskWorker,
  type TaskWorkerOptions,
  type TaskWorkerSettings,
  type SingleTaskHandler,
  type BatchTaskHandler,
  type TaskBatch,
  type TaskFailure,
} from './task-worker';
/** Scrape-time gauges: outbox backlog and age, Kafka consumer lag, RabbitMQ queue depth. */
export { registerOutboxMetrics, registerConsumerLagMetrics, registerQueueDepthMetrics, type ConsumerGroupWatch } from './metrics';
