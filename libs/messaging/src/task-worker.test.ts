import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import net from 'node:net';
import { context, propagation, trace } from '@opentelemetry/api';
import { NodeSDK } from '@opentelemetry/sdk-node';
import { NoopSpanProcessor } from '@opentelemetry/sdk-trace';
import pino from 'pino';
import type { ChannelModel, ConfirmChannel, ConsumeMessage, GetMessage } from 'amqplib';
import { logContextMixin } from '@orderflow/platform';
import { testInfra, uniqueName, waitFor } from '@orderflow/testing';
import { taskTopology, type TaskTopology } from '@orderflow/domain';
import { connectAmqp, declareTaskTopology } from './rabbit';
import {
  createTaskWorker,
  permanentTaskError,
  type BatchTaskHandler,
  type SingleTaskHandler,
  type TaskFailure,
  type TaskWorker,
  type TaskWorkerSettings,
} from './task-worker';

const { amqpUrl } = testInfra();
const prefix = `${uniqueName('task_worker')}_`;
const logger = pino({ level: 'silent' });
let connection: ChannelModel;
let channel: ConfirmChannel;
let topology: TaskTopology;
let worker: TaskWorker | undefined;

beforeAll(async () => {
  connection = await connectAmqp(amqpUrl, { name: 'task-worker-test' });
  channel = await connection.createConfirmChannel();
  topology = await declareTaskTopology(channel, taskTopology(prefix));
});

afterEach(async () => {
  await worker?.stop();
  worker = undefined;
  for (const queue of [topology.queue, ...topology.retryQueues.map((q) => q.name), topology.dlq.name]) await channel.purgeQueue(queue);
});

afterAll(async () => {
  for (const queue of [topology.queue, ...topology.retryQueues.map((q) => q.name), topology.dlq.name]) await channel.deleteQueue(queue);
  await channel.deleteExchange(topology.exchange);
  await connection.close();
});

