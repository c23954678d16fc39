// Builds docs/asyncapi.yaml (AsyncAPI 3.0) from the code: the Kafka topics and their facts (envelope
// and `data` schemas converted from zod), the dead-letter topics, and the RabbitMQ task topology as
// declareTaskTopology declares it (captured from a recording channel), with the task schema.
import type { Channel } from 'amqplib';
import { stringify } from 'yaml';
import { z } from 'zod';
import {
  FACT_TYPES,
  INVENTORY_EVENTS,
  NOTIFICATION_SEND,
  ORDER_EVENTS,
  cloudEventSchema,
  dlqTopic,
  notificationTaskSchema,
  taskTopology,
  traceparentSchema,
  type FactType,
} from '@orderflow/domain';
import { ATTEMPT_HEADER, CLOUDEVENTS_CONTENT_TYPE, declareTaskTopology } from '@orderflow/messaging';
import { FACT_DATA } from './fact-data';

type Json = Record<string, unknown>;

/** Where the document lives, relative to the repository root. */
export const ASYNCAPI_PATH = 'docs/asyncapi.yaml';

/** Which topic each fact goes to, and what its Kafka key (= CloudEvents subject) is. */
const FACT_ROUTES: Record<FactType, { topic: string; key: 'order id' | 'sku' }> = {
  'order.placed': { topic: ORDER_EVENTS, key: 'order id' },
  'order.confirmed': { topic: ORDER_EVENTS, key: 'order id' },
  'order.rejected': { topic: ORDER_EVENTS, key: 'order id' },
  'order.cancelled': { topic: ORDER_EVENTS, key: 'order id' },
  'stock.reserved': { topic: INVENTORY_EVENTS, key: 'order id' },
  'stock.released': { topic: INVENTORY_EVENTS, key: 'order id' },
  'stock.adjusted': { topic: INVENTORY_EVENTS, key: 'sku' },
};

/**
 * Headers event-consumer.ts adds when it moves a message to `<topic>.dlq` (beside the original ones).
 * asyncapi.test.ts dead-letters a message through the real consumer and compares the names.
 */
export const KAFKA_DEAD_LETTER_HEADERS: Record<string, string> = {
  'x-error': 'Why the message failed (at most 2,000 characters); `undecodable: …` when it is not a valid CloudEvent.',
  'x-attempts': 'How many times the handler ran (1 for an undecodable message).',
  'x-original-topic': 'The topic the message was consumed from.',
  'x-original-partition': 'Its partition there.',
  'x-original-offset': 'Its offset there.',
  'x-failed-at': 'When it was dead-lettered (ISO 8601).',
};

/** Headers task-worker.ts sets on the copy it re-publishes after a failed delivery. */
const TASK_RETRY_HEADERS: Record<string, string> = {
  'x-last-error': 'Why the latest delivery failed (at most 1,000 characters).',
  'x-first-failed-at': 'When the first delivery failed (ISO 8601).',
  'x-last-failed-at': 'When the latest delivery failed (ISO 8601).',
};
/** Headers task-worker.ts adds when the copy goes to the dead-letter queue. */
const TASK_DEAD_LETTER_HEADERS: Record<string, string> = {
  'x-error': 'Why the task was given up on (the last error).',
  'x-attempts': 'Deliveries made (the failed attempt number).',
};

/** zod → JSON Schema (draft-07, which AsyncAPI schemas extend), inlined, without the `$schema` key. */
function jsonSchemaOf(schema: z.ZodType): Json {
  const { $schema: _, ...json } = z.toJSONSchema(schema, { target: 'draft-7', io: 'input', reused: 'inline', unrepresentable: 'any' }) as Json;
  return json;
}

const ENVELOPE_DESCRIPTIONS: Record<string, string> = {
  specversion: 'CloudEvents version.',
  id: 'Unique per fact; consumers de-duplicate on it.',
  source: 'The producing app: `/orderflow/orchestrator` or `/orderflow/inventory`.',
  type: 'The fact type.',
  time: 'When the fact happened (RFC 3339).',
  subject: 'What the fact is about: the order id or the sku; also the Kafka message key.',
  datacontenttype: 'Content type of `data`.',
  data: 'The fact itself; its schema depends on `type`.',
  traceparent: 'W3C trace context of the request that caused the fact (CloudEvents distributed-tracing extension); also a Kafka header.',
};

