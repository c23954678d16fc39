// The DBOS peer through its adapter, as bench-compare drives it: the built bundle, real Postgres, real files.
import { execFileSync } from 'node:child_process';
import { repoRoot } from '@orderflow/config';
import { createPool, databaseUrl } from '@orderflow/db';
import { uniqueName, waitFor } from '@orderflow/testing';
import type { RunningTarget } from '../target';
import { dbosDatabaseNames, dbosTarget } from './adapter';

const label = uniqueName('dbos');
let target: RunningTarget;

/** Workflows of callers starting with `prefix` that DBOS ran more than once (recovered after the kill), from its system database. */
async function recoveredWorkflows(prefix: string): Promise<number> {
  const pool = createPool(databaseUrl(process.env.DATABASE_URL!, dbosDatabaseNames(label).system), 1);
  try {
    const { rows } = await pool.query(
      'SELECT count(*)::int AS n FROM dbos.workflow_status WHERE left(workflow_uuid, length($1)) = $1 AND recovery_attempts > 1',
      [prefix],
    );
    return rows[0].n;
  } finally {
    await pool.end();
  }
}

beforeAll(async () => {
  execFileSync(process.execPath, ['scripts/build.mjs', 'bench-dbos'], { cwd: repoRoot(), stdio: 'inherit' });
  target = await dbosTarget.start({ label, env: { LOG_LEVEL: 'warn', OTEL_SDK_DISABLED: 'true' } });
}, 120_000);

afterAll(async () => {
  await target?.stop();
  await target?.cleanup();
});

async function putProduct(sku: string, stock: number, priceCents = 1_000): Promise<void> {
  const res = await fetch(`${target.url}/v1/admin/products/${sku}`, {
    method: 'PUT',
    headers: { authorization: `Bearer ${target.sign('admin', 'admin')}`, 'content-type': 'application/json' },
    body: JSON.stringify({ name: sku, priceCents, stock }),
  });
  expect(res.status).toBeLessThan(300);
}

function placeOrder(caller: string, key: string, items: { sku: string; quantity: number }[]): Promise<Response> {
  return fetch(`${target.url}/v1/orders`, {
    method: 'POST',
    headers: { authorization: `Bearer ${target.sign(caller, 'customer')}`, 'content-type': 'application/json', 'idempotency-key': key },
    body: JSON.stringify({ items }),
  });
}

async function terminal(ids: string[], timeoutMs = 20_000) {
  return waitFor(
    async () => {
      const timings = await target.timings(ids);
      return timings.length === ids.length && timings.every((t) => t.outcome !== null && t.finishedAt !== null) && timings;
    },
    { timeoutMs, what: `${ids.length} orders terminal` },
  );
}

async function emailsWritten(ids: string[]) {
  return waitFor(
    async () => {
      const emails = await target.emailsPerOrder(ids);
      return ids.every((id) => emails.has(id)) && emails;
    },
    { what: 'an e-mail for every order' },
  );
}

it('confirms an order through the workflow, reserves its stock and writes one e-mail file', async () => {
  const sku = `OK-${uniqueName()}`;
  await putProduct(sku, 10, 1_250);
  const placedBefore = Date.now();
  const res = await placeOrder('alice', uniqueName('key'), [{ sku, quantity: 3 }]);
  expect(res.status).toBe(202);
  expect(res.headers.get('location')).toMatch(/^\/v1\/orders\//);
  const order = (await res.json()) as { id: string };
  expect(order).toMatchObject({ customerId: 'alice', status: 'PENDING', items: [{ sku, quantity: 3, unitPriceCents: 1_250 }], totalCents: 3_750 });

  const [timing] = await terminal([order.id]);
  expect(timing).toMatchObject({ id: order.id, outcome: 'CONFIRMED' });
  expect(timing!.placedAt.getTime()).toBeGreaterThanOrEqual(placedBefore - 1_000);
  expect(timing!.finishedAt!.getTime()).toBeGreaterThanOrEqual(timing!.placedAt.getTime());
  expect(await target.orderLines([order.id])).toEqual([{ id: order.id, status: 'CONFIRMED', sku, quantity: 3 }]);
  expect(await target.stock([sku])).toEqual([{ sku, onHand: 10, reserved: 3 }]);
  expect(await emailsWritten([order.id])).toEqual(new Map([[order.id, 1]]));
});

it('answers a retry with the same key with the same order and starts no second workflow', async () => {
  const sku = `RETRY-${uniqueName()}`;
  await putProduct(sku, 10);
  const caller = uniqueName('retrier');
  const key = uniqueName('key');
  const first = await placeOrder(caller, key, [{ sku, quantity: 2 }]);
  const firstBody = await first.text();
  const again = await Promise.all([placeOrder(caller, key, [{ sku, quantity: 2 }]), placeOrder(caller, key, [{ sku, quantity: 2 }])]);
  expect([first.status, ...again.map((r) => r.status)]).toEqual([202, 202, 202]);
  for (const res of again) {
    expect(await res.text()).toBe(firstBody);
    expect(res.headers.get('idempotent-replayed')).toBe('true');
  }
  const { id } = JSON.parse(firstBody);

  await terminal([id]);
  expect(await target.idempotencyKeys(caller)).toEqual({ keys: 1, distinctOrders: 1 });
  expect(await target.orderLines([id])).toEqual([{ id, status: 'CONFIRMED', sku, quantity: 2 }]);
  expect(await target.stock([sku])).toEqual([{ sku, onHand: 10, reserved: 2 }]);
  expect(await emailsWritten([id])).toEqual(new Map([[id, 1]]));
});

it('rejects an order the stock cannot cover and reserves nothing', async () => {
  const [plenty, scarce] = [`PLENTY-${uniqueName()}`, `SCARCE-${uniqueName()}`];
  await putProduct(plenty, 100);
  await putProduct(scarce, 2);
  const res = await placeOrder('bob', uniqueName('key'), [
    { sku: plenty, quantity: 5 },
    { sku: scarce, quantity: 3 },
  ]);
  expect(res.status).toBe(202);
  const { id } = (await res.json()) as { id: string };

  const [timing] = await terminal([id]);
  expect(timing!.outcome).toBe('REJECTED');
  expect(await target.orderLines([id])).toEqual([
    { id, status: 'REJECTED', sku: plenty, quantity: 5 },
    { id, status: 'REJECTED', sku: scarce, quantity: 3 },
  ]);
  // All lines or none: the line that was available is not reserved either.
  expect(await target.stock([plenty, scarce])).toEqual(
    [
      { sku: plenty, onHand: 100, reserved: 0 },
      { sku: scarce, onHand: 2, reserved: 0 },
    ].sort((a, b) => (a.sku < b.sku ? -1 : 1)),
  );
  expect(await emailsWritten([id])).toEqual(new Map([[id, 1]]));
});

it('answers 401 problem+json without a valid token', async () => {
  const body = JSON.stringify({ items: [{ sku: 'ANY', quantity: 1 }] });
  for (const authorization of [undefined, 'Bearer not-a-jwt', `Bearer ${target.sign('alice', 'customer')}x`]) {
    const res = await fetch(`${target.url}/v1/orders`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'idempotency-key': uniqueName('key'), ...(authorization ? { authorization } : {}) },
      body,
    });
    expect(res.status).toBe(401);
    expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(await res.json()).toMatchObject({ type: '/problems/unauthorized', status: 401 });
  }
});

