// End to end over REST: the four apps as processes against real Postgres, Redis, RabbitMQ and Kafka.
import { randomUUID } from 'node:crypto';
import amqp from 'amqplib';
import { Kafka, logLevel } from 'kafkajs';
import { createPool, databaseUrl } from '@orderflow/db';
import { taskTopology } from '@orderflow/domain';
import { testInfra, waitFor } from '@orderflow/testing';
import { apiClient, collectFacts, mails } from './support/client';
import { warmCatalog } from './support/load';
import { startSystem, type System } from './support/system';

let system: System;
let api: ReturnType<typeof apiClient>;
let facts: Awaited<ReturnType<typeof collectFacts>>;
let admin: string;

const sku = (label: string) => `${label}-${randomUUID().slice(0, 8)}`.toUpperCase();
const mailsFor = (orderId: string) => mails(system.mailDir).filter((m) => m.text.includes(orderId));

async function product(label: string, stock: number, priceCents = 1250): Promise<string> {
  const s = sku(label);
  const res = await api.putProduct(admin, s, { name: `Coffee ${s}`, priceCents, stock });
  expect(res.status).toBe(201);
  return s;
}

beforeAll(async () => {
  system = await startSystem('e2e_orders');
  api = apiClient(system.url);
  admin = system.token('ops', 'admin');
  facts = await collectFacts([system.topics.orderEvents, system.topics.inventoryEvents]);
}, 120_000);

afterAll(async () => {
  await facts?.stop();
  await system?.stop();
});

