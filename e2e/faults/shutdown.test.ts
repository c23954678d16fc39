// SIGTERM to each process in turn while orders keep coming: the process drains and exits 0 within
// SHUTDOWN_TIMEOUT_MS, no HTTP request is cut off, and afterwards every order is terminal, its stock
// moved once and its e-mail sent once. Clients retry a refused or 503 request with the same
// Idempotency-Key, as real ones do, and reach the orchestrator as through a load balancer: new
// connections only while its /readyz answers 200. On SIGTERM it answers 503 there for
// SHUTDOWN_DRAIN_MS while still serving, then closes its listener with nobody connecting (closing a
// listener resets connections still in the kernel's accept queue, which only that order prevents).
import { randomUUID } from 'node:crypto';
import { request } from 'node:http';
import { setTimeout as delay } from 'node:timers/promises';
import { waitFor } from '@orderflow/testing';
import { apiClient, mails } from '../support/client';
import { startSystem, type AppName, type System } from '../support/system';

const SHUTDOWN_TIMEOUT_MS = 10_000;
const SHUTDOWN_DRAIN_MS = 1_000;
const PROBE_EVERY_MS = 100;
let system: System;
let api: ReturnType<typeof apiClient>;
let admin: string;
let phase = 'load';

beforeAll(async () => {
  system = await startSystem('faults_sigterm', {
    env: { SHUTDOWN_TIMEOUT_MS: String(SHUTDOWN_TIMEOUT_MS), SHUTDOWN_DRAIN_MS: String(SHUTDOWN_DRAIN_MS), SAGA_MAX_ATTEMPTS: '100' },
  });
  api = apiClient(system.url);
  admin = system.token('ops', 'admin');
}, 120_000);

afterAll(() => system?.stop());

type Answer = { status: number; body: any } | { error: string };

/** One POST on a fresh connection (no keep-alive), so a refused connection and a reset one are told apart. */
function post(path: string, token: string, key: string, body: unknown): Promise<Answer> {
  const payload = JSON.stringify(body);
  return new Promise((resolve) => {
    const req = request(
      `${system.url}${path}`,
      {
        method: 'POST',
        agent: false,
        headers: { authorization: `Bearer ${token}`, 'idempotency-key': key, 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) },
      },
      (res) => {
        let text = '';
        res.on('data', (chunk: Buffer) => (text += chunk.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text ? JSON.parse(text) : undefined }));
        res.on('error', (error: NodeJS.ErrnoException) => resolve({ error: error.code ?? error.message }));
      },
    );
    req.on('error', (error: NodeJS.ErrnoException) => resolve({ error: error.code ?? error.message }));
    req.end(payload);
  });
}

/** Customers placing orders in `lanes` lanes, each order retried with its key until accepted. */
function orderLoad(skus: string[], lanes = 4, everyMs = 50) {
  const placed: { id: string; sku: string }[] = [];
  const resets: string[] = [];
  const refusedStatuses: string[] = [];
  let running = true;
  // The load balancer: probes /readyz and routes new connections only while it answers 200.
  let routable = true;
  const probe = (async () => {
    while (running) {
      routable = (await fetch(`${system.opsUrl('orchestrator')}/readyz`).catch(() => undefined))?.status === 200;
      await delay(PROBE_EVERY_MS);
    }
  })();
  const lane = async (n: number) => {
    for (let i = 0; running; i++) {
      const started = Date.now();
      const token = system.token(`sigterm-${n}-${i % 5}`);
      const sku = skus[(n + i) % skus.length]!;
      const key = randomUUID();
      for (let attempt = 0; ; attempt++) {
        while (!routable && running) await delay(PROBE_EVERY_MS);
        const answer = await post('/v1/orders', token, key, { items: [{ sku, quantity: 1 }] });
        if ('status' in answer && answer.status === 202) {
          placed.push({ id: answer.body.id, sku });
          break;
        }
        if ('error' in answer && answer.error !== 'ECONNREFUSED') resets.push(`${answer.error} at ${new Date().toISOString()} (${phase})`);
        if ('status' in answer && ![409, 503].includes(answer.status)) refusedStatuses.push(`${answer.status} ${JSON.stringify(answer.body)} (${phase})`);
        if (attempt > 600) throw new Error(`order with key ${key} not accepted after ${attempt} attempts; last answer: ${JSON.stringify(answer)}`);
        await delay(100); // client back-off between retries of one request
      }
      await delay(Math.max(0, everyMs - (Date.now() - started))); // the load's pace
    }
  };
  const done = Promise.all(Array.from({ length: lanes }, (_, n) => lane(n)));
  return {
    placed,
    resets,
    refusedStatuses,
    async stop() {
      running = false;
      await Promise.all([done, probe]);
    },
  };
}

