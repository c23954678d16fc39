import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Parser, type AsyncAPIDocumentInterface, type MessageInterface, type ParseOutput } from '@asyncapi/parser';
import Ajv from 'ajv';
import addFormats from 'ajv-formats';
import type { Consumer, EachMessagePayload, Kafka, Message, Producer, ProducerRecord } from 'kafkajs';
import pino from 'pino';
import { repoRoot } from '@orderflow/config';
import { FACT_TYPES, TASK_QUEUES, WEBHOOK_DELIVER, taskTopology, topicNames, type CloudEvent, type OrderItem } from '@orderflow/domain';
import { createEventConsumer, kafkaMessageOf, type OutboxMessage } from '@orderflow/messaging';
import type { StockRepository } from '../../apps/inventory/src/db/stock-repository';
import { createStockUseCases } from '../../apps/inventory/src/stock';
import { outcomeMessages, placedMessage, type Saga } from '../../apps/orchestrator/src/saga/order-saga';
import { pingEvent } from '../../apps/orchestrator/src/webhooks/delivery-task';
import { createWebhookRepository } from '../../apps/orchestrator/src/webhooks/webhook-repository';
import { ASYNCAPI_PATH, KAFKA_DEAD_LETTER_HEADERS, asyncApiYaml } from './document';

const committed = readFileSync(join(repoRoot(), ASYNCAPI_PATH), 'utf8');
const topics = topicNames();
let parsed: ParseOutput;
let document: AsyncAPIDocumentInterface;

beforeAll(async () => {
  parsed = await new Parser().parse(committed);
  // Undefined when the document has errors; the first test says which.
  document = parsed.document!;
});

/** The message called `name` on the channel at `address`. */
function messageOn(address: string, name: string): MessageInterface {
  const channel = document
    .allChannels()
    .all()
    .find((c) => c.address() === address);
  const message = channel
    ?.messages()
    .all()
    .find((m) => m.name() === name);
  if (!message) throw new Error(`no message ${name} on ${address} in ${ASYNCAPI_PATH}`);
  return message;
}

const ajv = addFormats(new Ajv({ strict: false, allErrors: true }));
/** Validation errors of `value` against a schema of the parsed document ([] when it conforms). */
function problems(schema: unknown, value: unknown): string[] {
  const validate = ajv.compile(schema as object);
  return validate(value) ? [] : (validate.errors ?? []).map((e) => `${e.instancePath || '(root)'} ${e.message}`);
}

describe(`${ASYNCAPI_PATH}`, () => {
  it('is valid AsyncAPI 3.0 (no errors or warnings from @asyncapi/parser)', () => {
    const { diagnostics } = parsed;
    // Errors (severity 0) and warnings (1) fail. Of the information-level notes only this one is
    // expected: the document is AsyncAPI 3.0 on purpose, and the linter points at the newest minor version.
    expect(diagnostics.filter((d) => d.severity <= 1).map((d) => `${d.code} at ${d.path.join('.')}: ${d.message}`)).toEqual([]);
    expect(diagnostics.map((d) => d.code)).toEqual(['asyncapi-latest-version']);
    expect(document.version()).toBe('3.0.0');
  });

  it('is up to date with the schemas and topology in the code (run `make asyncapi` when this fails)', async () => {
    expect(committed).toBe(await asyncApiYaml());
  });

  it('documents every fact type the code can emit, each on its topic, and no other', () => {
    const factsOn = (address: string) =>
      document
        .allChannels()
        .all()
        .find((c) => c.address() === address)!
        .messages()
        .all()
        .map((m) => m.name());
    expect([...factsOn(topics.orderEvents), ...factsOn(topics.inventoryEvents)].sort()).toEqual([...FACT_TYPES].sort());
    for (const type of FACT_TYPES) {
      const channel = type.startsWith('order.') ? topics.orderEvents : topics.inventoryEvents;
      expect(
        (messageOn(channel, type).payload()!.json() as { allOf: { properties?: { type?: { const?: string } } }[] }).allOf[1]?.properties?.type?.const,
      ).toBe(type);
    }
  });

  it("documents every task queue's whole ladder: routing keys, work queue, retry queues and DLQ, and who sends and receives on them", () => {
    const channels = document.allChannels().all();
    const channelsAt = (address: string, is: 'routingKey' | 'queue') =>
      channels.filter((c) => c.address() === address && (c.bindings().get('amqp')?.value() as { is?: string } | undefined)?.is === is);
    const actionsOn = (address: string, is: 'routingKey' | 'queue') =>
      document
        .allOperations()
        .all()
        .filter((o) =>
          o
            .channels()
            .all()
            .some((c) => channelsAt(address, is).some((d) => d.id() === c.id())),
        )
        .map((o) => o.action())
        .sort();
    for (const queue of TASK_QUEUES) {
      const t = taskTopology('', queue);
      const hops = [{ routingKey: t.routingKey, name: t.queue }, ...t.retryQueues, t.dlq];
      for (const { routingKey, name } of hops) {
        expect({ queue, routingKey, channels: channelsAt(routingKey, 'routingKey').length }).toEqual({ queue, routingKey, channels: 1 });
        expect({ queue, name, channels: channelsAt(name, 'queue').length }).toEqual({ queue, name, channels: 1 });
        // Every hop is published to; only the work queue and the DLQ are consumed (retry queues expire back).
        expect({ routingKey, actions: [...new Set(actionsOn(routingKey, 'routingKey'))] }).toEqual({ routingKey, actions: ['send'] });
        const consumed = name === t.queue || name === t.dlq.name;
        expect({ name, actions: actionsOn(name, 'queue') }).toEqual({ name, actions: consumed ? ['receive'] : [] });
      }
    }
  });
});