describe('placing an order', () => {
  it('confirms an order within stock, moves stock by its quantity, records the facts and sends one e-mail', async () => {
    const s = await product('beans', 10, 1250);
    const alice = system.token(`alice-${randomUUID()}`);
    const placed = await api.placeOrder(alice, [{ sku: s, quantity: 3 }]);
    expect(placed.status).toBe(202);
    expect(placed.headers.get('location')).toBe(`/v1/orders/${placed.body.id}`);
    expect(placed.body).toMatchObject({ status: 'PENDING', totalCents: 3750, items: [{ sku: s, quantity: 3, unitPriceCents: 1250 }] });

    const order = await api.settled(alice, placed.body.id);
    expect(order).toMatchObject({ status: 'CONFIRMED', totalCents: 3750 });
    await waitFor(async () => (await api.product(alice, s)).body.available === 7, { timeoutMs: 1_000, what: 'available stock to drop to 7' });

    const types = await waitFor(
      () => {
        const seen = facts.of(order.id).map((f) => f.event.type);
        return ['order.placed', 'stock.reserved', 'order.confirmed'].every((t) => seen.includes(t)) && seen;
      },
      { what: 'the order facts on Kafka' },
    );
    expect(types.filter((t: string) => t === 'order.confirmed')).toHaveLength(1);
    for (const fact of facts.of(order.id)) {
      expect(fact.event).toMatchObject({ specversion: '1.0', datacontenttype: 'application/json', subject: order.id });
      expect(fact.key).toBe(order.id);
    }
    const mail = await waitFor(() => mailsFor(order.id).length === 1 && mailsFor(order.id), { what: 'the confirmation e-mail' });
    expect(mail[0]!.text).toMatch(/^Subject: .*confirmed/im);
  });

  it('rejects an order beyond stock as OUT_OF_STOCK without moving stock, with one rejection e-mail', async () => {
    const s = await product('rare', 2);
    const bob = system.token(`bob-${randomUUID()}`);
    const placed = await api.placeOrder(bob, [{ sku: s, quantity: 3 }]);
    expect(placed.status).toBe(202);
    expect(await api.settled(bob, placed.body.id)).toMatchObject({ status: 'REJECTED', reason: 'OUT_OF_STOCK' });
    expect((await api.product(bob, s)).body.available).toBe(2);
    const mail = await waitFor(() => mailsFor(placed.body.id).length === 1 && mailsFor(placed.body.id), { what: 'the rejection e-mail' });
    expect(mail[0]!.text).toMatch(/OUT_OF_STOCK|out of stock/i);
  });

  it('answers 422 for an unknown sku and 400 problem+json for a malformed body', async () => {
    const carol = system.token('carol');
    const unknown = await api.placeOrder(carol, [{ sku: 'NO-SUCH-SKU', quantity: 1 }]);
    expect(unknown.status).toBe(422);
    expect(unknown.headers.get('content-type')).toMatch(/application\/problem\+json/);
    expect(unknown.body.type).toMatch(/unknown-sku$/);
    for (const body of [{ items: [] }, { items: [{ sku: 'A', quantity: 0 }] }, { items: [{ sku: 'A', quantity: 1 }], extra: true }, { nope: 1 }]) {
      const res = await api.request('POST', '/v1/orders', { token: carol, body, headers: { 'idempotency-key': randomUUID() } });
      expect(res.status).toBe(400);
      expect(res.headers.get('content-type')).toMatch(/application\/problem\+json/);
      expect(res.body).toMatchObject({ status: 400, type: expect.stringMatching(/validation-failed$/) });
    }
    const broken = await api.request('POST', '/v1/orders', {
      token: carol,
      raw: '{"items":',
      headers: { 'content-type': 'application/json', 'idempotency-key': randomUUID() },
    });
    expect(broken.status).toBe(400);
    expect(broken.body.type).toMatch(/malformed-json$/);
  });

  it('lets exactly 50 of 100 racing customers have the last 50 units: each confirmed order holds one, nothing else is reserved', async () => {
    const s = await product('race', 50);
    const watcher = system.token('watcher');
    const placed = await Promise.all(
      Array.from({ length: 100 }, (_, i) => api.placeOrder(system.token(`racer-${i}-${randomUUID()}`), [{ sku: s, quantity: 1 }])),
    );
    expect(placed.every((r) => r.status === 202)).toBe(true);
    const outcomes = await Promise.all(placed.map((r) => api.settled(admin, r.body.id, undefined, 60_000)));
    const confirmed = outcomes.filter((o) => o.status === 'CONFIRMED').map((o) => o.id as string);
    expect(confirmed).toHaveLength(50);
    expect(outcomes.filter((o) => o.status === 'REJECTED' && o.reason === 'OUT_OF_STOCK')).toHaveLength(50);
    await waitFor(async () => (await api.product(watcher, s)).body.available === 0, { timeoutMs: 1_000, what: 'available to reach 0' });

    // The exact stock behind it: 50 on hand, all 50 reserved, one unit by each confirmed order and by no other.
    const pool = createPool(databaseUrl(testInfra().databaseUrl, `${system.prefix}orderflow_inventory`));
    try {
      expect((await pool.query('SELECT on_hand, reserved FROM products WHERE sku = $1', [s])).rows).toEqual([{ on_hand: 50, reserved: 50 }]);
      const { rows } = await pool.query('SELECT order_id, quantity FROM reservation_items WHERE sku = $1', [s]);
      expect(rows.map((r) => r.order_id).sort()).toEqual([...confirmed].sort());
      expect(rows.every((r) => r.quantity === 1)).toBe(true);
    } finally {
      await pool.end();
    }
  }, 120_000);
});

