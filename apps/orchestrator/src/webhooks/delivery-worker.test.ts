// The webhook.deliver consumer on the real Postgres and RabbitMQ, with the POST replaced: how each
// answer counts (delivery-worker.ts outcomeOf) and what the retry ladder then does with the task.
import type { ChannelModel, ConfirmChannel } from 'amqplib';
import type pg from 'pg';
import pino from 'pino';
import { createPool } from '@orderflow/db';
import { taskTopology, WEBHOOK_DELIVER } from '@orderflow/domain';
import { connectAmqp, notifyingOutboxWriter, type TaskWorker } from '@orderflow/messaging';
import { createTestDatabase, startSilentServer, testInfra, uniqueName, waitFor, type SilentServer, type TestDatabase } from '@orderflow/testing';
import { pingEvent, type DeliveryTask } from './delivery-task';
import { createDeliveryWorker } from './delivery-worker';
import { postWebhook, type PostResult } from './http-post';
import { newWebhookSecret } from './signing';
import { createWebhookRepository, type Delivery, type WebhookRepository } from './webhook-repository';

const { amqpUrl } = testInfra();
const prefix = `${uniqueName('webhook_worker')}_`;
const topology = taskTopology(prefix, WEBHOOK_DELIVER);
const TIMEOUT_MS = 300;

let db: TestDatabase;
let pool: pg.Pool;
let repo: WebhookRepository;
let connection: ChannelModel;
let channel: ConfirmChannel;
let worker: TaskWorker;
let silent: SilentServer;

/** What each subscription's receiver does, by URL: `answer(n)` for its n-th POST (1-based). */
const receivers = new Map<string, (n: number, send: () => Promise<PostResult>) => Promise<PostResult>>();
const posts: { url: string; headers: Record<string, string> }[] = [];
const postsTo = (url: string) => posts.filter((p) => p.url === url);

beforeAll(async () => {
  db = await createTestDatabase('orchestrator', 'webhook_worker');
  pool = createPool(db.url, 4);
  repo = createWebhookRepository(pool, notifyingOutboxWriter, { subscribedTypesTtlMs: 0 });
  silent = await startSilentServer();
  connection = await connectAmqp(amqpUrl, { name: 'delivery-worker-test' });
  channel = await connection.createConfirmChannel();
  worker = createDeliveryWorker({
    amqpUrl,
    prefix,
    repo,
    logger: pino({ level: 'silent' }),
    concurrency: 8,
    perSubscription: 4,
    timeoutMs: TIMEOUT_MS,
    allowPrivate: true, // the timeout test's receiver listens on loopback
    async post(url, body, headers, options) {
      posts.push({ url, headers });
      // The real POST, to a receiver that accepts the connection and never answers.
      const send = () => postWebhook(`http://127.0.0.1:${silent.port}/`, body, headers, options);
      return receivers.get(url)!(postsTo(url).length, send);
    },
  });
  await worker.start(); // declares the topology
});

afterAll(async () => {
  await worker.stop();
  for (const queue of [topology.queue, ...topology.retryQueues.map((q) => q.name), topology.dlq.name]) await channel.deleteQueue(queue);
  await channel.deleteExchange(topology.exchange);
  await connection.close();
  await silent.close();
  await pool.end();
  await db.drop();
});

/** A subscription whose receiver answers as `answer` says, and one delivery to it published as the outbox relay does. */
async function subscribeAndDeliver(answer: (n: number, send: () => Promise<PostResult>) => Promise<PostResult>) {
  const url = `https://partner.example/${uniqueName(expect.getState().currentTestName)}`;
  receivers.set(url, answer);
  const subscription = await repo.create(pool, { url, events: ['order.confirmed'], secret: newWebhookSecret(), createdBy: 'ops' });
  const task = await publishPing(subscription.id);
  return { url, subscription, task };
}

async function publishPing(subscriptionId: string): Promise<DeliveryTask> {
  const task = await repo.enqueuePing(pool, subscriptionId, pingEvent(subscriptionId, '/test'));
  channel.publish(topology.exchange, topology.routingKey, Buffer.from(JSON.stringify(task)), {
    persistent: true,
    mandatory: true,
    contentType: 'application/json',
    messageId: task.deliveryId,
    correlationId: task.deliveryId,
    headers: { 'x-attempt': 1 },
  });
  await channel.waitForConfirms();
  return task;
}

