// The RabbitMQ outbox publisher under the relay, against the real Postgres and the real RabbitMQ
// behind a proxy the test freezes (connections kept, nothing answered: a SIGSTOPped broker).
import { randomUUID } from 'node:crypto';
import { Writable } from 'node:stream';
import type { ChannelModel } from 'amqplib';
import type pg from 'pg';
import pino from 'pino';
import { createPool } from '@orderflow/db';
import { createTestDatabase, startFreezableProxy, testInfra, uniqueName, waitFor, type FreezableProxy, type TestDatabase } from '@orderflow/testing';
import { enqueueOutbox, outboxPendingCondition, type OutboxMessage } from './outbox';
import { createOutboxRelay, type OutboxRelay } from './outbox-relay';
import { createRabbitPublisher, type RabbitPublisher } from './publishers';
import { taskTopology } from '@orderflow/domain';
import { connectAmqp } from './rabbit';

const CONFIRM_TIMEOUT_MS = 300;
const prefix = `${uniqueName('publisher')}_`;
const topology = taskTopology(prefix);

let db: TestDatabase;
let pool: pg.Pool;
let proxy: FreezableProxy;
let publisher: RabbitPublisher;
let relay: OutboxRelay;
let admin: ChannelModel;
const logLines: string[] = [];

beforeAll(async () => {
  db = await createTestDatabase('orchestrator', 'rabbit_publisher');
  pool = createPool(db.url, 4);
  const broker = new URL(testInfra().amqpUrl);
  proxy = await startFreezableProxy({ host: broker.hostname, port: Number(broker.port || 5672) });
  const proxied = new URL(broker);
  proxied.host = proxy.address;
  const logger = pino({ level: 'warn' }, new Writable({ write: (chunk, _encoding, done) => (logLines.push(String(chunk)), done()) }));
  publisher = createRabbitPublisher({ url: proxied.toString(), topology, logger, confirmTimeoutMs: CONFIRM_TIMEOUT_MS });
  relay = createOutboxRelay({ pool, databaseUrl: db.url, destination: 'rabbitmq', publish: publisher.publish, logger, idleMs: 50, maxBackoffMs: 200 });
  admin = await connectAmqp(testInfra().amqpUrl, { name: 'publisher-test' });
});
afterAll(async () => {
  proxy?.thaw();
  await relay?.stop();
  await publisher?.close();
  const channel = await admin.createChannel();
  for (const queue of [topology.queue, ...topology.retryQueues.map((q) => q.name), topology.dlq.name]) await channel.deleteQueue(queue);
  await channel.deleteExchange(topology.exchange);
  await admin.close();
  await proxy?.close();
  await pool?.end();
  await db?.drop();
});

const task = (): OutboxMessage => ({
  destination: 'rabbitmq',
  topic: topology.routingKey,
  key: randomUUID(),
  messageId: randomUUID(),
  payload: { template: 'order-confirmed' },
});
/** When the row was marked published; undefined while it is not (what waitFor polls for). */
const publishedAt = async (messageId: string) =>
  (await pool.query(`SELECT NOT ${outboxPendingCondition('o')} AS published FROM outbox o WHERE message_id = $1`, [messageId])).rows[0].published === true ||
  undefined;
/** Message ids on the work queue (taken off it). */
async function delivered(): Promise<string[]> {
  const channel = await admin.createChannel();
  const ids: string[] = [];
  for (let m = await channel.get(topology.queue, { noAck: true }); m; m = await channel.get(topology.queue, { noAck: true }))
    ids.push(String(m.properties.messageId));
  await channel.close();
  return ids;
}

describe('the RabbitMQ outbox publisher', () => {
  it('gives up on a batch a frozen broker does not confirm: the rows stay in the outbox and go out once it answers', async () => {
    relay.start();
    const warm = task();
    await enqueueOutbox(pool, [warm]);
    await waitFor(() => publishedAt(warm.messageId), { what: 'the first task to be published' });

    proxy.freeze();
    const held = task();
    await enqueueOutbox(pool, [held]);
    await waitFor(() => logLines.some((l) => l.includes(`did not confirm 1 message(s) within ${CONFIRM_TIMEOUT_MS} ms`)), { what: 'a publish to time out' });
    expect(await publishedAt(held.messageId)).toBeUndefined();

    proxy.thaw();
    await waitFor(() => publishedAt(held.messageId), { what: 'the held task to be published' });
    const ids = await waitFor(
      async () => {
        const seen = await delivered();
        return seen.includes(held.messageId) && seen;
      },
      { what: 'the held task on the queue' },
    );
    expect(ids).toContain(held.messageId); // maybe twice: consumers de-duplicate by message id
  });

  it('keeps a task no queue takes (binding gone) in the outbox and sends it once the queue is bound again', async () => {
    relay.start();
    const warm = task();
    await enqueueOutbox(pool, [warm]);
    await waitFor(() => publishedAt(warm.messageId), { what: 'a task to be published while the queue is bound' });
    await delivered();

    const channel = await admin.createChannel();
    await channel.unbindQueue(topology.queue, topology.exchange, topology.routingKey);
    const lost = task();
    await enqueueOutbox(pool, [lost]);
    // The broker confirms a returned message too: before the fix the row was marked published here.
    const outcome = await waitFor(
      async () => ((await publishedAt(lost.messageId)) && 'marked published') || (logLines.some((l) => l.includes('as unroutable')) && 'returned and kept'),
      { what: 'the relay to publish the task with no queue bound' },
    );
    expect(outcome).toBe('returned and kept');
    expect(await publishedAt(lost.messageId)).toBeUndefined();

    await channel.bindQueue(topology.queue, topology.exchange, topology.routingKey);
    await channel.close();
    await waitFor(() => publishedAt(lost.messageId), { what: 'the kept task to be published once the queue is bound' });
    expect(await delivered()).toContain(lost.messageId);
  });
});