describe('cancelling an order', () => {
  it('cancels a confirmed order, restores its stock once and sends one cancellation e-mail; a second cancel is 409', async () => {
    const s = await product('cancel', 5);
    const dave = system.token(`dave-${randomUUID()}`);
    const placed = await api.placeOrder(dave, [{ sku: s, quantity: 2 }]);
    await api.settled(dave, placed.body.id, 'CONFIRMED');
    const cancel = await api.cancelOrder(dave, placed.body.id);
    expect(cancel.status).toBe(202);
    expect(await api.settled(dave, placed.body.id, 'CANCELLED')).toMatchObject({ status: 'CANCELLED' });
    await waitFor(async () => (await api.product(dave, s)).body.available === 5, { what: 'stock to be restored' });
    await waitFor(() => mailsFor(placed.body.id).some((m) => /^Subject: .*cancelled/im.test(m.text)), { what: 'the cancellation e-mail' });
    expect(mailsFor(placed.body.id).filter((m) => /^Subject: .*cancelled/im.test(m.text))).toHaveLength(1);
    await waitFor(() => facts.of(placed.body.id).some((f) => f.event.type === 'stock.released'), { what: 'the stock.released fact' });
    expect(facts.of(placed.body.id).filter((f) => f.event.type === 'stock.released')).toHaveLength(1);
    expect((await api.cancelOrder(dave, placed.body.id)).status).toBe(409);
  });

  it('cancels a pending order (inventory down, so it cannot progress) and releases nothing twice', async () => {
    const s = await product('pending', 5);
    const erin = system.token(`erin-${randomUUID()}`);
    // Cached once every fact about it was consumed (a late one would evict it): pricing works while inventory is down.
    await warmCatalog(system, api, [s]);
    await system.kill('inventory');
    try {
      const placed = await api.placeOrder(erin, [{ sku: s, quantity: 1 }]);
      expect(placed.status).toBe(202);
      expect((await api.getOrder(erin, placed.body.id)).body.status).toBe('PENDING');
      expect((await api.cancelOrder(erin, placed.body.id)).status).toBe(202);
      await system.start('inventory');
      expect(await api.settled(erin, placed.body.id, 'CANCELLED', 30_000)).toMatchObject({ status: 'CANCELLED' });
      expect((await api.product(erin, s)).body.available).toBe(5);
    } finally {
      if (!system.isRunning('inventory')) await system.start('inventory');
    }
  }, 60_000);

  it('answers 404 to a customer cancelling another customer’s order and changes nothing', async () => {
    const s = await product('foreign', 5);
    const owner = system.token(`owner-${randomUUID()}`);
    const placed = await api.placeOrder(owner, [{ sku: s, quantity: 2 }]);
    const order = await api.settled(owner, placed.body.id, 'CONFIRMED');
    await waitFor(() => mailsFor(order.id).length === 1, { what: 'the confirmation e-mail' });
    const sagaOf = async () => (await api.request('GET', `/v1/admin/sagas/${order.id}`, { token: admin })).body;
    const sagaBefore = await waitFor(
      async () => {
        const saga = await sagaOf();
        return saga.state === 'COMPLETED' && saga;
      },
      { what: 'the saga to complete' },
    );

    const foreign = await api.cancelOrder(system.token(`mallory-${randomUUID()}`), order.id);
    expect(foreign.status).toBe(404);
    expect(foreign.headers.get('content-type')).toMatch(/application\/problem\+json/);

    expect(await sagaOf()).toEqual(sagaBefore);
    expect((await api.getOrder(owner, order.id)).body).toMatchObject({ status: 'CONFIRMED' });
    expect((await api.product(owner, s)).body.available).toBe(3);
    // The owner's own cancel is still taken, and its facts and e-mail are the first of their kind.
    expect(facts.of(order.id).map((f) => f.event.type)).not.toContain('order.cancelled');
    expect((await api.cancelOrder(owner, order.id)).status).toBe(202);
    await api.settled(owner, order.id, 'CANCELLED');
    await waitFor(() => mailsFor(order.id).length === 2, { what: 'the cancellation e-mail' });
    await waitFor(() => facts.of(order.id).some((f) => f.event.type === 'stock.released'), { what: 'the stock.released fact' });
    expect(facts.of(order.id).filter((f) => f.event.type === 'stock.released')).toHaveLength(1);
    expect((await api.product(owner, s)).body.available).toBe(5);
  });

  it('refuses to cancel a rejected order with 409', async () => {
    const s = await product('rejected', 0);
    const frank = system.token('frank');
    const placed = await api.placeOrder(frank, [{ sku: s, quantity: 1 }]);
    await api.settled(frank, placed.body.id, 'REJECTED');
    const res = await api.cancelOrder(frank, placed.body.id);
    expect(res.status).toBe(409);
    expect(res.body.type).toMatch(/conflict$/);
  });
});

describe('reading orders', () => {
  it('hides another customer’s order, shows it to an admin, and pages through a customer’s orders', async () => {
    const s = await product('read', 100);
    const owner = system.token(`owner-${randomUUID()}`);
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) ids.push((await api.placeOrder(owner, [{ sku: s, quantity: 1 }])).body.id);
    expect((await api.getOrder(system.token('stranger'), ids[0]!)).status).toBe(404);
    expect((await api.getOrder(admin, ids[0]!)).status).toBe(200);

    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const page: any = await api.request('GET', `/v1/orders?limit=2${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`, { token: owner });
      expect(page.status).toBe(200);
      expect(page.body.items.length).toBeLessThanOrEqual(2);
      seen.push(...page.body.items.map((o: { id: string }) => o.id));
      cursor = page.body.nextCursor;
    } while (cursor);
    expect(seen.sort()).toEqual([...ids].sort());
  });
});

