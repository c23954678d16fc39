// Builds docs/asyncapi.yaml (AsyncAPI 3.0) from the code: the Kafka topics and their facts (envelope
// and `data` schemas converted from zod), the dead-letter topics, and each RabbitMQ task ladder
// (`notification.send`, `webhook.deliver`) as declareTaskTopology declares it (captured from a
// recording channel), with its task schema.
import type { Channel } from 'amqplib';
import { stringify } from 'yaml';
import { z } from 'zod';
import {
  FACT_TYPES,
  INVENTORY_EVENTS,
  NOTIFICATION_SEND,
  ORDER_EVENTS,
  WEBHOOK_DELIVER,
  cloudEventSchema,
  dlqTopic,
  notificationTaskSchema,
  taskTopology,
  traceparentSchema,
  type FactType,
  type TaskQueue,
  type TaskTopology,
} from '@orderflow/domain';
import { ATTEMPT_HEADER, CLOUDEVENTS_CONTENT_TYPE, declareTaskTopology } from '@orderflow/messaging';
import { deliveryTaskSchema } from '../../apps/orchestrator/src/webhooks/delivery-task';
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

/** What declareTaskTopology declares for `topology` (default `notification.send`'s), recorded from a channel that only takes notes. */
export async function declaredTaskTopology(topology: TaskTopology = taskTopology()): Promise<Declared> {
  const declared: Declared = { exchanges: [], queues: [], bindings: [] };
  const channel = {
    assertExchange: async (name: string, type: string, options: Json) => void declared.exchanges.push({ name, type, options }),
    assertQueue: async (name: string, options: Declared['queues'][number]['options']) => void declared.queues.push({ name, options }),
    bindQueue: async (queue: string, exchange: string, routingKey: string) => void declared.bindings.push({ queue, exchange, routingKey }),
  };
  await declareTaskTopology(channel as unknown as Channel, topology);
  return declared;
}

/** An operation on `channel`, with the messages of that channel it sends or receives. */
const op = (action: 'send' | 'receive', channel: string, title: string, description: string, messageIds?: string[], bindings?: Json) => ({
  action,
  channel: { $ref: `#/channels/${channel}` },
  title,
  description,
  ...(messageIds ? { messages: messageIds.map((m) => ({ $ref: `#/channels/${channel}/messages/${m}` })) } : {}),
  ...(bindings ? { bindings } : {}),
});

/** What the document says about one task ladder beyond what its topology and body schema show. */
interface TaskLadder {
  /** The task queue: its routing key, and its queue's name (unprefixed). */
  name: TaskQueue;
  /** Id of its task message (`NotificationTask`); `<id>Retry` and `<id>DeadLetter` are the others, and its operations are named after it. */
  messageId: string;
  /** The task body, as the code validates it. */
  schema: z.ZodType;
  schemaDescription: string;
  /** Descriptions of the body's top-level fields. */
  fieldDescriptions?: Record<string, string>;
  /** The task message's title (`E-mail task`) and summary. */
  title: string;
  summary: string;
  /** What the AMQP message_id and correlation_id properties carry. */
  messageIdProperty: string;
  correlationIdProperty: string;
  /** The failures dead-lettered at once, without retries. */
  permanentFailures: string;
  /** Who consumes the work queue. */
  worker: string;
  /** What a task is called in operation titles. */
  noun: string;
  send: { title: string; description: string };
  consume: { title: string; description: string };
  /**
   * When the worker also defers tasks (libs/messaging `deferredTaskError`: through the first retry
   * queue, attempt count and failure headers unchanged): which ones, e.g. `over …`.
   */
  deferral?: string;
}

const NOTIFICATION_LADDER: TaskLadder = {
  name: NOTIFICATION_SEND,
  messageId: 'NotificationTask',
  schema: notificationTaskSchema,
  schemaDescription: 'Everything the e-mail needs, so the worker never calls back (libs/domain `notificationTaskSchema`).',
  title: 'E-mail task',
  summary: 'Send the e-mail about an order that ended (confirmed, rejected or cancelled).',
  messageIdProperty: 'The task id (UUID); the worker de-duplicates on it.',
  correlationIdProperty: 'The order id.',
  permanentFailures: 'invalid body, SMTP 5xx',
  worker: 'the notification worker',
  noun: 'task',
  send: {
    title: 'orchestrator hands an e-mail to the notification worker',
    description: "The outbox relay publishes one task per ended saga, persistent and `mandatory`, and waits for the broker's confirms.",
  },
  consume: {
    title: 'notification worker sends the e-mail',
    description:
      'Manual acks; a failed task is re-published (confirmed) to the next retry queue or the DLQ before the original is acked. A task whose e-mail-log database is down is requeued without spending a retry.',
  },
};

