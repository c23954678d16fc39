import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { repoRoot } from '@orderflow/config';
import { createPool, databaseUrl } from '@orderflow/db';
import { testInfra, uniqueName, waitFor } from '@orderflow/testing';
import type { RunningTarget } from '../target';
import { floorDatabaseName, floorTarget } from './adapter';

jest.setTimeout(120_000);

let target: RunningTarget;
let label: string;
let adminToken: string;

beforeAll(async () => {
  // The adapter runs the bundle; building it takes a second and keeps the test honest about the source.
  execFileSync(process.execPath, ['scripts/build.mjs', 'bench-floor'], { cwd: repoRoot(__dirname), stdio: 'inherit' });
  label = uniqueName('floortest').replace(/[^a-z0-9_]/gi, '_');
  target = await floorTarget.start({ label, env: { DATABASE_URL: testInfra().databaseUrl, LOG_LEVEL: 'warn' } });
  adminToken = target.sign('bench-admin', 'admin');
});

afterAll(async () => {
  await target?.stop();
  await target?.cleanup();
});

async function putProduct(sku: string, stock: number, priceCents = 1_250): Promise<Response> {
  return fetch(`${target.url}/v1/admin/products/${sku}`, {
    method: 'PUT',
    headers: { Authorization: `Bearer ${adminToken}`, 'Content-Type': 'application/json' },
    body: JSON.stringify({ name: `Product ${sku}`, priceCents, stock }),
  });
}

function placeOrder(customer: string, key: string | undefined, body: unknown, token = target.sign(customer, 'customer')): Promise<Response> {
  return fetch(`${target.url}/v1/orders`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json', ...(key === undefined ? {} : { 'Idempotency-Key': key }) },
    body: JSON.stringify(body),
  });
}

const sku = (name: string) => `${name}-${randomUUID().slice(0, 8)}`.toUpperCase();

async function oneEmailEach(ids: string[]): Promise<Map<string, number>> {
  return waitFor(
    async () => {
      const counts = await target.emailsPerOrder(ids);
      return ids.every((id) => counts.has(id)) && counts;
    },
    { timeoutMs: 15_000, what: 'an e-mail file for every order' },
  );
}

test('confirms an order, reserves its stock and writes one e-mail file', async () => {
  const a = sku('beans');
  const b = sku('filter');
  expect((await putProduct(a, 10, 1_250)).status).toBe(201);
  expect((await putProduct(b, 5, 300)).status).toBe(201);
  expect((await putProduct(b, 6, 300)).status).toBe(200); // an update sets on_hand

  const res = await placeOrder('alice', randomUUID(), {
    items: [
      { sku: a, quantity: 2 },
      { sku: b, quantity: 1 },
    ],
  });
  expect(res.status).toBe(202);
  const order: any = await res.json();
  expect(res.headers.get('location')).toBe(`/v1/orders/${order.id}`);
  expect(order).toMatchObject({
    customerId: 'alice',
    status: 'CONFIRMED',
    items: [
      { sku: a, quantity: 2, unitPriceCents: 1_250 },
      { sku: b, quantity: 1, unitPriceCents: 300 },
    ],
    totalCents: 2_800,
  });
  expect(order.createdAt).toBe(order.updatedAt);

  expect(await target.stock([a, b])).toEqual(
    expect.arrayContaining([
      { sku: a, onHand: 10, reserved: 2 },
      { sku: b, onHand: 6, reserved: 1 },
    ]),
  );
  expect(await target.orderLines([order.id])).toEqual([
    { id: order.id, status: 'CONFIRMED', sku: a, quantity: 2 },
    { id: order.id, status: 'CONFIRMED', sku: b, quantity: 1 },
  ]);
  const [timing] = await target.timings([order.id]);
  expect(timing).toEqual({ id: order.id, placedAt: timing!.finishedAt, finishedAt: expect.any(Date), outcome: 'CONFIRMED' });
  expect((await oneEmailEach([order.id])).get(order.id)).toBe(1);
  // Setting stock below what is reserved is refused, as inventory refuses it.
  expect((await putProduct(a, 1)).status).toBe(409);
});

