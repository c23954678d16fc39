import { randomUUID } from 'node:crypto';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ChannelModel, ConfirmChannel, GetMessage } from 'amqplib';
import type { Pool } from 'pg';
import pino from 'pino';
import { Registry } from 'prom-client';
import { createPool, DEFAULT_POOL_TIMEOUTS } from '@orderflow/db';
import { taskTopology, type TaskTopology } from '@orderflow/domain';
import { connectAmqp, declareTaskTopology, type TaskWorker } from '@orderflow/messaging';
import { createTestDatabase, startFreezableProxy, testInfra, uniqueName, waitFor, type FreezableProxy, type TestDatabase } from '@orderflow/testing';
import { createEmailLog } from './db/email-log';
import { createFileMailer, type Mail, type Mailer } from './mail';
import { createNotificationMetrics, type NotificationMetrics } from './metrics';
import { createSendNotifications } from './send-notification';
import { buildTask } from './testing/tasks';
import { createNotificationWorker, parseTask } from './worker';

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

// The real file mailer behind a switch that fails on purpose: `failures` says how many sends of a task fail first;
// a task in `holds` is not sent before its promise resolves (it keeps the worker in its batch).
const failures = new Map<string, number>();
const holds = new Map<string, Promise<void>>();
const attempts: Mail[] = [];
let files: Mailer;
const mailer: Mailer = {
  async send(mail) {
    attempts.push(mail);
    await holds.get(mail.messageId);
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
  topology = await declareTaskTopology(channel, taskTopology(prefix));
  metrics = createNotificationMetrics(new Registry());
  const sendNotifications = createSendNotifications({ emailLog: createEmailLog(pool), mailer, from: 'orderflow <orders@orderflow.local>' });
  worker = createNotificationWorker({ amqpUrl, prefix, prefetch: 16, logger, sendNotifications, metrics });
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
/** The transaction that wrote each e-mail record (its xmin): records claimed together share one. */
const claimTransactions = async (taskIds: string[]) =>
  new Map(
    (
      await pool.query<{ message_id: string; xmin: string }>('SELECT message_id, xmin::text AS xmin FROM emails WHERE message_id = ANY($1)', [taskIds])
    ).rows.map((r) => [r.message_id, r.xmin]),
  );
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

/**
 * Runs `publishAll` while the worker is held in a batch (its one task's send waits), so what it
 * publishes reaches the worker meanwhile and is handled together as the next batch. Answers the
 * holding task's id (its e-mail goes out too).
 */
async function asOneBatch(publishAll: () => Promise<void>): Promise<string> {
  const holder = randomUUID();
  let release!: () => void;
  holds.set(holder, new Promise<void>((resolve) => (release = resolve)));
  try {
    await publish(buildTask(), { messageId: holder });
    await waitFor(() => attempts.some((m) => m.messageId === holder), { what: 'the holding task being sent' });
    await publishAll();
    await waitFor(async () => (await channel.checkQueue(topology.queue)).messageCount === 0, { what: 'the tasks delivered to the worker' });
    return holder;
  } finally {
    release(); // also when the test fails: a worker held in its batch would fail every later test
  }
}

const eml = (taskIds: string[]) => taskIds.map((id) => `${id}.eml`).sort();

describe('notification worker', () => {
  it('sends one e-mail per task even when the task is delivered twice', async () => {
    const taskId = randomUUID();
    const task = buildTask();
    await publish(task, { messageId: taskId });
    await publish(task, { messageId: taskId });

    await waitFor(() => outcomes(taskId).length === 2, { what: 'both deliveries handled' });
    expect(
      outcomes(taskId)
        .map((l) => l.outcome)
        .sort(),
    ).toEqual(['duplicate', 'sent']);
    expect(await readdir(mailDir)).toEqual([`${taskId}.eml`]);
    const rows = await emailRows(taskId);
    expect(rows).toMatchObject([
      {
        message_id: taskId,
        order_id: task.order.id,
        template: 'order-confirmed',
        recipient: 'alice@example.com',
        subject: `Your order ${task.order.id} is confirmed`,
      },
    ]);
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
    [
      'an invalid task',
      (marker: string) => ({ template: 'order-confirmed', to: 'not-an-email', order: { id: marker } }),
      true,
      /^invalid task: .*to: Invalid email/,
    ],
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

  it('refuses a message_id Postgres cannot store (a NUL), which would fail the claim of its whole batch', () => {
    const message = { content: Buffer.from(JSON.stringify(buildTask())), properties: { messageId: 'task\u00001' } } as never;
    expect(() => parseTask(message)).toThrow(/^task has no usable message_id$/);
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

describe('notification worker, a batch at a time', () => {
  it('sends a batch of tasks with one claim transaction, one e-mail and one log line each', async () => {
    const tasks = Array.from({ length: 5 }, () => ({ taskId: randomUUID(), task: buildTask() }));
    const holder = await asOneBatch(async () => {
      for (const { taskId, task } of tasks) await publish(task, { messageId: taskId });
    });
    const ids = tasks.map((t) => t.taskId);
    await waitFor(() => ids.every((id) => outcomes(id).length === 1), { what: 'every task of the batch handled' });

    expect(ids.map((id) => outcomes(id)[0])).toMatchObject(
      tasks.map(({ task }) => ({ outcome: 'sent', msg: 'e-mail sent', orderId: task.order.id, traceId: '0af7651916cd43dd8448eb211c80319c' })),
    );
    const claims = await claimTransactions([holder, ...ids]);
    expect(new Set(ids.map((id) => claims.get(id))).size).toBe(1); // the five in one transaction
    expect(claims.get(holder)).not.toBe(claims.get(ids[0]!)); // the batch before it had its own
    expect((await readdir(mailDir)).sort()).toEqual(eml([holder, ...ids]));
  });

  it('skips a task already sent and a task delivered twice in the same batch', async () => {
    const sentBefore = randomUUID();
    await publish(buildTask(), { messageId: sentBefore });
    await waitFor(() => outcomes(sentBefore).length === 1, { what: 'the earlier task sent' });
    const twice = randomUUID();
    const fresh = randomUUID();
    const duplicatesBefore = await counter(metrics.duplicates);
    const holder = await asOneBatch(async () => {
      const task = buildTask();
      await publish(task, { messageId: twice });
      await publish(buildTask(), { messageId: sentBefore });
      await publish(task, { messageId: twice });
      await publish(buildTask(), { messageId: fresh });
    });
    await waitFor(() => outcomes(twice).length === 2 && outcomes(sentBefore).length === 2 && outcomes(fresh).length === 1, { what: 'the batch handled' });

    expect(outcomes(twice).map((l) => l.outcome)).toEqual(['sent', 'duplicate']);
    expect(outcomes(sentBefore).map((l) => l.outcome)).toEqual(['sent', 'duplicate']);
    expect(outcomes(fresh).map((l) => l.outcome)).toEqual(['sent']);
    for (const id of [twice, sentBefore, fresh]) expect(attempts.filter((m) => m.messageId === id)).toHaveLength(1);
    expect((await readdir(mailDir)).sort()).toEqual(eml([sentBefore, holder, twice, fresh]));
    expect(await counter(metrics.duplicates)).toBe(duplicatesBefore + 2);
  });

  it('retries only the task whose send failed; the others of its batch are recorded sent', async () => {
    const [ok1, failing, ok2] = [randomUUID(), randomUUID(), randomUUID()];
    failures.set(failing, 1);
    const retriesBefore = await counter(metrics.taskRetries);
    await asOneBatch(async () => {
      for (const id of [ok1, failing, ok2]) await publish(buildTask(), { messageId: id });
    });
    await waitFor(() => outcomes(ok1).length === 1 && outcomes(ok2).length === 1, { what: 'the two good tasks sent' });
    const claims = await claimTransactions([ok1, failing, ok2]);
    expect(claims.get(ok1)).toBe(claims.get(ok2));
    expect(claims.has(failing)).toBe(false); // its claim went with the failed send

    const [retried] = await waitFor(() => outcomes(failing).length === 1 && outcomes(failing), { what: 'the failed task sent on its retry' });
    expect(retried).toMatchObject({ outcome: 'sent', attempt: 2 });
    expect(attempts.filter((m) => m.messageId === failing)).toHaveLength(2);
    for (const id of [ok1, ok2]) expect(attempts.filter((m) => m.messageId === id)).toHaveLength(1);
    expect(await emailRows(failing)).toHaveLength(1);
    expect(await counter(metrics.taskRetries)).toBe(retriesBefore + 1);
  });

  it('dead-letters a poison task alone; the others of its batch are sent', async () => {
    const marker = uniqueName('poison');
    const [before, after] = [randomUUID(), randomUUID()];
    const deadBefore = await counter(metrics.deadLetters);
    await asOneBatch(async () => {
      await publish(buildTask(), { messageId: before });
      await publish(`{ ${marker}`);
      await publish(buildTask(), { messageId: after });
    });

    const dead = await deadLetter(marker);
    expect(dead.properties.headers).toMatchObject({ 'x-attempts': 1, 'x-error': expect.stringMatching(/^task body is not JSON/) });
    await waitFor(() => outcomes(before).length === 1 && outcomes(after).length === 1, { what: 'the valid tasks sent' });
    const claims = await claimTransactions([before, after]);
    expect(claims.get(before)).toBe(claims.get(after));
    expect([...outcomes(before), ...outcomes(after)].map((l) => l.outcome)).toEqual(['sent', 'sent']);
    expect(await counter(metrics.deadLetters)).toBe(deadBefore + 1);
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
    outageTopology = await declareTaskTopology(channel, taskTopology(outagePrefix));
    const sendNotifications = createSendNotifications({ emailLog: createEmailLog(proxiedPool), mailer, from: 'orderflow <orders@orderflow.local>' });
    outageWorker = createNotificationWorker({ amqpUrl, prefix: outagePrefix, prefetch: 4, logger, sendNotifications, metrics });
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

  it('puts a batch on its last attempts back without spending them while the database is down, and sends each once the database answers', async () => {
    const tasks = Array.from({ length: 3 }, () => ({ taskId: randomUUID(), task: buildTask() }));
    const ids: string[] = tasks.map((t) => t.taskId);
    const retriesBefore = await counter(metrics.taskRetries);
    proxy.freeze();
    // The fourth delivery is the last one the retry ladder allows: a failure that spent it would dead-letter the task.
    for (const { taskId, task } of tasks) {
      channel.publish(outageTopology.exchange, outageTopology.routingKey, Buffer.from(JSON.stringify(task)), {
        persistent: true,
        messageId: taskId,
        contentType: 'application/json',
        headers: { 'x-attempt': 4 },
      });
    }
    await channel.waitForConfirms();
    const requeued = (taskId: string) => logs.filter((l) => l.messageId === taskId && l.msg === 'handler failed; requeueing without spending a retry').length;
    await waitFor(() => ids.every((id) => requeued(id) >= 2), { timeoutMs: 20_000, what: 'every task put back twice while the database is down' });
    proxy.thaw();

    await waitFor(async () => (await claimTransactions(ids)).size === 3, { timeoutMs: 20_000, what: 'the e-mails recorded once the database answers' });
    for (const id of ids) expect(await emailRows(id)).toHaveLength(1);
    expect((await readdir(mailDir)).sort()).toEqual(eml(ids));
    expect(await channel.checkQueue(outageTopology.dlq.name)).toMatchObject({ messageCount: 0 });
    expect(logs.filter((l) => ids.includes(l.messageId as string) && l.msg === 'task dead-lettered')).toEqual([]);
    expect(await counter(metrics.taskRetries)).toBe(retriesBefore);
  });
});