const WEBHOOK_LADDER: TaskLadder = {
  name: WEBHOOK_DELIVER,
  messageId: 'WebhookDeliveryTask',
  schema: deliveryTaskSchema,
  schemaDescription:
    'One delivery of one event to one subscription. It carries the event, so a delivery (or a replayed dead letter) needs nothing else (apps/orchestrator/src/webhooks `deliveryTaskSchema`).',
  fieldDescriptions: {
    deliveryId: 'The delivery: its `webhook_deliveries` row, where each attempt is recorded.',
    subscriptionId: 'The subscription it goes to; its URL and secret are read at each attempt, not carried.',
    event:
      "The CloudEvent to POST: a fact from order-events or inventory-events, or a subscription's `webhook.ping` test event. The receiver gets it in structured mode (`application/cloudevents+json`), signed (Standard Webhooks), without `traceparent`.",
  },
  title: 'Webhook delivery task',
  summary: "POST one event, signed, to one subscription's URL.",
  messageIdProperty: 'The delivery id (UUID), as in the body; a task whose delivery is already delivered is acked without a POST.',
  correlationIdProperty: 'The delivery id too (the worker logs it as `deliveryId`).',
  permanentFailures: 'a body that is not JSON or not a delivery task',
  worker: "the orchestrator's webhook delivery worker",
  noun: 'delivery task',
  send: {
    title: 'orchestrator enqueues a webhook delivery',
    description:
      "The outbox relay publishes one task per delivery, persistent and `mandatory`, and waits for the broker's confirms. Deliveries and their tasks are written by the `orchestrator.webhooks` consumer group, one per enabled subscription to a fact's type (once per subscription and event), and by `POST /v1/admin/webhooks/{id}/test` (a `webhook.ping`).",
  },
  consume: {
    title: 'webhook delivery worker POSTs the event',
    description:
      'Manual acks, `WEBHOOK_CONCURRENCY` tasks in flight per process. One signed POST per task, its outcome recorded on the delivery row: a 2xx is delivered, a 410 disables the subscription (the delivery is skipped); the task of a deleted subscription or of a delivery already delivered is acked without a POST, that of a disabled subscription skipped. Any other answer, a redirect, a refused address or no answer within `WEBHOOK_TIMEOUT_MS` is re-published (confirmed) to the next retry queue or the DLQ before the original is acked. A task whose orchestrator database is down is requeued without spending a retry.',
  },
  deferral: "over its subscription's in-flight cap (`WEBHOOK_MAX_IN_FLIGHT_PER_SUBSCRIPTION` per process)",
};

/** The task ladders the document describes, in its order. */
const TASK_LADDERS = [NOTIFICATION_LADDER, WEBHOOK_LADDER];

interface LadderDescription {
  exchange: string;
  dlq: string;
  schemas: Json;
  messages: Json;
  channels: Json;
  operations: Json;
}

/**
 * One task ladder: the routing key and work queue, each retry queue, the DLQ (channels from what
 * declareTaskTopology declares for it), its body schema and messages (first delivery, retried,
 * dead-lettered), and the operations that send, consume, retry, dead-letter and collect them.
 */
