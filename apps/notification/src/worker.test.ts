import { randomUUID } from 'node:crypto';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ChannelModel, ConfirmChannel, GetMessage } from 'amqplib';
import type { Pool } from 'pg';
import pino from 'pino';
import { Registry } from 'prom-client';
import { createPool, DEFAULT_POOL_TIMEOUTS } from '@orderflow/db';
import { connectAmqp, declareTaskTopology, type TaskTopology, type TaskWorker } from '@orderflow/messaging';
import { createTestDatabase, startFreezableProxy, testInfra, uniqueName, waitFor, type FreezableProxy, type TestDatabase } from '@orderflow/testing';
import { createEmailLog } from './db/email-log';
import { createFileMailer, type Mail, type Mailer } from './mail';
import { createNotificationMetrics, type NotificationMetrics } from './metrics';
import { createSendNotification } from './send-notification';
import { buildTask } from './testing/tasks';
import { createNotificationWorker } from './worker';

const { amqpUrl } = testInfra();
const prefix = `${uniqueName('notification')}_`;
const logs: Record<string, unknown>[] = [];
const logger = pino({ level: 'info' }, { write: (line: string) => void logs.push(JSON.parse(line)) });

let db: TestDatabase;
let pool: Pool;
let connection: ChannelModel;
let channel: ConfirmChannel;
let topology: TaskTopology;
let worker: TaskWorker;
let metrics: NotificationMetrics;
let mailDir: string;

// The real file mailer behind a switch that fails on purpose: `failures` says how many sends of a task fail first.
const failures = new Map<string, number>();
const attempts: Mail[] = [];
let files: Mailer;
const mailer: Mailer = {
  async send(mail) {
    attempts.push(mail);
    const left = failures.get(mail.messageId) ?? 0;
    if (left > 0) {
      failures.set(mail.messageId, left - 1);
      throw new Error('smtp unavailable');
    }
    await files.send(mail);
  },
  close: () => undefined,
};

beforeAll(async () => {
  db = await createTestDatabase('notification');
  pool = createPool(db.url);
  connection = await connectAmqp(amqpUrl, { name: 'notification-test' });
  channel = await connection.createConfirmChannel();
  topology = await declareTaskTopology(channel, { prefix });
  metrics = createNotificationMetrics(new Registry());
  const sendNotification = createSendNotification({ emailLog: createEmailLog(pool), mailer, from: 'orderflow <orders@orderflow.local>' });
  worker = createNotificationWorker({ amqpUrl, prefix, prefetch: 16, logger, sendNotification, metrics });
  await worker.start();
});

beforeEach(async () => {
  mailDir = await mkdtemp(join(tmpdir(), 'notification-worker-'));
  files = createFileMailer(mailDir);
});

afterEach(() => rm(mailDir, { recursive: true, force: true }));

afterAll(async () => {
  await worker.stop();
  for (const queue of [topology.queue, ...topology.retryQueues.map((q) => q.name), topology.dlq.name]) await channel.deleteQueue(queue);
  await channel.deleteExchange(topology.exchange);
  await connection.close();
  await pool.end();
  await db.drop();
});

