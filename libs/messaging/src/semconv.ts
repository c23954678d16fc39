import type { ConsumeMessage } from 'amqplib';
import type { KafkaMessage } from 'kafkajs';
import type { Attributes } from '@opentelemetry/api';
import type { ProducedMessage } from '@orderflow/platform';
import type { OutboxRecord } from './outbox';

// Span names and attributes of the OpenTelemetry messaging semantic conventions (messaging spans,
// Kafka, RabbitMQ). The names are those of @opentelemetry/semantic-conventions/incubating (ATTR_…),
// written out here: incubating names may change in a minor release, and the strings are the contract.
const SYSTEM = 'messaging.system';
const OPERATION_NAME = 'messaging.operation.name';
const OPERATION_TYPE = 'messaging.operation.type';
const DESTINATION_NAME = 'messaging.destination.name';
const CONSUMER_GROUP_NAME = 'messaging.consumer.group.name';
const MESSAGE_ID = 'messaging.message.id';
const PARTITION_ID = 'messaging.destination.partition.id';
const KAFKA_MESSAGE_KEY = 'messaging.kafka.message.key';
const KAFKA_OFFSET = 'messaging.kafka.offset';
const RABBITMQ_ROUTING_KEY = 'messaging.rabbitmq.destination.routing_key';
const RABBITMQ_DELIVERY_TAG = 'messaging.rabbitmq.message.delivery_tag';

/** Fixed attributes of a Kafka consumer's `process <topic>` spans (made once per consumer). */
export function kafkaProcessAttributes(groupId: string): Attributes {
  return { [SYSTEM]: 'kafka', [OPERATION_NAME]: 'process', [OPERATION_TYPE]: 'process', [CONSUMER_GROUP_NAME]: groupId };
}

/** Per-message attributes of a `process <topic>` span: only computed while the span is recorded. */
export function kafkaMessageAttributes(topic: string, partition: number, message: KafkaMessage, messageId: string): Attributes {
  return {
    [DESTINATION_NAME]: topic,
    [PARTITION_ID]: String(partition),
    [KAFKA_OFFSET]: Number(message.offset),
    [MESSAGE_ID]: messageId,
    ...(message.key ? { [KAFKA_MESSAGE_KEY]: message.key.toString() } : {}),
  };
}

/** The `send <topic>` span of an outbox row published to Kafka. */
export function kafkaSend(record: OutboxRecord): ProducedMessage {
  return {
    name: `send ${record.topic}`,
    traceparent: record.headers.traceparent,
    attributes: {
      [SYSTEM]: 'kafka',
      [OPERATION_NAME]: 'send',
      [OPERATION_TYPE]: 'send',
      [DESTINATION_NAME]: record.topic,
      [MESSAGE_ID]: record.messageId,
      [KAFKA_MESSAGE_KEY]: record.key,
    },
  };
}

/**
 * RabbitMQ's destination name: `{exchange}:{routing key}` on the producer side, `…:{queue}` added on
 * the consumer side; an empty part is left out, and a queue named as its routing key is not repeated.
 */
function rabbitDestination(exchange: string, routingKey: string, queue?: string): string {
  return [exchange, routingKey, queue === routingKey ? '' : queue].filter(Boolean).join(':');
}

/** The `send <exchange>:<routing key>` span of an outbox row published to RabbitMQ. */
export function rabbitSend(exchange: string, record: OutboxRecord): ProducedMessage {
  const destination = rabbitDestination(exchange, record.topic);
  return {
    name: `send ${destination}`,
    traceparent: record.headers.traceparent,
    attributes: {
      [SYSTEM]: 'rabbitmq',
      [OPERATION_NAME]: 'send',
      [OPERATION_TYPE]: 'send',
      [DESTINATION_NAME]: destination,
      [RABBITMQ_ROUTING_KEY]: record.topic,
      [MESSAGE_ID]: record.messageId,
    },
  };
}

/** Fixed attributes of the task worker's `process <queue>` spans. */
export const RABBIT_PROCESS_ATTRIBUTES: Attributes = Object.freeze({ [SYSTEM]: 'rabbitmq', [OPERATION_NAME]: 'process', [OPERATION_TYPE]: 'process' });

/** Per-delivery attributes of a `process <queue>` span: only computed while the span is recorded. */
export function rabbitDeliveryAttributes(queue: string, message: ConsumeMessage): Attributes {
  const { exchange, routingKey, deliveryTag } = message.fields;
  return {
    [DESTINATION_NAME]: rabbitDestination(exchange, routingKey, queue),
    [RABBITMQ_ROUTING_KEY]: routingKey,
    [RABBITMQ_DELIVERY_TAG]: deliveryTag,
    ...(message.properties.messageId ? { [MESSAGE_ID]: String(message.properties.messageId) } : {}),
  };
}
