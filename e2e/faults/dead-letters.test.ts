// Fault tests: work that cannot succeed — e-mails an SMTP server refuses, poison messages on
// order-events, a saga step that always fails — ends as dead letters an operator can see and replay.
import { randomUUID } from 'node:crypto';
import { Kafka, logLevel } from 'kafkajs';
import { startSmtpSink, testInfra, waitFor, type SmtpSink } from '@orderflow/testing';
import { apiClient } from '../support/client';
import { queryDb } from '../support/db';
import { consumerCaughtUp, metricValue } from '../support/faults';
import { checkInvariants } from '../support/invariants';
import { createProducts, orderLoad, type Api } from '../support/load';
import { startSystem, type System } from '../support/system';

let smtp: SmtpSink;
let system: System;
let api: Api;
let admin: string;

beforeAll(async () => {
  smtp = await startSmtpSink();
  system = await startSystem('faults_dead_letters', { appEnv: { notification: { SMTP_URL: smtp.url } } });
  api = apiClient(system.url);
  admin = system.token('ops', 'admin');
}, 120_000);

afterAll(async () => {
  await system?.stop();
  await smtp?.close();
});

/** Every dead letter the admin API lists, all pages. */
async function deadLetters(): Promise<any[]> {
  const all: any[] = [];
  let cursor: string | null = null;
  do {
    const page: any = await api.request('GET', `/v1/admin/dead-letters?limit=200${cursor ? `&cursor=${cursor}` : ''}`, { token: admin });
    expect(page.status).toBe(200);
    all.push(...page.body.items);
    cursor = page.body.nextCursor;
  } while (cursor);
  return all;
}

/** When each delivery of each task failed, from the notification worker's log lines. */
function failureTimes(): Map<string, number[]> {
  const times = new Map<string, number[]>();
  for (const line of system.logs.get('notification') ?? []) {
    if (!line.includes('task failed; scheduled a retry') && !line.includes('task dead-lettered')) continue;
    const entry = JSON.parse(line);
    times.set(entry.messageId, [...(times.get(entry.messageId) ?? []), Date.parse(entry.time)]);
  }
  return times;
}

it('dead-letters e-mails SMTP keeps refusing after three retries at growing delays, and sends each exactly once when replayed, however often', async () => {
  const products = await createProducts(api, admin, 'smtp-down', 3, 500);
  const load = orderLoad(system, api, [...products.keys()]);
  smtp.refuseAll('451 4.3.0 try later');
  let letters: any[];
  try {
    await load.place(50);
    expect(load.refused).toEqual([]);
    const ids = new Set(load.ids());
    // Attempt 1, then retries after 1 s, 4 s and 16 s: the last failure is at least 21 s after the first.
    letters = await waitFor(
      async () => {
        const ours = (await deadLetters()).filter((d) => d.source === 'rabbitmq' && ids.has(d.key));
        return ours.length === 50 && ours;
      },
      { timeoutMs: 90_000, intervalMs: 1_000, what: '50 e-mail dead letters' },
    );
  } finally {
    smtp.refuseAll(undefined);
  }
  for (const letter of letters) {
    expect(letter).toMatchObject({ origin: 'notification.send', attempts: 4, error: expect.stringMatching(/451/), replayable: true });
    expect(Date.parse(letter.lastFailedAt) - Date.parse(letter.firstFailedAt)).toBeGreaterThanOrEqual(20_000);
  }
  const failures = failureTimes();
  for (const letter of letters) {
    const times = failures.get(letter.messageId) ?? [];
    const gaps = times.slice(1).map((t, i) => t - times[i]!);
    expect(gaps).toHaveLength(3);
    gaps.forEach((gap, i) => expect(gap).toBeGreaterThanOrEqual([1_000, 4_000, 16_000][i]! - 100));
  }
  expect(await metricValue(system.opsPort('notification'), 'orderflow_notification_dead_letters_total')).toBeGreaterThanOrEqual(50);
  expect(await metricValue(system.opsPort('notification'), 'orderflow_notification_task_retries_total')).toBeGreaterThanOrEqual(150);

  for (const letter of letters) {
    const replay = await api.request('POST', `/v1/admin/dead-letters/${letter.id}/replay`, { token: admin, headers: { 'idempotency-key': randomUUID() } });
    expect(replay).toMatchObject({ status: 202, body: { replayed: true } });
  }
  await checkInvariants(system, api, { orders: load.ids(), products, adminToken: admin, smtp });
  for (const letter of letters) {
    const again = await api.request('POST', `/v1/admin/dead-letters/${letter.id}/replay`, { token: admin, headers: { 'idempotency-key': randomUUID() } });
    expect(again).toMatchObject({ status: 202, body: { replayed: false, alreadyReplayed: true } });
  }
  await checkInvariants(system, api, { orders: load.ids(), products, adminToken: admin, smtp });
}, 150_000);