test('answers a retry with the same key with the stored response and no second order', async () => {
  const s = sku('kettle');
  await putProduct(s, 10);
  const key = randomUUID();
  const body = { items: [{ sku: s, quantity: 1 }] };
  const first = await placeOrder('bob-retry', key, body);
  expect(first.status).toBe(202);
  const firstBody = await first.text();

  const again = await placeOrder('bob-retry', key, body);
  expect(again.status).toBe(202);
  expect(again.headers.get('idempotent-replayed')).toBe('true');
  expect(again.headers.get('location')).toBe(first.headers.get('location'));
  expect(await again.text()).toBe(firstBody);

  const other = await placeOrder('bob-retry', key, { items: [{ sku: s, quantity: 2 }] });
  expect(other.status).toBe(422);
  expect(((await other.json()) as any).type).toBe('/problems/idempotency-key-reused');
  // Keys are per caller: another customer's same key is a new order.
  expect((await placeOrder('carol-retry', key, body)).status).toBe(202);

  expect(await target.idempotencyKeys('bob-retry')).toEqual({ keys: 1, distinctOrders: 1 });
  expect(await target.stock([s])).toEqual([{ sku: s, onHand: 10, reserved: 2 }]);

  // A twin still in flight holds the key's claim lock (server.ts CLAIM_SQL): 409, as the orchestrator.
  const pool = createPool(databaseUrl(testInfra().databaseUrl, floorDatabaseName(label)), 1);
  const lockKey = randomUUID();
  const holder = await pool.connect();
  try {
    await holder.query('SELECT pg_advisory_lock(hashtext($1), hashtext($2))', ['bob-retry', lockKey]);
    const busy = await placeOrder('bob-retry', lockKey, body);
    expect(busy.status).toBe(409);
    expect(((await busy.json()) as any).type).toBe('/problems/idempotency-key-in-use');
    await holder.query('SELECT pg_advisory_unlock_all()');
    expect((await placeOrder('bob-retry', lockKey, body)).status).toBe(202);
  } finally {
    holder.release();
    await pool.end();
  }
});

test('rejects an order the stock cannot cover and reserves nothing', async () => {
  const plenty = sku('mug');
  const scarce = sku('grinder');
  await putProduct(plenty, 50);
  await putProduct(scarce, 1);
  const res = await placeOrder('dave', randomUUID(), {
    items: [
      { sku: plenty, quantity: 3 },
      { sku: scarce, quantity: 2 },
    ],
  });
  expect(res.status).toBe(202);
  const order: any = await res.json();
  expect(order).toMatchObject({ status: 'REJECTED', reason: 'OUT_OF_STOCK' });
  expect(await target.stock([plenty, scarce])).toEqual(
    expect.arrayContaining([
      { sku: plenty, onHand: 50, reserved: 0 },
      { sku: scarce, onHand: 1, reserved: 0 },
    ]),
  );
  expect((await target.timings([order.id]))[0]?.outcome).toBe('REJECTED');
  // The rejection is mailed too, as orderflow does.
  expect((await oneEmailEach([order.id])).get(order.id)).toBe(1);
});

