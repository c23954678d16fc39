import { randomUUID } from 'node:crypto';
import type { Channel, ChannelModel, ConfirmChannel, GetMessage } from 'amqplib';
import { testInfra, uniqueName, waitFor } from '@orderflow/testing';
import { failureRoutingKey, taskTopology, type TaskTopology } from '@orderflow/domain';
import { amqpHealthCheck, connectAmqp, declareTaskTopology } from './rabbit';

describe('RabbitMQ task topology', () => {
  const { amqpUrl } = testInfra();
  const prefix = `${uniqueName('rabbit')}_`;
  let connection: ChannelModel;
  let channel: ConfirmChannel;
  let topology: TaskTopology;

  beforeAll(async () => {
    connection = await connectAmqp(amqpUrl, { name: 'messaging-test' });
    channel = await connection.createConfirmChannel();
    topology = await declareTaskTopology(channel, taskTopology(prefix));
  });

  afterAll(async () => {
    const queues = [topology.queue, ...topology.retryQueues.map((q) => q.name), topology.dlq.name];
    for (const queue of queues) await channel.deleteQueue(queue);
    await channel.deleteExchange(topology.exchange);
    await connection.close();
  });

  const getOne = (ch: Channel, queue: string) =>
    waitFor(() => ch.get(queue, { noAck: false }), { what: `a message on ${queue}`, timeoutMs: 5_000 }) as Promise<GetMessage>;

  it('can be declared again with the same arguments', async () => {
    await expect(declareTaskTopology(channel, taskTopology(prefix))).resolves.toEqual(topology);
    expect(topology.queue).toBe(`${prefix}notification.send`);
    expect(topology.retryQueues.map((q) => q.name)).toEqual([1, 2, 3].map((n) => `${prefix}notification.send.retry.${n}`));
  });

  it('a task published with confirms is consumed with manual ack through the declared topology', async () => {
    const taskId = randomUUID();
    const orderId = randomUUID();
    const body = Buffer.from(JSON.stringify({ template: 'order-confirmed', orderId }));
    const traceparent = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
    channel.publish(topology.exchange, topology.routingKey, body, {
      persistent: true,
      mandatory: true,
      messageId: taskId,
      correlationId: orderId,
      contentType: 'application/json',
      headers: { 'x-attempt': 1, traceparent },
    });
    await channel.waitForConfirms();

    const received = new Promise<{ content: Buffer; properties: Record<string, unknown> }>((resolve) => {
      void channel.consume(
        topology.queue,
        (msg) => {
          if (!msg) return;
          channel.ack(msg);
          resolve({ content: msg.content, properties: msg.properties as unknown as Record<string, unknown> });
        },
        { noAck: false, consumerTag: `${prefix}consumer` },
      );
    });
    const msg = await received;
    await channel.cancel(`${prefix}consumer`);

    expect(JSON.parse(msg.content.toString())).toEqual({ template: 'order-confirmed', orderId });
    expect(msg.properties).toMatchObject({ messageId: taskId, correlationId: orderId, deliveryMode: 2, headers: { 'x-attempt': 1, traceparent } });
    await waitFor(async () => (await channel.checkQueue(topology.queue)).messageCount === 0, { what: 'an empty work queue' });
  });

  it('a message published to a retry queue comes back to the work queue after its TTL', async () => {
    const taskId = randomUUID();
    const publishedAt = Date.now();
    channel.publish(topology.exchange, failureRoutingKey(topology, 1), Buffer.from('{}'), {
      persistent: true,
      mandatory: true,
      messageId: taskId,
      headers: { 'x-attempt': 2 },
    });
    await channel.waitForConfirms();
    expect((await channel.checkQueue(topology.retryQueues[0]!.name)).messageCount).toBe(1);

    const msg = await getOne(channel, topology.queue);
    const elapsed = Date.now() - publishedAt;
    channel.ack(msg);

    expect(msg.properties.messageId).toBe(taskId);
    expect(msg.properties.headers?.['x-attempt']).toBe(2);
    expect(msg.fields.routingKey).toBe('notification.send');
    expect(elapsed).toBeGreaterThanOrEqual(900);
    expect(elapsed).toBeLessThan(5_000);
  });

  it('routes a task that failed its last attempt to the dead-letter queue', async () => {
    const taskId = randomUUID();
    channel.publish(topology.exchange, failureRoutingKey(topology, 4), Buffer.from('{}'), { persistent: true, mandatory: true, messageId: taskId });
    await channel.waitForConfirms();
    const msg = await getOne(channel, topology.dlq.name);
    channel.ack(msg);
    expect(msg.properties.messageId).toBe(taskId);
  });

  it('a task the worker rejects without requeue lands in the dead-letter queue', async () => {
    const taskId = randomUUID();
    channel.publish(topology.exchange, topology.routingKey, Buffer.from('not json'), { persistent: true, mandatory: true, messageId: taskId });
    await channel.waitForConfirms();
    channel.nack(await getOne(channel, topology.queue), false, false);
    const msg = await getOne(channel, topology.dlq.name);
    channel.ack(msg);
    expect(msg.properties.messageId).toBe(taskId);
  });

  it('amqpHealthCheck resolves against the broker and rejects quickly where nothing listens', async () => {
    await expect(amqpHealthCheck(amqpUrl).check()).resolves.toBeUndefined();
    const started = Date.now();
    await expect(amqpHealthCheck('amqp://guest:guest@127.0.0.1:1').check()).rejects.toThrow(/ECONNREFUSED/);
    expect(Date.now() - started).toBeLessThan(3_000);
  });
});
