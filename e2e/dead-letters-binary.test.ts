// Binary poison in the dead-letter queues: a Kafka message of raw bytes 00 01 (with a header that is not
// text) and a RabbitMQ task that is not UTF-8 are listed by the admin API (base64), an ordinary dead
// letter behind each still is (nothing wedges the collector), the listing matches the OpenAPI document,
// and replaying the Kafka one puts its original bytes back on order-events.
import { randomUUID } from 'node:crypto';
import Ajv2020 from 'ajv/dist/2020';
import addFormats from 'ajv-formats';
import amqp from 'amqplib';
import { Kafka, logLevel } from 'kafkajs';
import { taskTopology } from '@orderflow/domain';
import { testInfra, waitFor } from '@orderflow/testing';
import { apiClient } from './support/client';
import { startSystem, type System } from './support/system';

let system: System;
let api: ReturnType<typeof apiClient>;
let admin: string;

beforeAll(async () => {
  system = await startSystem('e2e_dlq_binary');
  api = apiClient(system.url);
  admin = system.token('ops', 'admin');
}, 120_000);

afterAll(() => system?.stop());

async function deadLetters(): Promise<any[]> {
  const res = await api.request('GET', '/v1/admin/dead-letters?limit=200', { token: admin });
  expect(res.status).toBe(200);
  return res.body.items;
}

async function publishTasks(messages: { body: Buffer; headers: Record<string, unknown> }[]): Promise<void> {
  const connection = await amqp.connect(testInfra().amqpUrl);
  try {
    const channel = await connection.createConfirmChannel();
    const topology = taskTopology(system.prefix);
    for (const { body, headers } of messages) {
      channel.publish(topology.exchange, topology.dlq.routingKey, body, { persistent: true, messageId: randomUUID(), correlationId: randomUUID(), headers });
    }
    await channel.waitForConfirms();
  } finally {
    await connection.close();
  }
}

it('lists binary poison from Kafka and RabbitMQ as base64, keeps listing the dead letters behind it, and replays the original bytes', async () => {
  const kafka = new Kafka({ brokers: testInfra().kafkaBrokers, clientId: 'e2e-dlq-binary', logLevel: logLevel.NOTHING });
  const producer = kafka.producer();
  await producer.connect();
  // Same key, same partition: the ordinary poison after the binary one must get through too.
  const key = `binary-${randomUUID()}`;
  await producer.send({
    topic: system.topics.orderEvents,
    messages: [
      { key, value: Buffer.from([0x00, 0x01]), headers: { blob: Buffer.from([0x00, 0xff]), note: 'plain' } },
      { key, value: 'not a cloud event' },
    ],
  });
  await producer.disconnect();
  // As the notification worker dead-letters a task, with bytes that are not UTF-8 and a NUL in a header; then an ordinary one.
  const now = new Date().toISOString();
  const failure = { 'x-attempts': 4, 'x-first-failed-at': now, 'x-last-failed-at': now };
  await publishTasks([
    { body: Buffer.from([0xff, 0xfe, 0x00, 0x41]), headers: { ...failure, 'x-error': 'smtp said \u0000no', odd: 'a\u0000b', nested: { n: 1 } } },
    { body: Buffer.from('not json'), headers: { ...failure, 'x-error': 'invalid task' } },
  ]);

  const letters = await waitFor(
    async () => {
      const items = await deadLetters();
      const kafkaOnes = items.filter((d) => d.source === 'kafka' && d.key === key);
      const rabbitOnes = items.filter((d) => d.source === 'rabbitmq');
      return kafkaOnes.length === 2 && rabbitOnes.length === 2 && { items, kafkaOnes, rabbitOnes };
    },
    { timeoutMs: 30_000, intervalMs: 250, what: 'two Kafka and two RabbitMQ dead letters' },
  );
  const binaryKafka = letters.kafkaOnes.find((d) => d.payloadEncoding === 'base64');
  expect(binaryKafka).toMatchObject({ origin: system.topics.orderEvents, keyEncoding: 'utf8', payload: 'AAE=', attempts: 1, replayable: true });
  // The consumer's error quotes the payload, NUL included: that header is kept as bytes too, the error column as text.
  expect(binaryKafka.base64Headers.sort()).toEqual(['blob', 'x-error']);
  expect(binaryKafka.error).toMatch(/^undecodable: value is not JSON: .*\ufffd/);
  expect(binaryKafka.headers).toMatchObject({
    blob: Buffer.from([0x00, 0xff]).toString('base64'),
    note: 'plain',
    'x-original-topic': system.topics.orderEvents,
  });
  expect(letters.kafkaOnes.find((d) => d !== binaryKafka)).toMatchObject({ payload: 'not a cloud event', payloadEncoding: 'utf8' });

  const binaryTask = letters.rabbitOnes.find((d) => d.payloadEncoding === 'base64');
  expect(binaryTask).toMatchObject({
    origin: 'notification.send',
    payload: Buffer.from([0xff, 0xfe, 0x00, 0x41]).toString('base64'),
    attempts: 4,
    error: 'smtp said \ufffdno',
  });
  expect(binaryTask.headers).toMatchObject({ odd: Buffer.from('a\u0000b').toString('base64'), nested: '{"n":1}' });
  expect(binaryTask.base64Headers).toEqual(expect.arrayContaining(['odd', 'x-error']));
  expect(letters.rabbitOnes.find((d) => d !== binaryTask)).toMatchObject({ payload: 'not json', payloadEncoding: 'utf8', error: 'invalid task' });

  // The listing as the OpenAPI document describes it.
  const ajv = new Ajv2020({ strict: false, allErrors: true });
  addFormats(ajv);
  ajv.addSchema((await api.request('GET', '/openapi.json')).body, 'doc');
  const validate = ajv.getSchema('doc#/components/schemas/DeadLetterPage')!;
  const page = await api.request('GET', '/v1/admin/dead-letters?limit=200', { token: admin });
  expect(validate(page.body) || ajv.errorsText(validate.errors)).toBe(true);

  // A non-JSON task is not replayable; the Kafka bytes go back as they were: the saga consumer
  // dead-letters them again, 00 01 with the same header.
  expect(
    (await api.request('POST', `/v1/admin/dead-letters/${binaryTask.id}/replay`, { token: admin, headers: { 'idempotency-key': randomUUID() } })).status,
  ).toBe(409);
  expect(
    await api.request('POST', `/v1/admin/dead-letters/${binaryKafka.id}/replay`, { token: admin, headers: { 'idempotency-key': randomUUID() } }),
  ).toMatchObject({
    status: 202,
    body: { replayed: true },
  });
  const again = await waitFor(
    async () => (await deadLetters()).find((d) => d.source === 'kafka' && d.key === key && d.id !== binaryKafka.id && d.payloadEncoding === 'base64'),
    { timeoutMs: 30_000, intervalMs: 250, what: 'the replayed bytes dead-lettered again' },
  );
  expect(again).toMatchObject({ payload: 'AAE=', headers: { blob: binaryKafka.headers.blob, note: 'plain' } });
}, 90_000);