/** The CloudEvents 1.0 envelope, from libs/domain's `cloudEventSchema`, with each attribute described. */
function envelopeSchema(): Json {
  const schema = jsonSchemaOf(cloudEventSchema);
  const properties = schema.properties as Record<string, Json>;
  for (const [name, description] of Object.entries(ENVELOPE_DESCRIPTIONS)) {
    if (!properties[name]) throw new Error(`the envelope schema has no attribute "${name}"`);
    properties[name] = { ...properties[name], description };
  }
  return { ...schema, description: 'A CloudEvents 1.0 envelope in structured mode: the whole event is the JSON message value.' };
}

/** Message and schema ids: the fact type itself (`order.placed`). */
const ref = (kind: 'schemas' | 'messages' | 'messageTraits', id: string) => ({ $ref: `#/components/${kind}/${id}` });
const camel = (text: string) => text.replace(/[.-](\w)/g, (_, c: string) => c.toUpperCase());

const stringHeader = (description: string, extra: Json = {}): Json => ({ type: 'string', description, ...extra });
const traceparentHeader = () =>
  stringHeader('W3C trace context (https://www.w3.org/TR/trace-context/); present when the fact or task was caused inside a trace.', {
    pattern: jsonSchemaOf(traceparentSchema).pattern,
  });

interface Declared {
  exchanges: { name: string; type: string; options: Json }[];
  queues: { name: string; options: { durable?: boolean; arguments?: Json } }[];
  bindings: { queue: string; exchange: string; routingKey: string }[];
}

/** What declareTaskTopology declares, recorded from a channel that only takes notes. */
export async function declaredTaskTopology(): Promise<Declared> {
  const declared: Declared = { exchanges: [], queues: [], bindings: [] };
  const channel = {
    assertExchange: async (name: string, type: string, options: Json) => void declared.exchanges.push({ name, type, options }),
    assertQueue: async (name: string, options: Declared['queues'][number]['options']) => void declared.queues.push({ name, options }),
    bindQueue: async (queue: string, exchange: string, routingKey: string) => void declared.bindings.push({ queue, exchange, routingKey }),
  };
  await declareTaskTopology(channel as unknown as Channel, taskTopology());
  return declared;
}