const deliveryOf = async (task: DeliveryTask): Promise<Delivery | undefined> =>
  (await repo.deliveries(task.subscriptionId, 10)).find((d) => d.id === task.deliveryId);

/** Polls the delivery row until `matches` holds, with a deadline. */
const deliveryWhere = (task: DeliveryTask, what: string, matches: (d: Delivery) => boolean) =>
  waitFor(
    async () => {
      const d = await deliveryOf(task);
      return d && matches(d) && d;
    },
    { what },
  );

/** A promise the test resolves: holds a receiver's answer until the test has looked at the row. */
function gate() {
  let open!: () => void;
  const opened = new Promise<void>((resolve) => (open = resolve));
  return { open, opened };
}

describe('webhook delivery worker', () => {
  it('records a 2xx answer as delivered after one signed POST', async () => {
    const { url, task } = await subscribeAndDeliver(async () => ({ status: 204 }));
    const delivered = await deliveryWhere(task, 'the delivery delivered', (d) => d.status === 'delivered');
    expect(delivered).toMatchObject({ attempts: 1, lastStatusCode: 204, lastError: null });
    expect(postsTo(url)).toHaveLength(1);
    expect(postsTo(url)[0]!.headers).toMatchObject({ 'webhook-id': expect.any(String), 'webhook-signature': expect.stringMatching(/^v1,/) });
  });

  it('counts a 3xx answer as a failed attempt and retries the same URL, never the redirect target', async () => {
    const retried = gate();
    const { url, task } = await subscribeAndDeliver(async (n) => {
      if (n === 1) return { status: 302, location: 'http://169.254.169.254/latest/meta-data/' };
      await retried.opened;
      return { status: 200 };
    });
    const failed = await deliveryWhere(task, 'the first attempt recorded', (d) => d.attempts === 1);
    expect(failed).toMatchObject({ status: 'pending', lastStatusCode: 302, lastError: expect.stringContaining('redirects are not followed') });
    await waitFor(() => postsTo(url).length === 2, { what: 'the retry' });
    retried.open();
    expect(await deliveryWhere(task, 'the retry delivered', (d) => d.status === 'delivered')).toMatchObject({ attempts: 2, lastStatusCode: 200 });
    expect(posts.map((p) => p.url)).not.toContain('http://169.254.169.254/latest/meta-data/');
  });

  it('counts a receiver that does not answer within the timeout as a failed attempt and retries it', async () => {
    const retried = gate();
    const { url, task } = await subscribeAndDeliver(async (n, send) => {
      if (n === 1) return send(); // the real POST, to a receiver that never answers
      await retried.opened;
      return { status: 200 };
    });
    const failed = await deliveryWhere(task, 'the first attempt recorded', (d) => d.attempts === 1);
    expect(failed).toMatchObject({ status: 'pending', lastStatusCode: null, lastError: `no answer within ${TIMEOUT_MS} ms` });
    await waitFor(() => postsTo(url).length === 2, { what: 'the retry' });
    retried.open();
    expect(await deliveryWhere(task, 'the retry delivered', (d) => d.status === 'delivered')).toMatchObject({ attempts: 2, lastStatusCode: 200 });
  });

  it('disables the subscription on a 410 answer and sends it nothing more', async () => {
    const { url, subscription, task } = await subscribeAndDeliver(async () => ({ status: 410 }));
    expect(await deliveryWhere(task, 'the delivery settled', (d) => d.status !== 'pending')).toMatchObject({
      status: 'skipped',
      attempts: 1,
      lastStatusCode: 410,
    });
    expect(await repo.get(subscription.id)).toMatchObject({ enabled: false, disabledReason: 'gone' });
    // A later delivery to it is settled without a POST.
    const later = await publishPing(subscription.id);
    expect(await deliveryWhere(later, 'the later delivery settled', (d) => d.status !== 'pending')).toMatchObject({
      status: 'skipped',
      attempts: 0,
      lastError: 'the subscription is disabled',
    });
    expect(postsTo(url)).toHaveLength(1);
  });
});