it('drains each process on SIGTERM under load: exit 0 in time, no connection reset, every order terminal with one e-mail and its stock moved once', async () => {
  const stock = 100_000;
  const skus: string[] = [];
  for (let i = 0; i < 3; i++) {
    const sku = `TERM-${i}-${randomUUID().slice(0, 8)}`.toUpperCase();
    expect((await api.putProduct(admin, sku, { name: `Coffee ${sku}`, priceCents: 500, stock })).status).toBe(201);
    skus.push(sku);
  }
  const load = orderLoad(skus);
  const exits: { app: AppName; code: number | null; ms: number }[] = [];
  try {
    for (const app of ['order', 'inventory', 'notification', 'orchestrator'] as AppName[]) {
      const before = load.placed.length;
      await waitFor(() => load.placed.length >= before + 20, { timeoutMs: 30_000, what: `orders to flow before stopping ${app}` });
      const started = Date.now();
      phase = `stopping ${app}`;
      const code = await system.kill(app, 'SIGTERM');
      exits.push({ app, code, ms: Date.now() - started });
      phase = `restarting ${app}`;
      await system.start(app);
      phase = `after ${app}`;
    }
    const before = load.placed.length;
    await waitFor(() => load.placed.length >= before + 20, { timeoutMs: 30_000, what: 'orders to flow after the last restart' });
  } finally {
    await load.stop();
  }

  for (const exit of exits) expect({ app: exit.app, code: exit.code, inTime: exit.ms < SHUTDOWN_TIMEOUT_MS }).toEqual({ app: exit.app, code: 0, inTime: true });
  expect(load.resets).toEqual([]);
  if (load.refusedStatuses.length)
    console.log(
      system.logs
        .get('orchestrator')!
        .filter((l) => /"level":"(error|fatal)"/.test(l))
        .join('\n'),
    );
  expect(load.refusedStatuses).toEqual([]);

  const ids = load.placed.map((o) => o.id);
  expect(new Set(ids).size).toBe(ids.length);
  const statuses = await waitFor(
    async () => {
      const all: string[] = [];
      for (let i = 0; i < ids.length; i += 16) {
        const page = await Promise.all(ids.slice(i, i + 16).map(async (id) => (await api.getOrder(admin, id)).body.status as string));
        all.push(...page);
      }
      return all.every((s) => s !== 'PENDING') && all;
    },
    { timeoutMs: 90_000, intervalMs: 500, what: 'every order to be terminal' },
  );
  expect(statuses.filter((s) => s !== 'CONFIRMED')).toEqual([]);

  // One e-mail per order: count the order ids named in the mail files.
  const wanted = new Set(ids);
  const perOrder = await waitFor(
    () => {
      const counts = new Map<string, number>();
      for (const mail of mails(system.mailDir)) {
        for (const id of new Set(mail.text.match(/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g) ?? [])) {
          if (wanted.has(id)) counts.set(id, (counts.get(id) ?? 0) + 1);
        }
      }
      return counts.size === wanted.size && counts;
    },
    { timeoutMs: 60_000, intervalMs: 500, what: 'an e-mail for every order' },
  );
  expect([...perOrder].filter(([, n]) => n !== 1)).toEqual([]);

  // Stock moved exactly once per confirmed order (one unit each).
  for (const sku of skus) {
    const confirmed = load.placed.filter((o) => o.sku === sku).length;
    await waitFor(async () => (await api.product(admin, sku)).body.available === stock - confirmed, {
      timeoutMs: 10_000,
      what: `available stock of ${sku} to be ${stock - confirmed}`,
    });
  }
}, 300_000);