it('moves poison messages on order-events to order-events.dlq with their error, and keeps processing each partition behind them', async () => {
  const kafka = new Kafka({ brokers: testInfra().kafkaBrokers, clientId: 'e2e-poison', logLevel: logLevel.NOTHING });
  const kafkaAdmin = kafka.admin();
  await kafkaAdmin.connect();
  const partitions = (await kafkaAdmin.fetchTopicMetadata({ topics: [system.topics.orderEvents] })).topics[0]!.partitions.map((p) => p.partitionId);
  // Ahead of the orders on every partition: a value that is not JSON and an envelope of an unknown type.
  const producer = kafka.producer();
  await producer.connect();
  const unknownType = (key: string) => ({
    specversion: '1.0',
    id: randomUUID(),
    source: '/e2e/poison',
    type: 'order.exploded',
    time: new Date().toISOString(),
    subject: key,
    datacontenttype: 'application/json',
    data: {},
  });
  await producer.send({
    topic: system.topics.orderEvents,
    messages: partitions.flatMap((partition) => [
      { partition, key: `poison-json-${partition}`, value: '{"this is": not json' },
      { partition, key: `poison-type-${partition}`, value: JSON.stringify(unknownType(`poison-type-${partition}`)) },
    ]),
  });
  await producer.disconnect();

  const products = await createProducts(api, admin, 'poison', 3, 500);
  const load = orderLoad(system, api, [...products.keys()]);
  await load.place(50);
  expect(load.refused).toEqual([]);
  const orders = await checkInvariants(system, api, { orders: load.ids(), products, adminToken: admin, smtp });
  expect([...orders.values()].every((o) => o.status === 'CONFIRMED')).toBe(true);
  await waitFor(() => consumerCaughtUp(`${system.prefix}orchestrator.saga`, system.topics.orderEvents), {
    what: 'the saga consumer to pass every partition’s end',
  });
  const dlqDepth = async () => (await kafkaAdmin.fetchTopicOffsets(system.topics.orderEventsDlq)).reduce((n, p) => n + Number(p.high), 0);
  expect(await dlqDepth()).toBe(partitions.length * 2);
  await kafkaAdmin.disconnect();

  const poison = await waitFor(
    async () => {
      const found = (await deadLetters()).filter((d) => d.source === 'kafka' && d.key?.startsWith('poison-'));
      return found.length === partitions.length * 2 && found;
    },
    { what: 'the poison messages in the admin dead letters' },
  );
  for (const letter of poison) {
    expect(letter).toMatchObject({ origin: system.topics.orderEvents, attempts: 1, replayable: true });
    expect(letter.error).toMatch(letter.key.startsWith('poison-json') ? /not JSON/ : /type/);
    expect(letter.headers).toMatchObject({
      'x-original-topic': system.topics.orderEvents,
      'x-error': letter.error,
      'x-original-partition': expect.any(String),
    });
  }
  expect(await metricValue(system.opsPort('orchestrator'), 'orderflow_dead_letters_total', { source: 'kafka' })).toBeGreaterThanOrEqual(partitions.length * 2);
}, 120_000);

it('compensates an order whose confirmation always fails: REJECTED PROCESSING_FAILED, stock released, a saga dead letter and the failure in its saga log', async () => {
  // No hook in product code: the order database itself refuses to confirm this customer's orders.
  const doomed = `doomed-${randomUUID().slice(0, 8)}`;
  await queryDb(
    system,
    'order',
    `
    CREATE FUNCTION e2e_refuse_confirmation() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN RAISE EXCEPTION 'e2e: confirmation refused for %', NEW.id; END $$;
    CREATE TRIGGER e2e_refuse_confirmation BEFORE UPDATE ON orders FOR EACH ROW
      WHEN (NEW.status = 'CONFIRMED' AND NEW.customer_id = '${doomed}') EXECUTE FUNCTION e2e_refuse_confirmation();`,
  );
  try {
    const products = await createProducts(api, admin, 'failing-step', 3, 500);
    const skus = [...products.keys()];
    const load = orderLoad(system, api, skus);
    const doomedToken = system.token(doomed);
    const failing = await Promise.all(skus.map((sku) => api.placeOrder(doomedToken, [{ sku, quantity: 2 }])));
    await load.place(50);
    expect([...failing, ...load.refused].filter((r) => r.status !== 202)).toEqual([]);
    const failingIds = failing.map((r) => r.body.id);

    const orders = await checkInvariants(system, api, { orders: [...load.ids(), ...failingIds], products, adminToken: admin, smtp });
    for (const id of failingIds) expect(orders.get(id)).toMatchObject({ status: 'REJECTED', reason: 'PROCESSING_FAILED' });
    for (const id of load.ids()) expect(orders.get(id).status).toBe('CONFIRMED');

    const letters = await deadLetters();
    for (const id of failingIds) {
      expect(letters.filter((d) => d.source === 'saga' && d.key === id)).toEqual([
        expect.objectContaining({ origin: 'saga:CONFIRM_ORDER', error: expect.stringMatching(/CONFIRM_ORDER/), replayable: false }),
      ]);
      const saga = await api.request('GET', `/v1/admin/sagas/${id}`, { token: admin });
      expect(saga.body).toMatchObject({ state: 'FAILED', outcome: 'REJECTED', lastError: expect.any(String) });
      // The failure, then the compensations newest first, then the end.
      const log = saga.body.steps.map((s: any) => `${s.step} ${s.outcome}`);
      const story = ['CONFIRM_ORDER FAILED', 'RELEASE_STOCK COMPENSATED', 'CLOSE_ORDER COMPENSATED', 'COMPENSATED REJECTED'];
      expect(log.filter((entry: string) => story.includes(entry))).toEqual(story);
    }
    expect(await metricValue(system.opsPort('orchestrator'), 'orderflow_dead_letters_total', { source: 'saga' })).toBeGreaterThanOrEqual(failingIds.length);
  } finally {
    await queryDb(system, 'order', 'DROP TRIGGER IF EXISTS e2e_refuse_confirmation ON orders; DROP FUNCTION IF EXISTS e2e_refuse_confirmation();');
  }
}, 120_000);