/** Publishes a task as the orchestrator's outbox relay does; `messageId: null` leaves the id out. */
async function publish(body: unknown, { messageId = randomUUID() as string | null, attempt = 1 } = {}): Promise<void> {
  const content = Buffer.from(typeof body === 'string' ? body : JSON.stringify(body));
  channel.publish(topology.exchange, topology.routingKey, content, {
    persistent: true,
    mandatory: true,
    contentType: 'application/json',
    ...(messageId ? { messageId } : {}),
    headers: { 'x-attempt': attempt, traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01' },
  });
  await channel.waitForConfirms();
}

const outcomes = (taskId: string) => logs.filter((l) => l.taskId === taskId && l.outcome);
const emailRows = async (taskId: string) => (await pool.query('SELECT * FROM emails WHERE message_id = $1', [taskId])).rows;
const counter = async (c: { get(): Promise<{ values: { value: number }[] }> }) => (await c.get()).values.reduce((sum, v) => sum + v.value, 0);

/** The next dead letter whose body contains `marker` (other tests' letters are left alone). */
const deadLetter = (marker: string) =>
  waitFor(
    async () => {
      const msg = await channel.get(topology.dlq.name, { noAck: false });
      if (!msg) return undefined;
      if (!msg.content.toString().includes(marker)) return void channel.nack(msg, false, true);
      channel.ack(msg);
      return msg;
    },
    { what: `a dead letter containing ${marker}` },
  ) as Promise<GetMessage>;

describe('notification worker', () => {
  it('sends one e-mail per task even when the task is delivered twice', async () => {
    const taskId = randomUUID();
    const task = buildTask();
    await publish(task, { messageId: taskId });
    await publish(task, { messageId: taskId });

    await waitFor(() => outcomes(taskId).length === 2, { what: 'both deliveries handled' });
    expect(outcomes(taskId).map((l) => l.outcome).sort()).toEqual(['duplicate', 'sent']);
    expect(await readdir(mailDir)).toEqual([`${taskId}.eml`]);
    const rows = await emailRows(taskId);
    expect(rows).toMatchObject([{ message_id: taskId, order_id: task.order.id, template: 'order-confirmed', recipient: 'alice@example.com', subject: `Your order ${task.order.id} is confirmed` }]);
    expect(attempts.filter((m) => m.messageId === taskId)).toHaveLength(1);
    expect(outcomes(taskId)[0]).toMatchObject({ orderId: task.order.id, traceId: '0af7651916cd43dd8448eb211c80319c' });
  });

  it('a failing send is retried through the retry ladder and succeeds', async () => {
    const taskId = randomUUID();
    const retriesBefore = await counter(metrics.taskRetries);
    failures.set(taskId, 1);
    await publish(buildTask({ template: 'order-cancelled' }), { messageId: taskId });

    const [sent] = await waitFor(() => outcomes(taskId).length === 1 && outcomes(taskId), { what: 'the retried task sent' });
    expect(sent).toMatchObject({ outcome: 'sent', attempt: 2 }); // came back from notification.send.retry.1
    expect(attempts.filter((m) => m.messageId === taskId)).toHaveLength(2);
    expect(await readdir(mailDir)).toEqual([`${taskId}.eml`]);
    expect(await emailRows(taskId)).toHaveLength(1);
    expect(await counter(metrics.taskRetries)).toBe(retriesBefore + 1);
  });

  it.each([
    ['an invalid task', (marker: string) => ({ template: 'order-confirmed', to: 'not-an-email', order: { id: marker } }), true, /^invalid task: .*to: Invalid email/],
    ['a body that is not JSON', (marker: string) => `{ ${marker}`, true, /^task body is not JSON/],
    ['a task without message_id', (marker: string) => buildTask({ order: { customerId: marker } }), false, /^task has no usable message_id/],
  ])('%s goes straight to the dead-letter queue with the error in headers', async (_name, body, withId, error) => {
    const marker = uniqueName('marker');
    const deadBefore = await counter(metrics.deadLetters);
    const attemptsBefore = attempts.length;
    await publish(body(marker), { messageId: withId ? randomUUID() : null });

    const msg = await deadLetter(marker);
    expect(msg.properties.headers).toMatchObject({ 'x-attempts': 1, 'x-last-error': expect.stringMatching(error), 'x-error': expect.stringMatching(error) });
    expect(attempts.length).toBe(attemptsBefore);
    expect(await counter(metrics.deadLetters)).toBe(deadBefore + 1);
  });

  it('after the last retry a task lands in notification.send.dlq', async () => {
    const taskId = randomUUID();
    const task = buildTask({ template: 'order-rejected', order: { status: 'REJECTED', reason: 'OUT_OF_STOCK' } });
    failures.set(taskId, Infinity);
    // The fourth delivery (after retries of 1 s, 4 s and 16 s) fails; waiting 21 s for the ladder adds nothing here.
    await publish(task, { messageId: taskId, attempt: 4 });

    const msg = await deadLetter(task.order.id);
    expect(msg.properties.messageId).toBe(taskId);
    expect(msg.properties.headers).toMatchObject({ 'x-attempts': 4, 'x-last-error': 'smtp unavailable' });
    expect(await emailRows(taskId)).toEqual([]);
    expect(await readdir(mailDir)).toEqual([]);
  });
});

describe('notification worker while its database is out of reach', () => {
  const outagePrefix = `${uniqueName('notification_outage')}_`;
  let proxy: FreezableProxy;
  let proxiedPool: Pool;
  let outageTopology: TaskTopology;
  let outageWorker: TaskWorker;

  beforeAll(async () => {
    // The e-mail log reaches the test database through a proxy the test can freeze; short bounds so an attempt fails fast.
    const target = new URL(db.url);
    proxy = await startFreezableProxy({ host: target.hostname, port: Number(target.port || 5432) });
    const viaProxy = new URL(db.url);
    viaProxy.hostname = '127.0.0.1';
    viaProxy.port = String(proxy.port);
    proxiedPool = createPool(viaProxy.toString(), 2, { ...DEFAULT_POOL_TIMEOUTS, PG_CONNECT_TIMEOUT_MS: 300, PG_QUERY_TIMEOUT_MS: 500 });
    outageTopology = await declareTaskTopology(channel, { prefix: outagePrefix });
    const sendNotification = createSendNotification({ emailLog: createEmailLog(proxiedPool), mailer, from: 'orderflow <orders@orderflow.local>' });
    outageWorker = createNotificationWorker({ amqpUrl, prefix: outagePrefix, prefetch: 4, logger, sendNotification, metrics });
    await outageWorker.start();
  });

  afterAll(async () => {
    proxy.thaw();
    await outageWorker.stop();
    for (const queue of [outageTopology.queue, ...outageTopology.retryQueues.map((q) => q.name), outageTopology.dlq.name]) await channel.deleteQueue(queue);
    await channel.deleteExchange(outageTopology.exchange);
    await proxiedPool.end();
    await proxy.close();
  });

  it('puts a task on its last attempt back without spending it while the database is down, and sends it once the database answers', async () => {
    const taskId = randomUUID();
    const task = buildTask();
    proxy.freeze();
    // The fourth delivery is the last one the retry ladder allows: a failure that spent it would dead-letter the task.
    channel.publish(outageTopology.exchange, outageTopology.routingKey, Buffer.from(JSON.stringify(task)), {
      persistent: true,
      messageId: taskId,
      contentType: 'application/json',
      headers: { 'x-attempt': 4 },
    });
    await channel.waitForConfirms();
    const requeued = () => logs.filter((l) => l.messageId === taskId && l.msg === 'handler failed; requeueing without spending a retry').length;
    await waitFor(() => requeued() >= 2, { timeoutMs: 20_000, what: 'the task put back twice while the database is down' });
    proxy.thaw();

    await waitFor(async () => (await emailRows(taskId)).length === 1, { timeoutMs: 20_000, what: 'the e-mail recorded once the database answers' });
    expect(await readdir(mailDir)).toEqual([`${taskId}.eml`]);
    expect(await channel.checkQueue(outageTopology.dlq.name)).toMatchObject({ messageCount: 0 });
    expect(logs.filter((l) => l.messageId === taskId && l.msg === 'task dead-lettered')).toEqual([]);
  });
});