async function describeTaskLadder(ladder: TaskLadder): Promise<LadderDescription> {
  const { name, messageId: task } = ladder;
  const topology = await declaredTaskTopology(taskTopology('', name));
  const [exchange] = topology.exchanges;
  if (!exchange || topology.exchanges.length !== 1) throw new Error('expected declareTaskTopology to declare exactly one exchange');
  const bindingOf = (queue: string) => {
    const binding = topology.bindings.find((b) => b.queue === queue);
    if (!binding) throw new Error(`queue ${queue} is not bound`);
    return binding;
  };
  const workQueue = name;
  const retryQueues = topology.queues.filter((q) => q.options.arguments?.['x-message-ttl'] !== undefined);
  const dlqQueue = `${name}.dlq`;
  if (!topology.queues.some((q) => q.name === workQueue) || !topology.queues.some((q) => q.name === dlqQueue))
    throw new Error(`the ${name} task topology changed: update tools/asyncapi`);
  if (ladder.deferral && !retryQueues.length) throw new Error(`${name} defers tasks through its first retry queue, and has none`);
  const amqpServer = [{ $ref: '#/servers/rabbitmq' }];
  const amqpExchange = { name: exchange.name, type: exchange.type, durable: exchange.options.durable === true, autoDelete: false, vhost: '/' };
  const ttlOf = (queue: Declared['queues'][number]) => Number(queue.options.arguments?.['x-message-ttl']) / 1000;

  // --- Body schema and messages
  const schema = jsonSchemaOf(ladder.schema);
  const fields = schema.properties as Record<string, Json>;
  for (const [field, description] of Object.entries(ladder.fieldDescriptions ?? {})) {
    if (!fields[field]) throw new Error(`the ${name} task has no field "${field}"`);
    fields[field] = { ...fields[field], description };
  }
  const schemas: Json = { [name]: { ...schema, description: ladder.schemaDescription } };
  const taskHeaders = (extra: Record<string, string>, required: string[]) => ({
    type: 'object',
    required: [ATTEMPT_HEADER, ...required],
    properties: {
      [ATTEMPT_HEADER]: { type: 'integer', minimum: 1, description: 'Which delivery this is: 1 when first published, +1 on each re-publish after a failure.' },
      traceparent: traceparentHeader(),
      // The worker sets `x-attempts` as a number (an AMQP integer field); the rest are text.
      ...Object.fromEntries(
        Object.entries(extra).map(([header, description]) => [
          header,
          header === 'x-attempts' ? { type: 'integer', minimum: 1, description } : stringHeader(description),
        ]),
      ),
    },
  });
  const amqpProperties = {
    message_id: ladder.messageIdProperty,
    correlation_id: ladder.correlationIdProperty,
    content_type: 'application/json',
    delivery_mode: '2 (persistent)',
  };
  const taskMessage = (id: string, title: string, summary: string, headers: Json) => ({
    name: id,
    title,
    summary,
    contentType: 'application/json',
    headers,
    payload: ref('schemas', name),
    'x-amqp-properties': amqpProperties,
    bindings: { amqp: { messageType: name, bindingVersion: '0.3.0' } },
  });
  const retriedTo = (n: number) => `${name}.retry.${n}`;
  const messages: Json = {
    [task]: taskMessage(name, ladder.title, ladder.summary, taskHeaders({}, [])),
    [`${task}Retry`]: taskMessage(
      `${name}.retry`,
      `${ladder.title}, retried`,
      'The task re-published after a failed delivery: same body and properties, attempt + 1.' +
        (ladder.deferral ? ` Or a task deferred ${ladder.deferral}: through ${retriedTo(1)} with its attempt and failure headers unchanged.` : ''),
      // A deferred task that never failed has no failure headers.
      taskHeaders(TASK_RETRY_HEADERS, ladder.deferral ? [] : Object.keys(TASK_RETRY_HEADERS)),
    ),
    [`${task}DeadLetter`]: {
      ...taskMessage(
        `${name}.dead-letter`,
        `${ladder.title}, dead-lettered`,
        `A task given up on: after its last retry, or at once when it can never succeed (${ladder.permanentFailures}).`,
        // Not required: the broker dead-letters a task past the work queue's `x-delivery-limit` (a crash loop) without them.
        taskHeaders({ ...TASK_RETRY_HEADERS, ...TASK_DEAD_LETTER_HEADERS }, []),
      ),
      description: `The worker sets the \`x-error\`/\`x-last-error\` headers when it gives up on a task; a task the broker dead-letters past the work queue's \`x-delivery-limit\` (a consumer crash loop) carries the broker's \`x-death\` header instead. The body is the original bytes, which need not match the schema when that is why it was dead-lettered. The orchestrator indexes every letter and can replay it to \`${name}\` once.`,
    },
  };

  // --- Channels: `tasks<Name>…` publish to the exchange with a routing key, `queue<Name>…` are the queues
  const channels: Json = {};
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
  const id = camel(name).replace(/^./, (c) => c.toUpperCase());
  const retryId = (n: number) => camel(`retry.${n}`).replace(/^r/, 'R');
  channels[`tasks${id}`] = routingKeyChannel(
    workQueue,
    `Publishing with routing key ${name} on the ${exchange.name} exchange puts a task in the ${workQueue} queue; expired retries come back this way too.`,
    [task, `${task}Retry`],
  );
  channels[`queue${id}`] = queueChannel(
    workQueue,
    `The work queue ${ladder.worker} consumes (manual acks). Rejected messages and crash loops (past \`x-delivery-limit\`) dead-letter to ${dlqQueue}.`,
    [task, `${task}Retry`],
  );
  retryQueues.forEach((queue, i) => {
    const deferred = i === 0 && ladder.deferral;
    channels[`tasks${id}${retryId(i + 1)}`] = routingKeyChannel(
      queue.name,
      `Where the worker re-publishes a task whose delivery ${i + 1} failed.` + (deferred ? ` Also where it defers a task ${ladder.deferral}.` : ''),
      [`${task}Retry`],
    );
    channels[`queue${id}${retryId(i + 1)}`] = queueChannel(
      queue.name,
      `Holds a task for ${ttlOf(queue)} s (message TTL), then dead-letters it back to ${exchange.name} with routing key ${name} for delivery ${i + 2}${deferred ? ' (a deferred task: the same delivery again)' : ''}. Nobody consumes it.`,
      [`${task}Retry`],
    );
  });
  channels[`tasks${id}Dlq`] = routingKeyChannel(
    dlqQueue,
    `Where the worker re-publishes a task after delivery ${retryQueues.length + 1} failed, or at once on a permanent failure.`,
    [`${task}DeadLetter`],
  );
  channels[`queue${id}Dlq`] = queueChannel(dlqQueue, "Dead-lettered tasks, read by the orchestrator's dead-letter collector.", [`${task}DeadLetter`]);

  // --- Operations
  const persistent = { amqp: { deliveryMode: 2, mandatory: true, bindingVersion: '0.3.0' } };
  const operations: Json = {};
  operations[`send${task}`] = op('send', `tasks${id}`, ladder.send.title, ladder.send.description, [task], persistent);
  operations[`consume${task}`] = op('receive', `queue${id}`, ladder.consume.title, ladder.consume.description, [task, `${task}Retry`], {
    amqp: { ack: true, bindingVersion: '0.3.0' },
  });
  retryQueues.forEach((queue, i) => {
    operations[`schedule${task}${retryId(i + 1)}`] = op(
      'send',
      `tasks${id}${retryId(i + 1)}`,
      `retry ${i + 1} of a failed ${ladder.noun}`,
      `After delivery ${i + 1} failed: ${retriedTo(i + 1)} (${ttlOf(queue)} s).`,
      [`${task}Retry`],
      persistent,
    );
  });
  if (ladder.deferral) {
    operations[`defer${task}`] = op(
      'send',
      `tasks${id}${retryId(1)}`,
      `defer a ${ladder.noun}`,
      `A task ${ladder.deferral}: ${retriedTo(1)} (${ttlOf(retryQueues[0]!)} s), its attempt count and failure headers unchanged; its prefetch slot is free meanwhile.`,
      [`${task}Retry`],
      persistent,
    );
  }
  operations[`deadLetter${task}`] = op(
    'send',
    `tasks${id}Dlq`,
    `give up on a ${ladder.noun}`,
    'After the last retry, or at once when the failure is permanent.',
    [`${task}DeadLetter`],
    persistent,
  );
  operations[`collect${task.replace(/Task$/, '')}DeadLetters`] = op(
    'receive',
    `queue${id}Dlq`,
    'orchestrator dead-letter collector',
    "Records each dead-lettered task in the orchestrator's `dead_letters` table; requeues on failure.",
    [`${task}DeadLetter`],
    { amqp: { ack: true, bindingVersion: '0.3.0' } },
  );

  return { exchange: exchange.name, dlq: dlqQueue, schemas, messages, channels, operations };
}