describe('what the code emits conforms to the document', () => {
  const orderId = '0b6f3c8e-4f1e-4a53-9d52-6b1f0c3a7e21';
  const traceparent = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
  const items: OrderItem[] = [{ sku: 'COF-ETH-250', quantity: 2, unitPriceCents: 1450 }];
  const saga = (reason?: string): Saga => ({
    orderId,
    customerId: 'alice',
    state: 'RUNNING',
    step: 'RESERVE_STOCK',
    attempts: 0,
    compensations: [],
    cancelRequested: false,
    data: { items, totalCents: 2900, email: 'alice@example.com', traceparent, ...(reason ? { reason } : {}) },
    version: 0,
    createdAt: '2025-01-01T00:00:00.000Z',
    updatedAt: '2025-01-01T00:00:00.000Z',
  });

  /** Every fact the order saga and the inventory use cases produce, and the saga's e-mail tasks. */
  async function emitted(): Promise<OutboxMessage[]> {
    const to = { orderEventsTopic: topics.orderEvents, source: '/orderflow/orchestrator' };
    const messages = [
      placedMessage(saga(), to),
      ...outcomeMessages(saga(), 'CONFIRMED', to),
      ...outcomeMessages(saga('OUT_OF_STOCK'), 'REJECTED', to),
      ...outcomeMessages(saga(), 'REJECTED', to),
      ...outcomeMessages(saga(), 'CANCELLED', to),
    ];
    // A repository that only hands the use cases' fact builders what a real one would.
    const repo = {
      upsertProduct: async (
        p: { sku: string; name: string; priceCents: number; stock: number },
        facts: (product: unknown, created: boolean) => OutboxMessage[],
      ) => {
        messages.push(...facts({ sku: p.sku, name: p.name, priceCents: p.priceCents, onHand: p.stock, available: p.stock - 3 }, true));
        return { product: {}, created: true };
      },
      reserve: async (_orderId: string, _lines: unknown, facts: () => OutboxMessage[]) => (messages.push(...facts()), { reserved: true }),
      reserveBatch: async (requests: { facts: () => OutboxMessage[] }[]) => requests.map((r) => (messages.push(...r.facts()), { reserved: true })),
      release: async (_orderId: string, facts: (lines: { sku: string; quantity: number }[]) => OutboxMessage[]) => (
        messages.push(...facts([{ sku: 'COF-ETH-250', quantity: 2 }])),
        true
      ),
    };
    const stock = createStockUseCases(repo as unknown as StockRepository, { topic: topics.inventoryEvents });
    await stock.upsertProduct({ sku: 'COF-ETH-250', name: 'Ethiopia', priceCents: 1450, stock: 40 }, traceparent);
    await stock.reserveStock(orderId, [...items, { sku: 'COF-ETH-250', quantity: 1 }], traceparent);
    await stock.reserveStockBatch([{ orderId, items, traceparent }]);
    await stock.releaseStock(orderId);
    return messages;
  }

  it('every fact (value, key and headers as published to Kafka) matches its message', async () => {
    const facts = (await emitted()).filter((m) => m.destination === 'kafka');
    const seen = new Set<string>();
    for (const fact of facts) {
      const type = (fact.payload as { type: string }).type;
      seen.add(type);
      const message = messageOn(fact.topic, type);
      const wire = kafkaMessageOf(fact);
      const headers = Object.fromEntries(Object.entries(wire.headers ?? {}).map(([k, v]) => [k, String(v)]));
      expect({ type, value: problems(message.payload()!.json(), JSON.parse(String(wire.value))) }).toEqual({ type, value: [] });
      expect({ type, headers: problems(message.headers()!.json(), headers) }).toEqual({ type, headers: [] });
      expect({ type, key: problems(message.bindings().get('kafka')!.value().key, wire.key) }).toEqual({ type, key: [] });
    }
    expect([...seen].sort()).toEqual([...FACT_TYPES].sort());
  });

  it('every e-mail task (body and headers) matches the notification.send message', async () => {
    const tasks = (await emitted()).filter((m) => m.destination === 'rabbitmq');
    expect(tasks).toHaveLength(4);
    // The routing key the outbox row carries is the address of the channel publishing to `tasks`.
    const channel = document.channels().get('tasksNotificationSend')!;
    const message = channel
      .messages()
      .all()
      .find((m) => m.name() === 'notification.send')!;
    for (const task of tasks) {
      expect(task.topic).toBe(channel.address());
      expect(problems(message.payload()!.json(), task.payload)).toEqual([]);
      // The publisher adds the attempt header to the row's own headers (publishers.ts).
      expect(problems(message.headers()!.json(), { 'x-attempt': 1, ...task.headers })).toEqual([]);
    }
  });

  it('every webhook delivery task the orchestrator enqueues (body and headers) matches the webhook.deliver message', async () => {
    const subscriptionId = '5d0c8a52-2b7e-4c1d-8f3a-9e6b7a4c2d10';
    const tasks: OutboxMessage[] = [];
    // A pool and outbox writer that only hand the repository what real ones would: one subscription to
    // every fact type, and every delivery row inserted. The repository builds the tasks (deliveryMessage).
    const pool = {
      query: async (sql: string) => ({ rows: sql.includes('unnest(events)') ? FACT_TYPES.map((type) => ({ type })) : [{ id: subscriptionId }] }),
    };
    const outbox = {
      statement: async (_db: unknown, messages: OutboxMessage[], params: unknown[]) => {
        tasks.push(...messages);
        return { rows: (params[0] as string[]).map((id) => ({ id })) };
      },
    };
    const webhooks = createWebhookRepository(pool as never, outbox as never);
    const facts = (await emitted()).filter((m) => m.destination === 'kafka');
    for (const fact of facts) await webhooks.enqueueFact(fact.payload as CloudEvent);
    await webhooks.enqueuePing(pool as never, subscriptionId, pingEvent(subscriptionId, '/orderflow/orchestrator'));
    expect(tasks).toHaveLength(facts.length + 1);
    expect(tasks.some((t) => t.headers?.traceparent)).toBe(true);

    const channel = document.channels().get('tasksWebhookDeliver');
    const message = channel
      ?.messages()
      .all()
      .find((m) => m.name() === WEBHOOK_DELIVER);
    if (!channel || !message) throw new Error(`no ${WEBHOOK_DELIVER} message on channel tasksWebhookDeliver in ${ASYNCAPI_PATH}`);
    for (const task of tasks) {
      expect(task.destination).toBe('rabbitmq');
      expect(task.topic).toBe(channel.address());
      // As published: the relay sends the row's payload as JSON.
      const body = JSON.parse(JSON.stringify(task.payload)) as { event: { type: string } };
      expect({ type: body.event.type, body: problems(message.payload()!.json(), body) }).toEqual({ type: body.event.type, body: [] });
      expect(problems(message.headers()!.json(), { 'x-attempt': 1, ...task.headers })).toEqual([]);
    }
    // The schema is the worker's own: a body it would dead-letter at once does not match either.
    expect(problems(message.payload()!.json(), { deliveryId: subscriptionId, subscriptionId, event: { type: 'order.placed' } })).not.toEqual([]);
  });

  it('a Kafka dead letter carries the headers the document lists', async () => {
    const sent: ProducerRecord[] = [];
    const original: Message & { offset: string } = { key: Buffer.from(orderId), value: Buffer.from('not json'), headers: { traceparent }, offset: '7' };
    const consumer = {
      connect: async () => undefined,
      subscribe: async () => undefined,
      disconnect: async () => undefined,
      commitOffsets: async () => undefined,
      events: { GROUP_JOIN: 'consumer.group_join' },
      on: () => () => undefined,
      run: async ({ eachMessage }: { eachMessage: (p: EachMessagePayload) => Promise<void> }) =>
        eachMessage({ topic: topics.orderEvents, partition: 2, message: original, heartbeat: async () => undefined } as unknown as EachMessagePayload),
    };
    const events = createEventConsumer({
      kafka: { consumer: () => consumer as unknown as Consumer } as unknown as Kafka,
      producer: { send: async (record: ProducerRecord) => void sent.push(record) } as unknown as Producer,
      groupId: 'asyncapi-test',
      topics: [topics.orderEvents],
      handle: async () => undefined,
      logger: pino({ level: 'silent' }),
    });
    await events.start();
    await events.stop();
    expect(sent.map((r) => r.topic)).toEqual([topics.orderEventsDlq]);
    const headers = Object.fromEntries(Object.entries(sent[0]!.messages[0]!.headers ?? {}).map(([k, v]) => [k, String(v)]));
    const message = messageOn(topics.orderEventsDlq, 'dead-letter');
    expect(
      Object.keys(headers)
        .filter((name) => name.startsWith('x-'))
        .sort(),
    ).toEqual(Object.keys(KAFKA_DEAD_LETTER_HEADERS).sort());
    expect(problems(message.headers()!.json(), headers)).toEqual([]);
  });
});
