// Signed webhooks end to end: the built apps, real brokers, and receivers in this test that verify
// every delivery with the `standardwebhooks` package. One delivery per fact per subscription, retries
// until a receiver recovers, 410 disables, a receiver that never recovers ends in the dead letters
// (replayable once), a slow receiver does not hold up another subscription, and the ping.
import { randomUUID } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Webhook } from 'standardwebhooks';
import { waitFor } from '@orderflow/testing';
import { apiClient } from './support/client';
import { startSystem, type System } from './support/system';

const TIMEOUT_MS = 3_000;

let system: System;
let api: ReturnType<typeof apiClient>;
let admin: string;
let customer: string;
const sku = `HOOK-${randomUUID().slice(0, 8)}`.toUpperCase();

interface Received {
  id: string;
  type: string;
  subject: string | undefined;
  orderId: string | undefined;
  at: number;
  eventTime: number;
}

/** What a receiver answers to its n-th request (1-based): a status, or `hang` (never answers). */
type Behaviour = (n: number) => number | 'hang';

/** An HTTP receiver that verifies every request with standardwebhooks and records the verified 2xx deliveries. */
async function receiver(behave: Behaviour) {
  const state = { secret: '', requests: 0, unverified: 0, delivered: [] as Received[], ids: [] as string[] };
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c));
    req.on('end', () => {
      state.requests++;
      try {
        new Webhook(state.secret).verify(body, req.headers as Record<string, string>);
      } catch {
        state.unverified++;
        return void res.writeHead(400).end();
      }
      const answer = behave(state.requests);
      if (answer === 'hang') return; // the orchestrator's timeout ends it
      if (answer >= 200 && answer < 300) {
        const event = JSON.parse(body);
        expect(req.headers['webhook-id']).toBe(event.id);
        expect(req.headers['content-type']).toMatch(/^application\/cloudevents\+json/);
        state.ids.push(event.id);
        state.delivered.push({
          id: event.id,
          type: event.type,
          subject: event.subject,
          orderId: event.data?.orderId ?? event.subject, // order facts name the order as subject
          at: Date.now(),
          eventTime: Date.parse(event.time),
        });
      }
      res.writeHead(answer).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks`;
  return {
    state,
    url,
    of: (orderIds: string[]) => state.delivered.filter((d) => d.orderId && orderIds.includes(d.orderId)),
    close: () => {
      server.closeAllConnections();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
type Receiver = Awaited<ReturnType<typeof receiver>>;
const receivers: Receiver[] = [];

async function subscribe(r: Receiver, events: string[]): Promise<string> {
  const res = await api.request('POST', '/v1/admin/webhooks', {
    token: admin,
    body: { url: r.url, events, description: 'e2e' },
    headers: { 'idempotency-key': randomUUID() },
  });
  expect(res.status).toBe(201);
  expect(res.body.secret).toMatch(/^whsec_/);
  r.state.secret = res.body.secret;
  return res.body.id;
}

const deliveries = async (id: string) => (await api.request('GET', `/v1/admin/webhooks/${id}/deliveries?limit=100`, { token: admin })).body.items as any[];
const unsubscribe = async (id: string) =>
  expect((await api.request('DELETE', `/v1/admin/webhooks/${id}`, { token: admin, headers: { 'idempotency-key': randomUUID() } })).status).toBe(204);

async function confirmedOrders(n: number): Promise<string[]> {
  const ids = await Promise.all(
    Array.from({ length: n }, async () => {
      const placed = await api.placeOrder(customer, [{ sku, quantity: 1 }]);
      expect(placed.status).toBe(202);
      return placed.body.id as string;
    }),
  );
  for (const id of ids) await api.settled(customer, id, 'CONFIRMED');
  return ids;
}

beforeAll(async () => {
  system = await startSystem('e2e_webhooks', {
    env: { WEBHOOK_ALLOW_PRIVATE: 'true', WEBHOOK_TIMEOUT_MS: String(TIMEOUT_MS), WEBHOOK_CONCURRENCY: '4', WEBHOOK_MAX_IN_FLIGHT_PER_SUBSCRIPTION: '2' },
  });
  api = apiClient(system.url);
  admin = system.token('ops', 'admin');
  customer = system.token(`hooks-${randomUUID()}`);
  expect((await api.putProduct(admin, sku, { name: 'Webhook beans', priceCents: 900, stock: 10_000 })).status).toBe(201);
}, 120_000);

afterAll(async () => {
  await Promise.all(receivers.map((r) => r.close()));
  await system?.stop();
});

const newReceiver = async (behave: Behaviour) => {
  const r = await receiver(behave);
  receivers.push(r);
  return r;
};

describe('signed webhooks', () => {
  let all: Receiver;
  let allId: string;
  let firstOrders: string[];

  it('delivers every matching fact once per subscription, signed, with the event id as webhook-id', async () => {
    all = await newReceiver(() => 204);
    const confirmedOnly = await newReceiver(() => 200);
    allId = await subscribe(all, ['order.placed', 'order.confirmed', 'stock.reserved']);
    const confirmedId = await subscribe(confirmedOnly, ['order.confirmed']);
    firstOrders = await confirmedOrders(3);

    await waitFor(() => all.of(firstOrders).length >= 9 && confirmedOnly.of(firstOrders).length >= 3, { timeoutMs: 20_000, what: 'the deliveries' });
    const types = (r: Receiver) => r.of(firstOrders).map((d) => `${d.type} ${d.orderId}`);
    expect(types(all).sort()).toEqual(firstOrders.flatMap((id) => [`order.placed ${id}`, `order.confirmed ${id}`, `stock.reserved ${id}`]).sort());
    expect(types(confirmedOnly).sort()).toEqual(firstOrders.map((id) => `order.confirmed ${id}`).sort());
    for (const r of [all, confirmedOnly]) {
      expect(new Set(r.state.ids).size).toBe(r.state.ids.length); // de-duplicated count = raw count
      expect(r.state.unverified).toBe(0);
    }
    const rows = await waitFor(
      async () => {
        const items = await deliveries(allId);
        return items.length === 9 && items.every((d) => d.status === 'delivered') ? items : undefined;
      },
      { timeoutMs: 5_000, what: 'the delivery rows' },
    );
    for (const d of rows) expect(d).toMatchObject({ attempts: 1, lastStatusCode: 204, lastError: null });
    await unsubscribe(confirmedId);
  });

  it('sends the ping of the test endpoint through the same signed path', async () => {
    const res = await api.request('POST', `/v1/admin/webhooks/${allId}/test`, { token: admin, headers: { 'idempotency-key': randomUUID() } });
    expect(res.status).toBe(202);
    const ping = await waitFor(() => all.state.delivered.find((d) => d.id === res.body.eventId), { timeoutMs: 10_000, what: 'the ping' });
    expect(ping).toMatchObject({ type: 'webhook.ping', subject: allId });
  });

  it('retries a receiver that fails twice, and delivers once when it recovers (3 attempts)', async () => {
    const flaky = await newReceiver((n) => (n <= 2 ? 500 : 200));
    const id = await subscribe(flaky, ['order.confirmed']);
    const [orderId] = await confirmedOrders(1);
    await waitFor(() => flaky.of([orderId!]).length === 1, { timeoutMs: 20_000, what: 'the delivery after two failures' });
    const row = await waitFor(async () => (await deliveries(id)).find((d) => d.status === 'delivered'), { timeoutMs: 5_000, what: 'the delivery row' });
    expect(row).toMatchObject({ attempts: 3, lastStatusCode: 200 });
    expect(flaky.state.requests).toBe(3);
    await unsubscribe(id);
  });

  it('disables a subscription whose receiver answers 410, and sends it nothing more', async () => {
    const gone = await newReceiver(() => 410);
    const id = await subscribe(gone, ['order.placed']);
    await confirmedOrders(1);
    await waitFor(async () => (await api.request('GET', `/v1/admin/webhooks/${id}`, { token: admin })).body.enabled === false, {
      timeoutMs: 10_000,
      what: 'the subscription to be disabled',
    });
    expect((await api.request('GET', `/v1/admin/webhooks/${id}`, { token: admin })).body).toMatchObject({ enabled: false, disabledReason: 'gone' });
    expect(await deliveries(id)).toEqual([expect.objectContaining({ status: 'skipped', lastStatusCode: 410, attempts: 1 })]);
    // A later order.placed reaches the other subscription, not this one.
    const [second] = await confirmedOrders(1);
    await waitFor(() => all.of([second!]).some((d) => d.type === 'order.placed'), { timeoutMs: 10_000, what: 'the later fact elsewhere' });
    expect(gone.state.requests).toBe(1);
  });

  it('dead-letters the delivery of a receiver that never recovers, and replays it once', async () => {
    let recovered = false;
    const down = await newReceiver(() => (recovered ? 200 : 503));
    const id = await subscribe(down, ['order.confirmed']);
    const [orderId] = await confirmedOrders(1);
    const delivery = await waitFor(async () => (await deliveries(id)).find((d) => d.status === 'failed'), { timeoutMs: 40_000, what: 'the delivery to fail' });
    expect(delivery).toMatchObject({ attempts: 4, lastStatusCode: 503 });
    const letter = await waitFor(
      async () =>
        (await api.request('GET', '/v1/admin/dead-letters?source=rabbitmq&topic=webhook.deliver&status=pending', { token: admin })).body.items.find(
          (l: any) => l.key === delivery.id,
        ),
      { timeoutMs: 10_000, what: 'the dead letter' },
    );
    await api.request('PATCH', `/v1/admin/webhooks/${id}`, {
      token: admin,
      body: { events: ['order.cancelled'] },
      headers: { 'idempotency-key': randomUUID() },
    });

    recovered = true;
    const replay = () => api.request('POST', `/v1/admin/dead-letters/${letter.id}/replay`, { token: admin, headers: { 'idempotency-key': randomUUID() } });
    expect((await replay()).body).toMatchObject({ replayed: true });
    await waitFor(() => down.of([orderId!]).length === 1, { timeoutMs: 10_000, what: 'the replayed delivery' });
    expect(await waitFor(async () => (await deliveries(id)).find((d) => d.id === delivery.id && d.status === 'delivered'), { timeoutMs: 5_000 })).toMatchObject(
      {
        attempts: 5,
        lastStatusCode: 200,
      },
    );
    expect((await replay()).body).toMatchObject({ replayed: false, alreadyReplayed: true });
    await unsubscribe(id);
  }, 60_000);

  it('keeps delivering to a subscription while another receiver hangs past the timeout', async () => {
    const slow = await newReceiver(() => 'hang');
    const fast = await newReceiver(() => 200);
    const slowId = await subscribe(slow, ['order.placed', 'order.confirmed', 'stock.reserved']);
    const fastId = await subscribe(fast, ['order.confirmed']);
    const orders = await confirmedOrders(6);
    await waitFor(() => fast.of(orders).length === 6, { timeoutMs: 15_000, what: 'the fast deliveries' });
    // 18 deliveries to the hanging receiver take 4 slots x 3 s each without the per-subscription cap;
    // with it, each fast delivery goes out well within one timeout of its fact.
    const latencies = fast.of(orders).map((d) => d.at - d.eventTime);
    expect(Math.max(...latencies)).toBeLessThan(TIMEOUT_MS);
    expect(slow.state.requests).toBeGreaterThan(0);
    await unsubscribe(slowId);
    await unsubscribe(fastId);
  }, 60_000);

  it('never delivered any fact twice to the first subscription', async () => {
    expect(new Set(all.state.ids).size).toBe(all.state.ids.length);
    expect(all.of(firstOrders)).toHaveLength(9);
  });

  it('left an audit row for every webhook write', async () => {
    const audit = (await api.request('GET', '/v1/admin/audit?limit=200', { token: admin })).body.items as { action: string; outcome: string }[];
    const actions = new Set(audit.filter((a) => a.outcome === 'succeeded').map((a) => a.action));
    for (const action of ['webhook.create', 'webhook.update', 'webhook.delete', 'webhook.test']) expect(actions).toContain(action);
  });
});