describe('redelivery', () => {
  it('changes nothing when a fact or a task is delivered a second time', async () => {
    const s = await product('redeliver', 10);
    const gina = system.token(`gina-${randomUUID()}`);
    const placed = await api.placeOrder(gina, [{ sku: s, quantity: 4 }]);
    await api.settled(gina, placed.body.id, 'CONFIRMED');
    await waitFor(() => mailsFor(placed.body.id).length === 1, { what: 'the first e-mail' });

    // The same order.placed fact again, byte for byte, on its topic.
    // The test's own consumer may see the fact after the order has ended: the saga no longer waits for it.
    const original = await waitFor(() => facts.of(placed.body.id).find((f) => f.event.type === 'order.placed'), {
      what: 'the order.placed fact on order-events',
    });
    const kafka = new Kafka({ brokers: testInfra().kafkaBrokers, clientId: 'e2e-redeliver', logLevel: logLevel.NOTHING });
    const producer = kafka.producer();
    await producer.connect();
    await producer.send({ topic: system.topics.orderEvents, messages: [{ key: placed.body.id, value: JSON.stringify(original.event) }] });
    await producer.disconnect();

    // The same e-mail task again, with its message id, through the broker.
    const pool = createPool(databaseUrl(testInfra().databaseUrl, `${system.prefix}orderflow_notification`));
    const { rows } = await pool.query('SELECT message_id FROM emails WHERE order_id = $1', [placed.body.id]);
    await pool.end();
    expect(rows).toHaveLength(1);
    const connection = await amqp.connect(testInfra().amqpUrl);
    const channel = await connection.createConfirmChannel();
    const t = taskTopology(system.prefix);
    const task = {
      template: 'order-confirmed',
      to: 'gina@customers.orderflow.local',
      order: { id: placed.body.id, customerId: 'gina', status: 'CONFIRMED', items: [{ sku: s, quantity: 4, unitPriceCents: 1250 }], totalCents: 5000 },
    };
    channel.publish(t.exchange, t.routingKey, Buffer.from(JSON.stringify(task)), {
      persistent: true,
      messageId: rows[0].message_id,
      correlationId: placed.body.id,
    });
    await channel.waitForConfirms();
    await connection.close();
    await waitFor(
      async () =>
        /orderflow_notification_duplicate_tasks_total\{[^}]*\} 1/.test(await (await fetch(`http://127.0.0.1:${system.ports.notification}/metrics`)).text()),
      {
        what: 'the worker to skip the duplicate task',
      },
    );

    // Both redeliveries are consumed; then nothing has changed.
    await waitFor(async () => {
      const saga = await api.request('GET', `/v1/admin/sagas/${placed.body.id}`, { token: admin });
      return saga.body.state === 'COMPLETED';
    });
    const stepsBefore = (await api.request('GET', `/v1/admin/sagas/${placed.body.id}`, { token: admin })).body.steps.length;
    await waitFor(
      async () => {
        const groups = await new Kafka({ brokers: testInfra().kafkaBrokers, clientId: 'e2e-lag', logLevel: logLevel.NOTHING }).admin();
        await groups.connect();
        try {
          const offsets = await groups.fetchOffsets({ groupId: `${system.prefix}orchestrator.saga`, topics: [system.topics.orderEvents] });
          const ends = await groups.fetchTopicOffsets(system.topics.orderEvents);
          return offsets[0]!.partitions.every((p) => ends.find((e) => e.partition === p.partition)!.offset === p.offset);
        } finally {
          await groups.disconnect();
        }
      },
      { what: 'the saga consumer to catch up' },
    );
    expect((await api.request('GET', `/v1/admin/sagas/${placed.body.id}`, { token: admin })).body.steps).toHaveLength(stepsBefore);
    expect((await api.product(gina, s)).body.available).toBe(6);
    await waitFor(() => facts.of(placed.body.id).some((f) => f.event.type === 'order.confirmed'), { what: 'the order.confirmed fact' });
    expect(facts.of(placed.body.id).filter((f) => f.event.type === 'order.confirmed')).toHaveLength(1);
    expect(mailsFor(placed.body.id)).toHaveLength(1);
  });
});