/** The AsyncAPI 3.0 document as a plain object. */
export async function asyncApiDocument(): Promise<Json> {
  const topology = await declaredTaskTopology();
  const [exchange] = topology.exchanges;
  if (!exchange || topology.exchanges.length !== 1) throw new Error('expected declareTaskTopology to declare exactly one exchange');
  const bindingOf = (queue: string) => {
    const binding = topology.bindings.find((b) => b.queue === queue);
    if (!binding) throw new Error(`queue ${queue} is not bound`);
    return binding;
  };
  const workQueue = NOTIFICATION_SEND;
  const retryQueues = topology.queues.filter((q) => q.options.arguments?.['x-message-ttl'] !== undefined);
  const dlqQueue = `${NOTIFICATION_SEND}.dlq`;
  if (!topology.queues.some((q) => q.name === workQueue) || !topology.queues.some((q) => q.name === dlqQueue))
    throw new Error('the task topology changed: update tools/asyncapi');

  const kafkaServer = [{ $ref: '#/servers/kafka' }];
  const amqpServer = [{ $ref: '#/servers/rabbitmq' }];
  const amqpExchange = { name: exchange.name, type: exchange.type, durable: exchange.options.durable === true, autoDelete: false, vhost: '/' };

  // --- Kafka: facts
  const schemas: Json = { CloudEvent: envelopeSchema() };
  const messages: Json = {};
  for (const type of FACT_TYPES) {
    const data = FACT_DATA[type];
    const { key, topic } = FACT_ROUTES[type];
    schemas[`${type}.data`] = jsonSchemaOf(data);
    messages[type] = {
      name: type,
      title: `${type} fact`,
      summary: data.description,
      contentType: CLOUDEVENTS_CONTENT_TYPE,
      traits: [ref('messageTraits', 'KafkaFact')],
      payload: {
        allOf: [
          ref('schemas', 'CloudEvent'),
          {
            type: 'object',
            required: ['type', 'subject', 'data'],
            properties: { type: { const: type }, subject: { description: `The ${key}.` }, data: ref('schemas', `${type}.data`) },
          },
        ],
      },
      bindings: {
        kafka: {
          key: {
            type: 'string',
            description: `The ${key} (the envelope's subject), so one ${key === 'sku' ? "sku's" : "order's"} facts keep their order on ${topic}.`,
          },
          bindingVersion: '0.5.0',
        },
      },
    };
  }
  messages.KafkaDeadLetter = {
    name: 'dead-letter',
    title: 'Dead-lettered Kafka message',
    summary: 'A message its consumer could not decode or handle within its attempts, copied byte for byte.',
    description:
      "Key, value and headers are the original message's (so normally one of the topic's CloudEvents, but an undecodable value is dead-lettered as it is); the `x-…` headers say why and where it came from. The orchestrator indexes every letter (`GET /v1/admin/dead-letters`) and can replay it to the original topic once (`POST /v1/admin/dead-letters/{id}/replay`).",
    headers: {
      type: 'object',
      required: Object.keys(KAFKA_DEAD_LETTER_HEADERS),
      properties: {
        ...Object.fromEntries(Object.entries(KAFKA_DEAD_LETTER_HEADERS).map(([name, description]) => [name, stringHeader(description)])),
        traceparent: traceparentHeader(),
      },
    },
    payload: { description: 'The original message value, unchanged.' },
    bindings: { kafka: { key: { type: 'string', description: "The original message's key." }, bindingVersion: '0.5.0' } },
  };

  // --- RabbitMQ: tasks
  schemas[NOTIFICATION_SEND] = {
    ...jsonSchemaOf(notificationTaskSchema),
    description: 'Everything the e-mail needs, so the worker never calls back (libs/domain `notificationTaskSchema`).',
  };
  const taskHeaders = (extra: Record<string, string>, required: string[]) => ({
    type: 'object',
    required: [ATTEMPT_HEADER, ...required],
    properties: {
      [ATTEMPT_HEADER]: { type: 'integer', minimum: 1, description: 'Which delivery this is: 1 when first published, +1 on each re-publish after a failure.' },
      traceparent: traceparentHeader(),
      ...Object.fromEntries(Object.entries(extra).map(([name, description]) => [name, stringHeader(description)])),
    },
  });
  const amqpProperties = {
    message_id: 'The task id (UUID); the worker de-duplicates on it.',
    correlation_id: 'The order id.',
    content_type: 'application/json',
    delivery_mode: '2 (persistent)',
  };
  const taskMessage = (name: string, title: string, summary: string, headers: Json) => ({
    name,
    title,
    summary,
    contentType: 'application/json',
    headers,
    payload: ref('schemas', NOTIFICATION_SEND),
    'x-amqp-properties': amqpProperties,
    bindings: { amqp: { messageType: NOTIFICATION_SEND, bindingVersion: '0.3.0' } },
  });
  messages.NotificationTask = taskMessage(
    NOTIFICATION_SEND,
    'E-mail task',
    'Send the e-mail about an order that ended (confirmed, rejected or cancelled).',
    taskHeaders({}, []),
  );
  messages.NotificationTaskRetry = taskMessage(
    `${NOTIFICATION_SEND}.retry`,
    'E-mail task, retried',
    'The task re-published after a failed delivery: same body and properties, attempt + 1.',
    taskHeaders(TASK_RETRY_HEADERS, Object.keys(TASK_RETRY_HEADERS)),
  );
  messages.NotificationTaskDeadLetter = {
    ...taskMessage(
      `${NOTIFICATION_SEND}.dead-letter`,
      'E-mail task, dead-lettered',
      'A task given up on: after its last retry, or at once when it can never succeed (invalid body, SMTP 5xx).',
      // Not required: the broker dead-letters a task past the work queue's `x-delivery-limit` (a crash loop) without them.
      taskHeaders({ ...TASK_RETRY_HEADERS, ...TASK_DEAD_LETTER_HEADERS }, []),
    ),
    description:
      "The worker sets the `x-error`/`x-last-error` headers when it gives up on a task; a task the broker dead-letters past the work queue's `x-delivery-limit` (a consumer crash loop) carries the broker's `x-death` header instead. The body is the original bytes, which need not match the schema when that is why it was dead-lettered. The orchestrator indexes every letter and can replay it to `notification.send` once.",
  };

  // --- Channels
  const channels: Json = {};
  const operations: Json = {};
  const factsOn = (topic: string) => FACT_TYPES.filter((t) => FACT_ROUTES[t].topic === topic);
  for (const [id, topic, description] of [
    ['orderEvents', ORDER_EVENTS, "Facts about orders, written by the orchestrator's outbox. Key: the order id."],
    [
      'inventoryEvents',
      INVENTORY_EVENTS,
      "Facts about stock, written by the inventory service's outbox. Key: the order id (reserved, released) or the sku (adjusted).",
    ],
  ] as const) {
    channels[id] = {
      address: topic,
      title: topic,
      description,
      servers: kafkaServer,
      messages: Object.fromEntries(factsOn(topic).map((t) => [t, ref('messages', t)])),
      bindings: { kafka: { topic, bindingVersion: '0.5.0' } },
    };
    channels[`${id}Dlq`] = {
      address: dlqTopic(topic),
      title: dlqTopic(topic),
      description: `Messages from ${topic} that a consumer could not decode, or could not handle within its attempts (5 by default, retried in place with backoff).`,
      servers: kafkaServer,
      messages: { KafkaDeadLetter: ref('messages', 'KafkaDeadLetter') },
      bindings: { kafka: { topic: dlqTopic(topic), bindingVersion: '0.5.0' } },
    };
  }
  const routingKeyChannel = (queue: string, description: string, messageIds: string[]) => ({
    address: bindingOf(queue).routingKey,
    title: `${exchange.name} → ${bindingOf(queue).routingKey}`,
    description,
    servers: amqpServer,
    messages: Object.fromEntries(messageIds.map((m) => [m, ref('messages', m)])),
    bindings: { amqp: { is: 'routingKey', exchange: amqpExchange, bindingVersion: '0.3.0' } },
  });
  const queueChannel = (queue: string, description: string, messageIds: string[]) => {
    const declared = topology.queues.find((q) => q.name === queue)!;
    return {
      address: queue,
      title: `queue ${queue}`,
      description,
      servers: amqpServer,
      messages: Object.fromEntries(messageIds.map((m) => [m, ref('messages', m)])),
      bindings: {
        amqp: {
          is: 'queue',
          queue: { name: queue, durable: declared.options.durable === true, exclusive: false, autoDelete: false, vhost: '/' },
          bindingVersion: '0.3.0',
        },
      },
      'x-queue-arguments': declared.options.arguments ?? {},
      'x-bound-to': { exchange: exchange.name, routingKey: bindingOf(queue).routingKey },
    };
  };
  const retriedTo = (n: number) => `${NOTIFICATION_SEND}.retry.${n}`;
  channels.tasksNotificationSend = routingKeyChannel(
    workQueue,
    `Publishing with routing key ${NOTIFICATION_SEND} on the ${exchange.name} exchange puts a task in the ${workQueue} queue; expired retries come back this way too.`,
    ['NotificationTask', 'NotificationTaskRetry'],
  );
  channels.queueNotificationSend = queueChannel(
    workQueue,
    `The work queue the notification worker consumes (manual acks). Rejected messages and crash loops (past \`x-delivery-limit\`) dead-letter to ${dlqQueue}.`,
    ['NotificationTask', 'NotificationTaskRetry'],
  );
  retryQueues.forEach((queue, i) => {
    const ttl = Number(queue.options.arguments?.['x-message-ttl']);
    const id = camel(`retry.${i + 1}`).replace(/^r/, 'R');
    channels[`tasksNotificationSend${id}`] = routingKeyChannel(queue.name, `Where the worker re-publishes a task whose delivery ${i + 1} failed.`, [
      'NotificationTaskRetry',
    ]);
    channels[`queueNotificationSend${id}`] = queueChannel(
      queue.name,
      `Holds a task for ${ttl / 1000} s (message TTL), then dead-letters it back to ${exchange.name} with routing key ${NOTIFICATION_SEND} for delivery ${i + 2}. Nobody consumes it.`,
      ['NotificationTaskRetry'],
    );
  });
  channels.tasksNotificationSendDlq = routingKeyChannel(
    dlqQueue,
    `Where the worker re-publishes a task after delivery ${retryQueues.length + 1} failed, or at once on a permanent failure.`,
    ['NotificationTaskDeadLetter'],
  );
  channels.queueNotificationSendDlq = queueChannel(dlqQueue, "Dead-lettered tasks, read by the orchestrator's dead-letter collector.", [
    'NotificationTaskDeadLetter',
  ]);

  // --- Operations
  const op = (action: 'send' | 'receive', channel: string, title: string, description: string, messageIds?: string[], bindings?: Json) => ({
    action,
    channel: { $ref: `#/channels/${channel}` },
    title,
    description,
    ...(messageIds ? { messages: messageIds.map((m) => ({ $ref: `#/channels/${channel}/messages/${m}` })) } : {}),
    ...(bindings ? { bindings } : {}),
  });
  const orderFacts = factsOn(ORDER_EVENTS);
  const stockFacts = factsOn(INVENTORY_EVENTS);
  operations.publishOrderFacts = op(
    'send',
    'orderEvents',
    'orchestrator records order facts',
    'The outbox relay publishes each fact committed with the saga (idempotent producer, acks=all), in commit order per order.',
    orderFacts,
  );
  operations.publishStockFacts = op(
    'send',
    'inventoryEvents',
    'inventory records stock facts',
    'The outbox relay publishes each fact committed with the stock change (idempotent producer, acks=all).',
    stockFacts,
  );
  operations.consumeOrderFacts = op(
    'receive',
    'orderEvents',
    'orchestrator.saga',
    'Consumer group `orchestrator.saga`: starts the saga of an `order.placed` this process did not start; other facts are skipped.',
    orderFacts,
  );
  operations.consumeStockFacts = op(
    'receive',
    'inventoryEvents',
    'orchestrator.catalog',
    'Consumer group `orchestrator.catalog`: invalidates the cached products a stock fact touches.',
    stockFacts,
  );
  for (const [id, topic] of [
    ['OrderEvents', ORDER_EVENTS],
    ['InventoryEvents', INVENTORY_EVENTS],
  ] as const) {
    const channel = `${id[0]!.toLowerCase()}${id.slice(1)}Dlq`;
    operations[`deadLetter${id}`] = op(
      'send',
      channel,
      `dead-letter from ${topic}`,
      'Every consumer of the topic (libs/messaging `createEventConsumer`) moves a message here when it gives up on it, then moves on.',
      ['KafkaDeadLetter'],
    );
    operations[`collect${id}DeadLetters`] = op(
      'receive',
      channel,
      'orchestrator.dead-letters',
      "Consumer group `orchestrator.dead-letters`: records each letter in the orchestrator's `dead_letters` table.",
      ['KafkaDeadLetter'],
    );
  }
  const persistent = { amqp: { deliveryMode: 2, mandatory: true, bindingVersion: '0.3.0' } };
  operations.sendNotificationTask = op(
    'send',
    'tasksNotificationSend',
    'orchestrator hands an e-mail to the notification worker',
    "The outbox relay publishes one task per ended saga, persistent and `mandatory`, and waits for the broker's confirms.",
    ['NotificationTask'],
    persistent,
  );
  operations.consumeNotificationTask = op(
    'receive',
    'queueNotificationSend',
    'notification worker sends the e-mail',
    'Manual acks; a failed task is re-published (confirmed) to the next retry queue or the DLQ before the original is acked. A task whose e-mail-log database is down is requeued without spending a retry.',
    ['NotificationTask', 'NotificationTaskRetry'],
    { amqp: { ack: true, bindingVersion: '0.3.0' } },
  );
  retryQueues.forEach((queue, i) => {
    const id = camel(`retry.${i + 1}`).replace(/^r/, 'R');
    operations[`scheduleNotificationTask${id}`] = op(
      'send',
      `tasksNotificationSend${id}`,
      `retry ${i + 1} of a failed task`,
      `After delivery ${i + 1} failed: ${retriedTo(i + 1)} (${Number(queue.options.arguments?.['x-message-ttl']) / 1000} s).`,
      ['NotificationTaskRetry'],
      persistent,
    );
  });
  operations.deadLetterNotificationTask = op(
    'send',
    'tasksNotificationSendDlq',
    'give up on a task',
    'After the last retry, or at once when the failure is permanent.',
    ['NotificationTaskDeadLetter'],
    persistent,
  );
  operations.collectNotificationDeadLetters = op(
    'receive',
    'queueNotificationSendDlq',
    'orchestrator dead-letter collector',
    "Records each dead-lettered task in the orchestrator's `dead_letters` table; requeues on failure.",
    ['NotificationTaskDeadLetter'],
    { amqp: { ack: true, bindingVersion: '0.3.0' } },
  );

  return {
    asyncapi: '3.0.0',
    info: {
      title: 'orderflow events and tasks',
      version: '1.0.0',
      description: [
        'The asynchronous contracts of orderflow: business facts on Kafka and e-mail tasks on RabbitMQ.',
        '',
        '* Every Kafka message is a CloudEvents 1.0 event in structured mode (`content-type: ' +
          CLOUDEVENTS_CONTENT_TYPE +
          '`), keyed by its subject, with the W3C `traceparent` header when traced. Delivery is at least once: consumers de-duplicate on the event `id`.',
        `* RabbitMQ tasks go through the durable direct exchange \`${exchange.name}\`; a failed delivery climbs a retry ladder of TTL queues and ends in \`${dlqQueue}\`.`,
        '* Deployments may set `RESOURCE_PREFIX`, which is prepended (plain concatenation) to every topic, consumer group, exchange and queue name; routing keys are not prefixed. The names here are unprefixed.',
        '',
        'Generated from the code by `make asyncapi` (tools/asyncapi); do not edit by hand.',
      ].join('\n'),
    },
    defaultContentType: 'application/json',
    servers: {
      kafka: { host: '127.0.0.1:9092', protocol: 'kafka', description: 'Local development broker (`KAFKA_BROKERS`).' },
      rabbitmq: { host: '127.0.0.1:5672', protocol: 'amqp', protocolVersion: '0.9.1', description: 'Local development broker (`AMQP_URL`).' },
    },
    channels,
    operations,
    components: {
      schemas,
      messages,
      messageTraits: {
        KafkaFact: {
          contentType: CLOUDEVENTS_CONTENT_TYPE,
          headers: {
            type: 'object',
            required: ['content-type'],
            properties: {
              'content-type': { type: 'string', const: CLOUDEVENTS_CONTENT_TYPE, description: 'Structured-mode CloudEvent (CloudEvents Kafka binding).' },
              traceparent: traceparentHeader(),
            },
          },
        },
      },
    },
  };
}

/** The document as committed: a header comment, then YAML. */
export async function asyncApiYaml(): Promise<string> {
  const header = '# Generated by tools/asyncapi from libs/domain and libs/messaging: run `make asyncapi` after changing them. Do not edit.\n';
  return header + stringify(await asyncApiDocument(), { lineWidth: 0, aliasDuplicateObjects: false });
}