/** The AsyncAPI 3.0 document as a plain object. */
export async function asyncApiDocument(): Promise<Json> {
  const ladders: LadderDescription[] = [];
  for (const ladder of TASK_LADDERS) ladders.push(await describeTaskLadder(ladder));
  const exchanges = new Set(ladders.map((l) => l.exchange));
  if (exchanges.size !== 1) throw new Error(`expected every task ladder on one exchange, got ${[...exchanges].join(', ')}`);
  const [exchange] = exchanges;
  const kafkaServer = [{ $ref: '#/servers/kafka' }];

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
  for (const ladder of ladders) {
    Object.assign(schemas, ladder.schemas);
    Object.assign(messages, ladder.messages);
  }

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
  for (const ladder of ladders) Object.assign(channels, ladder.channels);

  // --- Operations
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
  for (const ladder of ladders) Object.assign(operations, ladder.operations);

  return {
    asyncapi: '3.0.0',
    info: {
      title: 'orderflow events and tasks',
      version: '1.0.0',
      description: [
        'The asynchronous contracts of orderflow: business facts on Kafka, and e-mail and webhook delivery tasks on RabbitMQ.',
        '',
        '* Every Kafka message is a CloudEvents 1.0 event in structured mode (`content-type: ' +
          CLOUDEVENTS_CONTENT_TYPE +
          '`), keyed by its subject, with the W3C `traceparent` header when traced. Delivery is at least once: consumers de-duplicate on the event `id`.',
        `* RabbitMQ tasks go through the durable direct exchange \`${exchange}\`; a failed delivery climbs its queue's retry ladder of TTL queues and ends in its dead-letter queue (${ladders.map((l) => `\`${l.dlq}\``).join(', ')}).`,
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
  const header =
    '# Generated by tools/asyncapi from libs/domain, libs/messaging and apps/orchestrator/src/webhooks: run `make asyncapi` after changing them. Do not edit.\n';
  return header + stringify(await asyncApiDocument(), { lineWidth: 0, aliasDuplicateObjects: false });
}