async function publish(headers: Record<string, unknown> = { 'x-attempt': 1 }, routingKey = topology.routingKey): Promise<string> {
  const messageId = randomUUID();
  channel.publish(topology.exchange, routingKey, Buffer.from(JSON.stringify({ messageId })), {
    persistent: true,
    mandatory: true,
    messageId,
    correlationId: 'order-1',
    contentType: 'application/json',
    headers: { traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01', ...headers },
  });
  await channel.waitForConfirms();
  return messageId;
}

async function startWorker(handle: SingleTaskHandler['handle'], overrides: Partial<TaskWorkerSettings> = {}) {
  const retries: TaskFailure[] = [];
  const deadLetters: TaskFailure[] = [];
  worker = createTaskWorker({
    url: amqpUrl,
    topology: taskTopology(prefix),
    logger,
    handle,
    onRetry: (f) => retries.push(f),
    onDeadLetter: (f) => deadLetters.push(f),
    ...overrides,
  });
  await worker.start();
  return { retries, deadLetters };
}

async function startBatchWorker(handleBatch: BatchTaskHandler['handleBatch'], overrides: Partial<TaskWorkerSettings> = {}) {
  const retries: TaskFailure[] = [];
  const deadLetters: TaskFailure[] = [];
  worker = createTaskWorker({
    url: amqpUrl,
    topology: taskTopology(prefix),
    logger,
    handleBatch,
    onRetry: (f) => retries.push(f),
    onDeadLetter: (f) => deadLetters.push(f),
    ...overrides,
  });
  await worker.start();
  return { retries, deadLetters };
}

const idOf = (msg: ConsumeMessage) => msg.properties.messageId as string;

const isSlow = (msg: ConsumeMessage) => msg.properties.headers?.slow === true;

/** Whether a basic.ack frame settled `deliveryTag`: its own, or a multiple one up to a higher tag. */
const ackedBy = (frames: SettleFrame[], deliveryTag: number) =>
  frames.some((f) => f.method === 'ack' && (f.deliveryTag === deliveryTag || (f.multiple && f.deliveryTag > deliveryTag)));

/**
 * Waits until the worker sent the acks of `messages`, then makes a round trip on the channel that sent
 * them (its health check): the broker handles a channel's frames in order, so it has applied those acks.
 */
async function acksReachedBroker(proxy: AmqpProxy, messages: ConsumeMessage[]) {
  await waitFor(() => messages.every((m) => ackedBy(proxy.settleFrames(), m.fields.deliveryTag)), { what: 'the acks sent' });
  await worker!.check();
}

const getOne = (queue: string) => waitFor(() => channel.get(queue, { noAck: false }), { what: `a message on ${queue}` }) as Promise<GetMessage>;
const readyCount = async (queue: string) => (await channel.checkQueue(queue)).messageCount;

/**
 * After the connection dropped while `slow` was unsettled: the broker redelivers exactly `slow`, each
 * of `later` (acked before the drop) was delivered once, and nothing is left on the queue.
 */
async function expectOnlyRedelivered(proxy: AmqpProxy, seen: ConsumeMessage[], slow: string, later: string[], timeoutMs?: number) {
  const again = await waitFor(() => seen.find((m) => m.fields.redelivered), { timeoutMs, what: 'a redelivery' });
  expect(idOf(again)).toBe(slow);
  await worker!.stop();
  worker = undefined;
  await proxy.close();
  expect(seen.filter((m) => m.fields.redelivered).map(idOf)).toEqual([slow]);
  for (const id of later) expect(seen.filter((m) => idOf(m) === id)).toHaveLength(1);
  expect(await readyCount(topology.queue)).toBe(0);
}

describe('task worker', () => {
  it('acks a task once its handler resolved', async () => {
    const seen: string[] = [];
    await startWorker(async (_body, msg) => void seen.push(msg.properties.messageId));
    const id = await publish();
    await waitFor(() => seen.includes(id), { what: 'the task handled' });
    await worker!.stop();
    worker = undefined;
    expect(await readyCount(topology.queue)).toBe(0);
    expect(seen).toEqual([id]);
  });

  it('brings a failed task back through retry.1 with attempt 2 and the failure in headers', async () => {
    const deliveries: ConsumeMessage[] = [];
    const { retries } = await startWorker(async (_body, msg) => {
      deliveries.push(msg);
      if (deliveries.length === 1) throw new Error('smtp down');
    });
    const id = await publish();
    await waitFor(() => deliveries.length === 2, { what: 'the retried delivery' });

    const [first, second] = deliveries as [ConsumeMessage, ConsumeMessage];
    expect(second.content).toEqual(first.content);
    expect(second.properties).toMatchObject({ messageId: id, correlationId: 'order-1', deliveryMode: 2, contentType: 'application/json' });
    const headers = second.properties.headers!;
    expect(headers).toMatchObject({ 'x-attempt': 2, 'x-last-error': 'smtp down', traceparent: first.properties.headers!.traceparent });
    expect(headers['x-first-failed-at']).toBe(headers['x-last-failed-at']);
    expect(headers['x-death']?.[0]).toMatchObject({ queue: `${prefix}notification.send.retry.1` });
    expect(retries).toEqual([{ messageId: id, attempt: 1, routingKey: 'notification.send.retry.1', error: 'smtp down' }]);
  });

  it('keeps the time of the first failure on later retries', async () => {
    await startWorker(async () => Promise.reject(new Error('still down')));
    const id = await publish({ 'x-attempt': 2, 'x-first-failed-at': '2024-01-01T00:00:00.000Z' });
    const msg = await getOne(topology.retryQueues[1]!.name);
    channel.ack(msg);
    expect(msg.properties.messageId).toBe(id);
    expect(msg.properties.headers).toMatchObject({ 'x-attempt': 3, 'x-first-failed-at': '2024-01-01T00:00:00.000Z', 'x-last-error': 'still down' });
    expect(msg.properties.headers!['x-last-failed-at']).not.toBe('2024-01-01T00:00:00.000Z');
  });

  it('dead-letters a task failing permanently at once, with the error in headers', async () => {
    let calls = 0;
    const { deadLetters } = await startWorker(async () => {
      calls++;
      throw permanentTaskError('body is not a task');
    });
    const id = await publish();
    const msg = await getOne(topology.dlq.name);
    channel.ack(msg);
    expect(msg.properties.messageId).toBe(id);
    expect(msg.properties.headers).toMatchObject({ 'x-last-error': 'body is not a task', 'x-error': 'body is not a task', 'x-attempts': 1, 'x-attempt': 2 });
    expect(calls).toBe(1);
    expect(deadLetters).toMatchObject([{ messageId: id, routingKey: 'notification.send.dlq' }]);
    expect(await readyCount(topology.retryQueues[0]!.name)).toBe(0);
  });

  it('dead-letters a task whose fourth delivery fails', async () => {
    const { deadLetters } = await startWorker(async () => Promise.reject(new Error('boom')));
    const id = await publish({ 'x-attempt': 4, 'x-first-failed-at': '2024-01-01T00:00:00.000Z' });
    const msg = await getOne(topology.dlq.name);
    channel.ack(msg);
    expect(msg.properties).toMatchObject({
      messageId: id,
      headers: { 'x-attempts': 4, 'x-last-error': 'boom', 'x-first-failed-at': '2024-01-01T00:00:00.000Z' },
    });
    expect(deadLetters).toHaveLength(1);
  });

  it('stop waits for the handler in flight and acks its task', async () => {
    let release!: () => void;
    const started = new Promise<void>((resolve) => {
      void startWorker(() => {
        resolve();
        return new Promise<void>((r) => (release = r));
      });
    });
    await publish();
    await started;
    let stopped = false;
    const stopping = worker!.stop().then(() => (stopped = true));
    await new Promise((r) => setImmediate(r));
    expect(stopped).toBe(false);
    release();
    await stopping;
    worker = undefined;
    expect(await readyCount(topology.queue)).toBe(0);
  });

  it('start rejects when the broker refuses the topology', async () => {
    const other = `${uniqueName('conflict')}_`;
    await channel.assertQueue(`${other}notification.send`, { durable: false }); // a classic queue where a quorum one belongs
    const conflicted = createTaskWorker({ url: amqpUrl, topology: taskTopology(other), logger, handle: async () => undefined });
    await expect(conflicted.start()).rejects.toThrow(/PRECONDITION_FAILED/);
    await conflicted.stop();
    await channel.deleteQueue(`${other}notification.send`);
    await channel.deleteExchange(`${other}tasks`);
  });

  it('reconnects after the broker connection drops, and a task in flight then is delivered again', async () => {
    const proxy = await startProxy(new URL(amqpUrl));
    const seen: ConsumeMessage[] = [];
    let unblock!: () => void;
    const blocked = new Promise<void>((r) => (unblock = r));
    await startWorker(
      async (_body, msg) => {
        seen.push(msg);
        if (seen.length === 1) await blocked; // in flight while the connection drops
      },
      { url: proxy.url, maxReconnectDelayMs: 200 },
    );
    const inFlight = await publish();
    await waitFor(() => seen.length === 1, { what: 'the first delivery' });
    proxy.drop();
    unblock(); // its ack now has no channel: the broker must redeliver it
    const after = await publish();
    await waitFor(() => seen.some((m) => m.properties.messageId === after), { what: 'a task handled after reconnecting' });
    const redelivery = await waitFor(() => seen.slice(1).find((m) => m.properties.messageId === inFlight), { what: 'the in-flight task again' });
    expect(redelivery.fields.redelivered).toBe(true);
    expect(proxy.connections()).toBeGreaterThanOrEqual(2);
    await worker!.stop();
    worker = undefined;
    await proxy.close();
  });

  it('never covers a task whose handler still runs with the ack of later tasks: a dropped connection brings back exactly that task', async () => {
    const proxy = await startProxy(new URL(amqpUrl));
    const seen: ConsumeMessage[] = [];
    let releaseSlow!: () => void;
    const slowHeld = new Promise<void>((r) => (releaseSlow = r));
    let releaseLater!: () => void;
    const laterHeld = new Promise<void>((r) => (releaseLater = r));
    await startWorker(
      async (_body, msg) => {
        seen.push(msg);
        if (msg.fields.redelivered) return;
        await (isSlow(msg) ? slowHeld : laterHeld); // the later tasks succeed together, in one tick
      },
      { url: proxy.url, maxReconnectDelayMs: 200 },
    );
    const slow = await publish({ 'x-attempt': 1, slow: true });
    const later = [await publish(), await publish(), await publish()];
    await waitFor(() => seen.length === 1 + later.length, { what: 'every task in flight' });
    releaseLater();
    await acksReachedBroker(
      proxy,
      seen.filter((m) => later.includes(idOf(m))),
    );
    proxy.drop();
    releaseSlow(); // its ack now has no channel: the broker must redeliver it
    await expectOnlyRedelivered(proxy, seen, slow, later);
  });

  it('answers its health check over the live connection, fails it while reconnecting, and passes again after', async () => {
    const proxy = await startProxy(new URL(amqpUrl));
    await startWorker(async () => undefined, { url: proxy.url, maxReconnectDelayMs: 200 });
    for (let i = 0; i < 5; i++) await expect(worker!.check()).resolves.toBeUndefined();
    expect(proxy.connections()).toBe(1); // no connection of its own per check
    proxy.drop();
    await waitFor(
      () =>
        worker!.check().then(
          () => false,
          (error: Error) => /not connected/.test(error.message),
        ),
      { what: 'the check to fail while reconnecting' },
    );
    await waitFor(
      () =>
        worker!.check().then(
          () => true,
          () => false,
        ),
      { what: 'the check to pass after reconnecting' },
    );
    expect(proxy.connections()).toBe(2);
    await worker!.stop();
    worker = undefined;
    await proxy.close();
  });
});

describe('task worker in batch mode', () => {
  it('hands the deliveries that arrive while a batch runs to the next batch, up to the prefetch, and acks each', async () => {
    const batches: string[][] = [];
    let releaseFirst!: () => void;
    const firstHeld = new Promise<void>((r) => (releaseFirst = r));
    await startBatchWorker(
      async (messages) => {
        batches.push(messages.map(idOf));
        if (batches.length === 1) await firstHeld;
        return messages.map(() => undefined);
      },
      { prefetch: 4 },
    );
    const first = await publish();
    await waitFor(() => batches.length === 1, { what: 'the first batch' });
    const later = [];
    for (let i = 0; i < 6; i++) later.push(await publish());
    // 1 unacked + 3 more fill the prefetch of 4; the other 3 stay ready in the queue.
    await waitFor(async () => (await readyCount(topology.queue)) === 3, { what: 'the prefetch filled' });
    releaseFirst();
    await waitFor(() => batches.flat().length === 7, { what: 'every task handled' });
    await worker!.stop();
    worker = undefined;

    expect(batches[0]).toEqual([first]);
    expect(batches[1]).toEqual(later.slice(0, 3)); // all that arrived while the first batch ran, together
    expect(batches.flat()).toEqual([first, ...later]);
    expect(Math.max(...batches.map((b) => b.length))).toBeLessThanOrEqual(4);
    expect(await readyCount(topology.queue)).toBe(0); // all acked
  });

  it('settles each message of a batch from its own result: ack, retry ladder, dead letter', async () => {
    const seen: ConsumeMessage[] = [];
    let ids: string[] = [];
    let release!: () => void;
    const published = new Promise<void>((r) => (release = r));
    const { retries, deadLetters } = await startBatchWorker(async (messages) => {
      await published; // the three tasks of the test arrive before the first batch is handled, or in later ones
      seen.push(...messages);
      return messages.map((m) => {
        if (idOf(m) === ids[1] && m.properties.headers?.['x-attempt'] === 1) return new Error('smtp down');
        if (idOf(m) === ids[2]) return permanentTaskError('body is not a task');
        return undefined;
      });
    });
    ids = [await publish(), await publish(), await publish()];
    release();

    const dead = await getOne(topology.dlq.name);
    channel.ack(dead);
    expect(dead.properties).toMatchObject({ messageId: ids[2], headers: { 'x-attempts': 1, 'x-error': 'body is not a task' } });
    const retried = await waitFor(() => seen.find((m) => idOf(m) === ids[1] && m.properties.headers?.['x-attempt'] === 2), {
      what: 'the failed task back from retry.1',
    });
    expect(retried.properties.headers).toMatchObject({ 'x-last-error': 'smtp down' });
    expect(seen.filter((m) => idOf(m) === ids[0])).toHaveLength(1); // acked once, not redelivered
    expect(retries).toEqual([{ messageId: ids[1], attempt: 1, routingKey: 'notification.send.retry.1', error: 'smtp down' }]);
    expect(deadLetters).toMatchObject([{ messageId: ids[2], routingKey: 'notification.send.dlq' }]);
  });

  it('a batch handler that throws fails every message of its batch with that error', async () => {
    const handled: string[] = [];
    let release!: () => void;
    const published = new Promise<void>((r) => (release = r));
    const { retries } = await startBatchWorker(async (messages) => {
      await published;
      handled.push(...messages.map(idOf));
      throw new Error('mail server gone');
    });
    const ids = [await publish(), await publish()];
    release();
    await waitFor(() => retries.length === 2, { what: 'both tasks scheduled for a retry' });
    expect(retries.map((r) => r.messageId).sort()).toEqual([...ids].sort());
    expect(retries.every((r) => r.error === 'mail server gone' && r.attempt === 1)).toBe(true);
  });

  it('an outage result puts only that message back, without spending a retry', async () => {
    const proxy = await startProxy(new URL(amqpUrl));
    const outage = Object.assign(new Error('database down'), { outage: true });
    const deliveries: ConsumeMessage[] = [];
    let ids: string[] = [];
    let release!: () => void;
    const published = new Promise<void>((r) => (release = r));
    const { retries, deadLetters } = await startBatchWorker(
      async (messages) => {
        await published;
        deliveries.push(...messages);
        // The last attempt the ladder allows: spending it would dead-letter the task.
        return messages.map((m) => (idOf(m) === ids[0] && !m.fields.redelivered ? outage : undefined));
      },
      { isOutage: (error) => error === outage, url: proxy.url },
    );
    ids = [await publish({ 'x-attempt': 4 }), await publish({ 'x-attempt': 4 })];
    release();
    const again = await waitFor(() => deliveries.find((m) => idOf(m) === ids[0] && m.fields.redelivered), { timeoutMs: 5_000, what: 'the task put back' });
    expect(again.properties.headers).toMatchObject({ 'x-attempt': 4 });
    expect(deliveries.filter((m) => idOf(m) === ids[1])).toHaveLength(1);
    await worker!.stop();
    worker = undefined;
    await proxy.close();
    expect(retries).toEqual([]);
    expect(deadLetters).toEqual([]);
    expect(await readyCount(topology.queue)).toBe(0);
    // Its own nack, and no ack of that tag after it (an unknown tag closes the channel: a second connection).
    const put = deliveries.find((m) => idOf(m) === ids[0] && !m.fields.redelivered)!;
    const nacks = proxy.settleFrames().filter((f) => f.method === 'nack');
    expect(nacks).toEqual([{ method: 'nack', channel: expect.any(Number), deliveryTag: put.fields.deliveryTag, multiple: false }]);
    expect(proxy.settleFrames().filter((f) => f.method === 'ack' && f.deliveryTag === put.fields.deliveryTag)).toEqual([]);
    expect(proxy.connections()).toBe(1);
  });

  it('acks a batch whose tasks all succeed with one basic.ack frame (multiple), not one per task', async () => {
    const proxy = await startProxy(new URL(amqpUrl)); // counts the basic.ack frames the worker sends
    const batches: string[][] = [];
    let release!: () => void;
    const published = new Promise<void>((r) => (release = r));
    await startBatchWorker(
      async (messages) => {
        await published; // the first batch waits until every task is published: the others form (at most) one more
        batches.push(messages.map(idOf));
        return messages.map(() => undefined);
      },
      { url: proxy.url },
    );
    const ids: string[] = [];
    for (let i = 0; i < 8; i++) ids.push(await publish());
    release();
    await waitFor(() => batches.flat().length === ids.length, { what: 'every task handled' });
    await worker!.stop();
    worker = undefined;
    await proxy.close();

    expect(batches.flat()).toEqual(ids);
    expect(await readyCount(topology.queue)).toBe(0); // all acked
    const acks = proxy.settleFrames().filter((f) => f.method === 'ack');
    expect(batches.length).toBeLessThan(ids.length);
    // One frame per batch, for its last delivery tag (the tags of a channel count 1, 2, …), multiple if it holds more.
    let lastTag = 0;
    expect(acks).toEqual(batches.map((b) => ({ method: 'ack', channel: expect.any(Number), deliveryTag: (lastTag += b.length), multiple: b.length > 1 })));
  });

  it("never covers an earlier task waiting out the outage pause with a later batch's ack: a dropped connection brings back exactly that task", async () => {
    const proxy = await startProxy(new URL(amqpUrl));
    const outage = Object.assign(new Error('database down'), { outage: true });
    const deliveries: ConsumeMessage[] = [];
    await startBatchWorker(
      async (messages) => {
        deliveries.push(...messages);
        return messages.map((m) => (isSlow(m) && !m.fields.redelivered ? outage : undefined));
      },
      { url: proxy.url, isOutage: (error) => error === outage, maxReconnectDelayMs: 200 },
    );
    const slow = await publish({ 'x-attempt': 1, slow: true });
    await waitFor(() => deliveries.some((m) => idOf(m) === slow), { what: 'the slow task handled' }); // now 1 s before its nack
    const later = await Promise.all([publish(), publish(), publish(), publish()]);
    await waitFor(() => later.every((id) => deliveries.some((m) => idOf(m) === id)), { what: 'the later tasks handled' });
    await acksReachedBroker(
      proxy,
      deliveries.filter((m) => later.includes(idOf(m))),
    );
    expect(deliveries.filter((m) => m.fields.redelivered)).toEqual([]); // the slow task's nack is still to come
    proxy.drop();
    await expectOnlyRedelivered(proxy, deliveries, slow, later, 5_000);
  });

  it('rejects options with both or neither of handle and handleBatch', () => {
    const handle = async () => undefined;
    const handleBatch = async (messages: ConsumeMessage[]) => messages.map(() => undefined);
    expect(() => createTaskWorker({ url: amqpUrl, logger, handle, handleBatch } as never)).toThrow(/exactly one of handle and handleBatch/);
    expect(() => createTaskWorker({ url: amqpUrl, logger } as never)).toThrow(/exactly one of handle and handleBatch/);
  });

  describe('trace and log context', () => {
    // The SDK as the apps start it (dist/tracing): without its context manager no log fields apply at all.
    const sdk = new NodeSDK({ spanProcessors: [new NoopSpanProcessor()], metricReaders: [], logRecordProcessors: [], autoDetectResources: false });
    const lines: Record<string, unknown>[] = [];
    const contextLogger = pino({ mixin: (_merge, _level, l) => logContextMixin(l) }, { write: (line: string) => void lines.push(JSON.parse(line)) });

    beforeAll(() => sdk.start());
    afterAll(async () => {
      await sdk.shutdown();
      trace.disable();
      context.disable();
      propagation.disable();
    });

    it("runs the batch handler in no task's context, withinTask and each settle log line in the task's own", async () => {
      let ids: string[] = [];
      let release!: () => void;
      const published = new Promise<void>((r) => (release = r));
      await startBatchWorker(
        async (messages, batch) => {
          await published;
          contextLogger.info({ size: messages.length }, 'batch');
          for (const m of messages) batch.withinTask(m, () => contextLogger.info('one task'));
          return messages.map((m) => (idOf(m) === ids[1] ? permanentTaskError('bad task') : undefined));
        },
        { logger: contextLogger, logFields: (m) => ({ taskId: idOf(m) }) },
      );
      ids = [await publish(), await publish()];
      release();
      await waitFor(() => lines.some((l) => l.msg === 'task dead-lettered'), { what: 'the dead letter logged' });
      const dead = await getOne(topology.dlq.name);
      channel.ack(dead);

      const batchLines = lines.filter((l) => l.msg === 'batch');
      expect(batchLines.length).toBeGreaterThan(0);
      for (const l of batchLines) expect(l).not.toHaveProperty('taskId');
      for (const l of batchLines) expect(l).not.toHaveProperty('spanId');
      const perTask = lines.filter((l) => l.msg === 'one task');
      expect(new Set(perTask.map((l) => l.taskId))).toEqual(new Set(ids));
      for (const l of perTask) expect(l).toMatchObject({ traceId: '0af7651916cd43dd8448eb211c80319c', spanId: expect.stringMatching(/^[0-9a-f]{16}$/) });
      expect(lines.find((l) => l.msg === 'task dead-lettered')).toMatchObject({
        taskId: ids[1],
        messageId: ids[1],
        traceId: '0af7651916cd43dd8448eb211c80319c',
      });
    });
  });
});

/** A basic.ack or basic.nack frame a client sent. */
interface SettleFrame {
  method: 'ack' | 'nack';
  channel: number;
  deliveryTag: number;
  multiple: boolean;
}

/** Reads the AMQP 0-9-1 stream a client sends and reports its basic.ack (class 60, method 80) and basic.nack (120) frames. */
function settleFrameReader(onFrame: (frame: SettleFrame) => void): (chunk: Buffer) => void {
  let unread = Buffer.alloc(0);
  let headerRead = false; // a client opens with the 8-byte protocol header "AMQP\0\0\x09\x01"
  return (chunk) => {
    unread = Buffer.concat([unread, chunk]);
    if (!headerRead) {
      if (unread.length < 8) return;
      unread = unread.subarray(8);
      headerRead = true;
    }
    // A frame: type (1 byte; 1 = method), channel (2), payload size (4), payload, frame end (1).
    while (unread.length >= 7 && unread.length >= 8 + unread.readUInt32BE(3)) {
      const channel = unread.readUInt16BE(1);
      const payload = unread.subarray(7, 7 + unread.readUInt32BE(3));
      // A method payload: class id (2), method id (2), then for both: delivery tag (8), bits (multiple is bit 0).
      const method = unread[0] === 1 && payload.readUInt16BE(0) === 60 ? { 80: 'ack' as const, 120: 'nack' as const }[payload.readUInt16BE(2)] : undefined;
      if (method) onFrame({ method, channel, deliveryTag: Number(payload.readBigUInt64BE(4)), multiple: (payload[12]! & 1) === 1 });
      unread = unread.subarray(8 + payload.length);
    }
  };
}

type AmqpProxy = Awaited<ReturnType<typeof startProxy>>;

/**
 * A TCP proxy to the broker whose connections the test can cut, as a broker restart would; it also
 * records the basic.ack and basic.nack frames its clients send.
 */
async function startProxy(target: URL) {
  const sockets = new Set<net.Socket>();
  const settleFrames: SettleFrame[] = [];
  let connections = 0;
  const server = net.createServer((client) => {
    connections++;
    const upstream = net.connect(Number(target.port || 5672), target.hostname);
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('error', () => undefined).on('close', () => (client.destroy(), upstream.destroy(), sockets.delete(s)));
    }
    client.on(
      'data',
      settleFrameReader((frame) => settleFrames.push(frame)),
    );
    client.pipe(upstream).pipe(client);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as net.AddressInfo;
  const url = new URL(target);
  url.host = `127.0.0.1:${port}`;
  return {
    url: url.toString(),
    connections: () => connections,
    settleFrames: () => settleFrames,
    drop: () => sockets.forEach((s) => s.destroy()),
    close: () => new Promise<void>((resolve) => (sockets.forEach((s) => s.destroy()), server.close(() => resolve()))),
  };
}