it('finishes every accepted workflow and writes each e-mail once across a SIGKILL and restart under load', async () => {
  const skus = [`KILL-A-${uniqueName()}`, `KILL-B-${uniqueName()}`];
  // Less stock than the load asks for, so both outcomes (confirmed, rejected) go through the crash.
  for (const sku of skus) await putProduct(sku, 90); // each sku is asked for about 120
  const prefix = `${uniqueName('crash')}-`;
  const requests = Array.from({ length: 100 }, (_, i) => ({
    caller: `${prefix}${i % 10}`,
    key: `order-${i}`,
    items: [{ sku: skus[i % 2]!, quantity: 1 + (i % 3) }, ...(i % 5 === 0 ? [{ sku: skus[(i + 1) % 2]!, quantity: 2 }] : [])],
  }));
  const answers = new Map<string, string>(); // key → order id

  const attempt = async (r: (typeof requests)[number]) => {
    try {
      const res = await placeOrder(r.caller, r.key, r.items);
      if (res.status === 202) answers.set(`${r.caller}/${r.key}`, ((await res.json()) as { id: string }).id);
      else await res.body?.cancel();
    } catch {
      // killed mid-request: unanswered, retried below with the same key
    }
  };
  const firstWave = Promise.all(requests.map(attempt));
  await waitFor(() => answers.size >= 25, { timeoutMs: 20_000, what: '25 answers before the kill' });
  await target.killAndRestart();
  await firstWave;
  const answeredBeforeRestart = new Map(answers);

  // The client's side of the contract: every unanswered request is sent again with the same key.
  await waitFor(
    async () => {
      await Promise.all(requests.filter((r) => !answers.has(`${r.caller}/${r.key}`)).map(attempt));
      return answers.size === requests.length;
    },
    { timeoutMs: 30_000, intervalMs: 200, what: 'an answer to every request' },
  );
  for (const [key, id] of answeredBeforeRestart) expect(answers.get(key)).toBe(id);

  const ids = [...new Set(answers.values())];
  expect(ids).toHaveLength(requests.length);
  const timings = await terminal(ids, 60_000);
  expect(timings.every((t) => t.outcome === 'CONFIRMED' || t.outcome === 'REJECTED')).toBe(true);
  expect(new Set(timings.map((t) => t.outcome))).toEqual(new Set(['CONFIRMED', 'REJECTED']));

  const lines = await target.orderLines(ids);
  expect(new Set(lines.map((l) => l.id))).toEqual(new Set(ids));
  const confirmed = new Map(skus.map((sku) => [sku, 0]));
  for (const l of lines) if (l.status === 'CONFIRMED') confirmed.set(l.sku, confirmed.get(l.sku)! + l.quantity);
  const stock = await target.stock(skus);
  for (const row of stock) expect({ sku: row.sku, reserved: row.reserved }).toEqual({ sku: row.sku, reserved: confirmed.get(row.sku) });

  const emails = await emailsWritten(ids);
  expect([...emails.values()].every((n) => n === 1)).toBe(true);
  expect(emails.size).toBe(ids.length);
  expect(await target.idempotencyKeys(prefix)).toEqual({ keys: requests.length, distinctOrders: requests.length });
  // The kill caught workflows half-way, and the restarted process finished them (not the retries, which start nothing).
  expect(await recoveredWorkflows(prefix)).toBeGreaterThan(0);
}, 180_000);
