import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Parser, type AsyncAPIDocumentInterface, type MessageInterface, type ParseOutput } from '@asyncapi/parser';
import Ajv from 'ajv';
import addFormats from 'ajv-formats';
import type { Consumer, EachMessagePayload, Kafka, Message, Producer, ProducerRecord } from 'kafkajs';
import pino from 'pino';
import { repoRoot } from '@orderflow/config';
import { FACT_TYPES, topicNames, type OrderItem } from '@orderflow/domain';
import { createEventConsumer, kafkaMessageOf, type OutboxMessage } from '@orderflow/messaging';
import type { StockRepository } from '../../apps/inventory/src/db/stock-repository';
import { createStockUseCases } from '../../apps/inventory/src/stock';
import { outcomeMessages, placedMessage, type Saga } from '../../apps/orchestrator/src/saga/order-saga';
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

  it('a Kafka dead letter carries the headers the document lists', async () => {
    const sent: ProducerRecord[] = [];
    const original: Message & { offset: string } = { key: Buffer.from(orderId), value: Buffer.from('not json'), headers: { traceparent }, offset: '7' };
    const consumer = {
      connect: async () => undefined,
      subscribe: async () => undefined,
      disconnect: async () => undefined,
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