test('answers 401 problem+json without a valid token and 400 for an invalid body', async () => {
  const s = sku('scale');
  await putProduct(s, 5);
  const noToken = await fetch(`${target.url}/v1/orders`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', 'Idempotency-Key': 'k1' },
    body: '{}',
  });
  expect(noToken.status).toBe(401);
  expect(noToken.headers.get('content-type')).toMatch(/^application\/problem\+json/);
  expect(await noToken.json()).toMatchObject({ type: '/problems/unauthorized', status: 401 });

  const forged = await placeOrder('eve', randomUUID(), { items: [{ sku: s, quantity: 1 }] }, `${target.sign('eve', 'customer')}x`);
  expect(forged.status).toBe(401);
  const customerAsAdmin = await fetch(`${target.url}/v1/admin/products/${s}`, {
    method: 'PUT',
    headers: { Authorization: `Bearer ${target.sign('eve', 'customer')}`, 'Content-Type': 'application/json' },
    body: JSON.stringify({ name: 'x', priceCents: 1, stock: 1 }),
  });
  expect(customerAsAdmin.status).toBe(403);

  const invalid = await placeOrder('eve', randomUUID(), { items: [{ sku: s, quantity: 0 }], extra: true });
  expect(invalid.status).toBe(400);
  expect(await invalid.json()).toMatchObject({
    type: '/problems/validation-failed',
    errors: [{ pointer: '#/items/0/quantity' }, { pointer: '#/extra', detail: "Unrecognized key(s) in object: 'extra'" }],
  });
  const notJson = await fetch(`${target.url}/v1/orders`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${target.sign('eve', 'customer')}`, 'Content-Type': 'application/json', 'Idempotency-Key': randomUUID() },
    body: '{"items":',
  });
  expect(notJson.status).toBe(400);
  expect(((await notJson.json()) as any).type).toBe('/problems/malformed-json');

  const missingKey = await placeOrder('eve', undefined, { items: [{ sku: s, quantity: 1 }] });
  expect(missingKey.status).toBe(400);
  expect(((await missingKey.json()) as any).type).toBe('/problems/idempotency-key-missing');
  const longKey = await placeOrder('eve', 'k'.repeat(256), { items: [{ sku: s, quantity: 1 }] });
  expect(longKey.status).toBe(400);
  expect(((await longKey.json()) as any).type).toBe('/problems/idempotency-key-invalid');

  const unknownKey = randomUUID();
  const unknown = await placeOrder('eve', unknownKey, { items: [{ sku: 'NO-SUCH-SKU', quantity: 1 }] });
  expect(unknown.status).toBe(422);
  expect(await unknown.json()).toMatchObject({ type: '/problems/unknown-sku', detail: 'unknown sku: NO-SUCH-SKU' });
  // Nothing was kept for the refused requests: the key is free for a valid order.
  expect(await target.idempotencyKeys('eve')).toEqual({ keys: 0, distinctOrders: 0 });
  expect((await placeOrder('eve', unknownKey, { items: [{ sku: s, quantity: 1 }] })).status).toBe(202);
  expect(await target.stock([s])).toEqual([{ sku: s, onHand: 5, reserved: 1 }]);
});

test('keeps every answered order and writes each e-mail once across a SIGKILL and restart under load', async () => {
  const s = sku('crash');
  const stock = 60;
  const orders = 100;
  await putProduct(s, stock);
  const customers = Array.from({ length: orders }, (_, i) => `crash-${label}-${i % 10}`);
  const keys = Array.from({ length: orders }, () => randomUUID());
  const body = { items: [{ sku: s, quantity: 1 }] };
  const tokens = customers.map((c) => target.sign(c, 'customer'));
  const pidBefore = target.appPids().get('floor');

  // Fire all at once; SIGKILL the server once the first 20 have been answered, with the rest in flight.
  let answered = 0;
  let killing: Promise<void> | undefined;
  const first = await Promise.all(
    keys.map(async (key, i) => {
      try {
        const res = await placeOrder(customers[i]!, key, body, tokens[i]);
        const text = await res.text();
        if (++answered === 20) killing = target.killAndRestart();
        return { status: res.status, text };
      } catch {
        return undefined; // the connection died with the process
      }
    }),
  );
  await killing;
  expect(killing).toBeDefined();
  expect(target.appPids().get('floor')).not.toBe(pidBefore);
  expect(first.filter((r) => r === undefined).length).toBeGreaterThan(0);

  // Retry the unanswered ones with the same key until each is answered (409 while a dead twin's
  // transaction has not been rolled back yet).
  const final = await Promise.all(
    keys.map(async (key, i) => {
      const earlier = first[i];
      if (earlier && earlier.status === 202) return earlier;
      return waitFor(
        async () => {
          const res = await placeOrder(customers[i]!, key, body, tokens[i]);
          return res.status === 202 && { status: res.status, text: await res.text() };
        },
        { timeoutMs: 20_000, what: `order ${i} answered after the restart` },
      );
    }),
  );
  const placed = final.map((r) => JSON.parse(r.text) as { id: string; status: string });
  const ids = placed.map((o) => o.id);
  expect(new Set(ids).size).toBe(orders);

  // Every answer before the kill survived it, byte for byte.
  for (const [i, r] of first.entries()) {
    if (r?.status !== 202) continue;
    const replay = await placeOrder(customers[i]!, keys[i], body, tokens[i]);
    expect(await replay.text()).toBe(r.text);
  }

  const timings = await target.timings(ids);
  expect(timings).toHaveLength(orders);
  const outcome = new Map(timings.map((t) => [t.id, t.outcome]));
  for (const o of placed) expect(outcome.get(o.id)).toBe(o.status);
  const confirmed = placed.filter((o) => o.status === 'CONFIRMED').length;
  expect(confirmed).toBe(stock); // one unit each: exactly the stock is sold, the rest rejected
  expect(await target.stock([s])).toEqual([{ sku: s, onHand: stock, reserved: stock }]);
  expect(await target.idempotencyKeys(`crash-${label}-`)).toEqual({ keys: orders, distinctOrders: orders });

  const emails = await oneEmailEach(ids);
  expect([...emails.values()].every((n) => n === 1)).toBe(true);
});

test('rewrites, never duplicates, an e-mail whose file was written but not marked before a crash', async () => {
  const s = sku('remail');
  await putProduct(s, 5);
  const res = await placeOrder('frank', randomUUID(), { items: [{ sku: s, quantity: 1 }] });
  const { id } = (await res.json()) as { id: string };
  await oneEmailEach([id]);

  // The state a crash between the rename and the UPDATE leaves: the file on disk, the row pending;
  // then a crash and a restart. Whichever process picks the row up renames the same file over itself.
  const pool = createPool(databaseUrl(testInfra().databaseUrl, floorDatabaseName(label)), 1);
  try {
    expect((await pool.query('UPDATE emails SET written_at = NULL WHERE order_id = $1', [id])).rowCount).toBe(1);
    await target.killAndRestart();
    await waitFor(async () => (await pool.query('SELECT written_at FROM emails WHERE order_id = $1', [id])).rows[0]?.written_at, {
      timeoutMs: 15_000,
      what: 'the pending e-mail written again',
    });
  } finally {
    await pool.end();
  }
  expect((await target.emailsPerOrder([id])).get(id)).toBe(1);
});

// Last: it leaves the target stopped (afterAll's stop is then a no-op, and cleanup removes it all).
test('answers the requests in flight and writes their e-mails before it exits on SIGTERM', async () => {
  const s = sku('drain');
  await putProduct(s, 100);
  const requests = Array.from({ length: 40 }, () =>
    placeOrder('grace', randomUUID(), { items: [{ sku: s, quantity: 1 }] }).then(
      async (res) => ({ status: res.status, id: ((await res.json()) as { id?: string }).id }),
      () => undefined, // sent after the server stopped accepting
    ),
  );
  await waitFor(async () => (await target.stock([s]))[0]!.reserved > 0, { what: 'the first order committed' });
  await target.stop();
  const answers = (await Promise.all(requests)).filter((a) => a !== undefined);
  expect(answers.length).toBeGreaterThan(0);
  expect(answers.every((a) => a.status === 202)).toBe(true);
  const ids = answers.map((a) => a.id!);
  // Nothing runs any more: whatever was answered is written already, without waiting.
  const emails = await target.emailsPerOrder(ids);
  expect(ids.every((id) => emails.get(id) === 1)).toBe(true);
  expect((await target.stock([s]))[0]!.reserved).toBe(ids.length);
});
