// The OpenAPI document at /openapi.json against what the server really does: every documented operation
// is called for every status it documents, each real answer (status, content type, headers, body) is
// validated against the document, and the last test fails if any documented (operation, status) pair
// was never seen. /docs is rendered by headless Chromium.
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import Ajv2020 from 'ajv/dist/2020';
import addFormats from 'ajv-formats';
import amqp from 'amqplib';
import { Redis } from 'ioredis';
import { Kafka, logLevel } from 'kafkajs';
import { chromium } from 'playwright-core';
import { taskTopology } from '@orderflow/domain';
import { testInfra, waitFor } from '@orderflow/testing';
import { apiClient, type ApiResponse } from './support/client';
import { startSystem, type System } from './support/system';

// Debian's chromium here; CHROMIUM_PATH names another Chromium or Chrome (the GitHub workflow installs one).
const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
const DOC_ID = 'https://orderflow.dev/openapi.json';

let system: System;
let api: ReturnType<typeof apiClient>;
let admin: string;
let customer: string;
let customerId: string;
let doc: any;
const ajv = new Ajv2020({ strict: false, allErrors: true });
addFormats(ajv);

interface Operation {
  id: string;
  method: string;
  template: string;
  pattern: RegExp;
  pointer: string;
  responses: Record<string, any>;
}
const operations: Operation[] = [];
const seen = new Set<string>();

const escape = (s: string) => s.replace(/~/g, '~0').replace(/\//g, '~1');
const baseType = (contentType: string | null) => (contentType ?? '').split(';')[0]!.trim().toLowerCase();

beforeAll(async () => {
  system = await startSystem('e2e_openapi', { env: { GRPC_DEADLINE_MS: '1500' } });
  api = apiClient(system.url);
  admin = system.token('ops', 'admin');
  customerId = `contract-${randomUUID()}`;
  customer = system.token(customerId);
  doc = (await api.request('GET', '/openapi.json')).body;
  ajv.addSchema(doc, DOC_ID);
  for (const [template, item] of Object.entries<any>(doc.paths)) {
    for (const [method, op] of Object.entries<any>(item)) {
      const pattern = new RegExp(`^${template.replace(/\{[^}]+\}/g, '[^/]+')}$`);
      operations.push({
        id: op.operationId,
        method: method.toUpperCase(),
        template,
        pattern,
        pointer: `#/paths/${escape(template)}/${method}`,
        responses: op.responses,
      });
    }
  }
}, 120_000);

afterAll(() => system?.stop());

/** Validates one real answer against the document and records (operation, status) as seen. */
function check(method: string, path: string, res: ApiResponse): void {
  const bare = path.split('?')[0]!;
  const op = operations.find((o) => o.method === method && o.pattern.test(bare));
  if (!op) throw new Error(`${method} ${bare} is not in the document`);
  const documented = op.responses[String(res.status)];
  if (!documented) throw new Error(`${op.id} answered ${res.status}, which the document does not list: ${res.text.slice(0, 300)}`);
  seen.add(`${op.id} ${res.status}`);
  const where = `${op.id} ${res.status}`;

  const media = baseType(res.headers.get('content-type'));
  const content = documented.content as Record<string, unknown> | undefined;
  if (content) {
    if (!Object.keys(content).includes(media)) throw new Error(`${where}: content type ${media} is not one of ${Object.keys(content).join(', ')}`);
    const validate = ajv.getSchema(`${DOC_ID}${op.pointer}/responses/${res.status}/content/${escape(media)}/schema`)!;
    const body = media.endsWith('json') ? JSON.parse(res.text) : res.text;
    if (!validate(body)) throw new Error(`${where}: body does not match the document: ${ajv.errorsText(validate.errors)}\n${res.text.slice(0, 500)}`);
  }
  for (const [name, header] of Object.entries<any>(documented.headers ?? {})) {
    const value = res.headers.get(name);
    if (value === null) {
      if (header.required) throw new Error(`${where}: header ${name} is documented as required but missing`);
      continue;
    }
    const validate = ajv.compile(header.schema);
    if (!validate(value)) throw new Error(`${where}: header ${name}: ${JSON.stringify(value)} ${ajv.errorsText(validate.errors)}`);
  }
}

type CallOptions = { token?: string; body?: unknown; raw?: string; headers?: Record<string, string> };
async function call(method: string, path: string, options: CallOptions = {}, expected?: number): Promise<ApiResponse> {
  const res = await api.request(method, path, options);
  check(method, path, res);
  if (expected !== undefined && res.status !== expected)
    throw new Error(`${method} ${path}: expected ${expected}, got ${res.status}: ${res.text.slice(0, 300)}`);
  return res;
}
const key = () => ({ 'idempotency-key': randomUUID() });
const sku = () => `API-${randomUUID().slice(0, 8)}`.toUpperCase();
const hugeBody = JSON.stringify({ items: [{ sku: 'X'.repeat(70 * 1024), quantity: 1 }] });
const json = { 'content-type': 'application/json' };
const text = { 'content-type': 'text/plain' };

async function product(stock: number): Promise<string> {
  const s = sku();
  await call('PUT', `/v1/admin/products/${s}`, { token: admin, body: { name: `Beans ${s}`, priceCents: 700, stock }, headers: key() }, 201);
  return s;
}

/**
 * Places an order for `s` while the inventory service is stopped (SIGSTOP; the caller sends SIGCONT).
 * Pricing needs `s`'s price in the cache then. The product's own `stock.adjusted` fact drops it when it
 * is consumed, which may come after an earlier order cached it (503: the price is asked of the stopped
 * inventory); then the price is cached again with inventory running, until an order goes through.
 */
async function placeWhileInventoryStopped(s: string): Promise<string> {
  let placed: string | undefined;
  await waitFor(
    async () => {
      system.signal('inventory', 'SIGSTOP');
      const res = await call('POST', '/v1/orders', { token: customer, body: { items: [{ sku: s, quantity: 1 }] }, headers: key() });
      if (res.status === 202) return (placed = res.body.id as string);
      expect({ status: res.status, type: res.body.type }).toEqual({ status: 503, type: '/problems/unavailable' });
      system.signal('inventory', 'SIGCONT');
      await confirmedOrder(customer, s);
      return undefined;
    },
    { timeoutMs: 60_000, what: 'an order placed while the inventory service is stopped' },
  );
  return placed!;
}

async function confirmedOrder(token: string, s: string, quantity = 1): Promise<string> {
  const placed = await call('POST', '/v1/orders', { token, body: { items: [{ sku: s, quantity }] }, headers: key() }, 202);
  await api.settled(token, placed.body.id, 'CONFIRMED', 60_000);
  return placed.body.id;
}

describe('operations endpoints', () => {
  it('answer /openapi.json as documented; the ops routes are not on the public port but on the ops port', async () => {
    await call('GET', '/openapi.json', {}, 200);
    for (const path of ['/healthz', '/readyz', '/status', '/metrics']) {
      expect({ path, status: (await fetch(`${system.url}${path}`)).status }).toEqual({ path, status: 404 });
      expect({ path, status: (await fetch(`${system.opsUrl('orchestrator')}${path}`)).status }).toEqual({ path, status: 200 });
    }
  });

  it('resolve the `type` of every problem the server answers with to its page', async () => {
    const invalid = await call('POST', '/v1/orders', { token: customer, body: { items: [{ sku: 'BEANS', quantity: 0 }], note: 'x' }, headers: key() }, 400);
    expect(invalid.body.errors).toEqual([
      { detail: 'Number must be greater than or equal to 1', pointer: '#/items/0/quantity' },
      { detail: "Unrecognized key(s) in object: 'note'", pointer: '#/note' },
    ]);
    const page = await call('GET', invalid.body.type, {}, 200); // a reference relative to the API: it resolves here
    expect(page.text).toContain('Request is not valid');
    await call('GET', '/problems/no-such-problem', {}, 404);
  });
});

describe('orders', () => {
  it('place: 202, replayed 202, 400, 401, 413, 415, 422 (reused key and unknown sku)', async () => {
    const s = await product(100);
    const headers = key();
    const first = await call('POST', '/v1/orders', { token: customer, body: { items: [{ sku: s, quantity: 1 }] }, headers }, 202);
    const replay = await call('POST', '/v1/orders', { token: customer, body: { items: [{ sku: s, quantity: 1 }] }, headers }, 202);
    expect(replay.headers.get('idempotent-replayed')).toBe('true');
    expect(replay.body.id).toBe(first.body.id);
    await call('POST', '/v1/orders', { token: customer, body: { items: [{ sku: s, quantity: 2 }] }, headers }, 422);
    await call('POST', '/v1/orders', { token: customer, body: { items: [{ sku: 'NO-SUCH-SKU', quantity: 1 }] }, headers: key() }, 422);
    await call('POST', '/v1/orders', { token: customer, body: { items: [] }, headers: key() }, 400);
    await call('POST', '/v1/orders', { token: customer, body: { items: [{ sku: s, quantity: 1 }] } }, 400);
    await call('POST', '/v1/orders', { token: customer, raw: '{"items":', headers: { ...json, ...key() } }, 400);
    await call('POST', '/v1/orders', { body: { items: [{ sku: s, quantity: 1 }] }, headers: key() }, 401);
    await call('POST', '/v1/orders', { token: customer, raw: hugeBody, headers: { ...json, ...key() } }, 413);
    await call('POST', '/v1/orders', { token: customer, raw: 'one bag please', headers: { ...text, ...key() } }, 415);
  });

  it('read and list: 200, 400, 401, 404', async () => {
    const s = await product(10);
    const id = await confirmedOrder(customer, s);
    await call('GET', `/v1/orders/${id}`, { token: customer }, 200);
    await call('GET', `/v1/orders/${id}`, { token: system.token('someone-else') }, 404);
    await call('GET', `/v1/orders/${randomUUID()}`, { token: admin }, 404);
    await call('GET', `/v1/orders/${id}`, {}, 401);
    const page = await call('GET', '/v1/orders?limit=1', { token: admin }, 200);
    expect(page.body.nextCursor).toEqual(expect.any(String));
    await call('GET', `/v1/orders?limit=1&cursor=${encodeURIComponent(page.body.nextCursor)}`, { token: admin }, 200);
    await call('GET', '/v1/orders?limit=0', { token: customer }, 400);
    await call('GET', '/v1/orders', {}, 401);
  });

  it('cancel: 202, 400, 401, 404, 409, 413, 415, 422', async () => {
    const s = await product(10);
    const id = await confirmedOrder(customer, s);
    const headers = key();
    await call('POST', `/v1/orders/${id}/cancel`, { token: customer, headers }, 202);
    await api.settled(customer, id, 'CANCELLED', 60_000);
    await call('POST', `/v1/orders/${id}/cancel`, { token: customer, headers: key() }, 409);
    const other = await confirmedOrder(customer, s);
    await call('POST', `/v1/orders/${other}/cancel`, { token: customer, headers }, 422);
    await call('POST', `/v1/orders/${randomUUID()}/cancel`, { token: customer, headers: key() }, 404);
    await call('POST', `/v1/orders/${other}/cancel`, { token: customer }, 400);
    await call('POST', `/v1/orders/${other}/cancel`, { headers: key() }, 401);
    await call('POST', `/v1/orders/${other}/cancel`, { token: customer, raw: hugeBody, headers: { ...json, ...key() } }, 413);
    await call('POST', `/v1/orders/${other}/cancel`, { token: customer, raw: 'please', headers: { ...text, ...key() } }, 415);
  });
});

describe('products', () => {
  it('list, read and upsert: 200, 201, 400, 401, 403, 404, 409, 413, 415', async () => {
    const s = await product(5);
    await call('PUT', `/v1/admin/products/${s}`, { token: admin, body: { name: 'Renamed', priceCents: 700, stock: 5 }, headers: key() }, 200);
    await call('GET', '/v1/products', { token: customer }, 200);
    const stock = await call('GET', '/v1/admin/products', { token: admin }, 200);
    expect(stock.body.items.find((p: { sku: string }) => p.sku === s)).toEqual({ sku: s, name: 'Renamed', priceCents: 700, available: 5, onHand: 5 });
    await call('GET', '/v1/admin/products', { token: customer }, 403);
    await call('GET', '/v1/admin/products', {}, 401);
    await call('GET', `/v1/products/${s}`, { token: customer }, 200);
    await call('GET', `/v1/products/${sku()}`, { token: customer }, 404);
    await call('GET', '/v1/products', {}, 401);
    await call('GET', `/v1/products/${s}`, {}, 401);
    await confirmedOrder(customer, s, 3);
    await call('PUT', `/v1/admin/products/${s}`, { token: admin, body: { name: 'Renamed', priceCents: 700, stock: 1 }, headers: key() }, 409);
    await call('PUT', `/v1/admin/products/${s}`, { token: admin, body: { name: '', priceCents: -1, stock: 1 }, headers: key() }, 400);
    await call('PUT', `/v1/admin/products/${s}`, { token: customer, body: { name: 'x', priceCents: 1, stock: 1 }, headers: key() }, 403);
    await call('PUT', `/v1/admin/products/${s}`, { body: { name: 'x', priceCents: 1, stock: 1 }, headers: key() }, 401);
    await call('PUT', `/v1/admin/products/${s}`, { token: admin, raw: hugeBody, headers: { ...json, ...key() } }, 413);
    await call('PUT', `/v1/admin/products/${s}`, { token: admin, raw: 'x', headers: { ...text, ...key() } }, 415);
    const headers = key();
    await call('PUT', `/v1/admin/products/${s}`, { token: admin, body: { name: 'Renamed', priceCents: 700, stock: 6 }, headers }, 200);
    await call('PUT', `/v1/admin/products/${s}`, { token: admin, body: { name: 'Renamed', priceCents: 800, stock: 6 }, headers }, 422);
    await call('PUT', `/v1/admin/products/${s}`, { token: admin, body: { name: 'Renamed', priceCents: 800, stock: 6 } }, 400);
  });
});

describe('admin', () => {
  it('sagas and stats: 200, 401, 403, 404', async () => {
    const id = await confirmedOrder(customer, await product(5));
    await call('GET', `/v1/admin/sagas/${id}`, { token: admin }, 200);
    await call('GET', `/v1/admin/sagas/${randomUUID()}`, { token: admin }, 404);
    await call('GET', `/v1/admin/sagas/${id}`, { token: customer }, 403);
    await call('GET', `/v1/admin/sagas/${id}`, {}, 401);
    await call('GET', '/v1/admin/stats', { token: admin }, 200);
    await call('GET', '/v1/admin/stats', { token: customer }, 403);
    await call('GET', '/v1/admin/stats', {}, 401);
  });

  it('dead letters: list 200 and 400, replay 202 (Kafka) and 409 (not JSON, RabbitMQ), 401, 403, 404', async () => {
    // A message the saga consumer cannot decode goes to order-events.dlq; a task that is not JSON to the task DLQ.
    const kafka = new Kafka({ brokers: testInfra().kafkaBrokers, clientId: 'e2e-openapi', logLevel: logLevel.NOTHING });
    const producer = kafka.producer();
    await producer.connect();
    await producer.send({ topic: system.topics.orderEvents, messages: [{ key: randomUUID(), value: 'not a cloud event' }] });
    await producer.disconnect();
    const connection = await amqp.connect(testInfra().amqpUrl);
    const channel = await connection.createConfirmChannel();
    const topology = taskTopology(system.prefix);
    channel.publish(topology.exchange, topology.routingKey, Buffer.from('not json'), {
      persistent: true,
      messageId: randomUUID(),
      correlationId: randomUUID(),
    });
    await channel.waitForConfirms();
    await connection.close();

    const letters = await waitFor(
      async () => {
        const res = await call('GET', '/v1/admin/dead-letters', { token: admin }, 200);
        const kafkaLetter = res.body.items.find((d: any) => d.source === 'kafka');
        const rabbitLetter = res.body.items.find((d: any) => d.source === 'rabbitmq');
        return kafkaLetter && rabbitLetter && { kafkaLetter, rabbitLetter };
      },
      { timeoutMs: 30_000, intervalMs: 250, what: 'a Kafka and a RabbitMQ dead letter' },
    );
    await call('GET', '/v1/admin/dead-letters?limit=1', { token: admin }, 200);
    await call('GET', '/v1/admin/dead-letters?limit=0', { token: admin }, 400);
    await call('GET', '/v1/admin/dead-letters', { token: customer }, 403);
    await call('GET', '/v1/admin/dead-letters', {}, 401);
    await call('GET', `/v1/admin/dead-letters?source=kafka&status=pending&topic=${system.topics.orderEvents}`, { token: admin }, 200);
    await call('GET', '/v1/admin/dead-letters?status=lost', { token: admin }, 400);
    const replayKey = key();
    await call('POST', `/v1/admin/dead-letters/${letters.kafkaLetter.id}/replay`, { token: admin, headers: replayKey }, 202);
    await call('POST', `/v1/admin/dead-letters/${letters.rabbitLetter.id}/replay`, { token: admin, headers: replayKey }, 422);
    await call('POST', `/v1/admin/dead-letters/${letters.rabbitLetter.id}/replay`, { token: admin, headers: key() }, 409);
    await call('POST', `/v1/admin/dead-letters/${letters.rabbitLetter.id}/replay`, { token: admin }, 400);
    await call('POST', `/v1/admin/dead-letters/${letters.rabbitLetter.id}/replay`, { token: admin, raw: hugeBody, headers: { ...json, ...key() } }, 413);
    await call('POST', `/v1/admin/dead-letters/${letters.rabbitLetter.id}/replay`, { token: admin, raw: 'x', headers: { ...text, ...key() } }, 415);
    await call('POST', `/v1/admin/dead-letters/${randomUUID()}/replay`, { token: admin, headers: key() }, 404);
    await call('POST', `/v1/admin/dead-letters/${letters.kafkaLetter.id}/replay`, { token: customer, headers: key() }, 403);
    await call('POST', `/v1/admin/dead-letters/${letters.kafkaLetter.id}/replay`, { headers: key() }, 401);

    // Discard: 200 (twice), 409 once replayed, 404, and the key and body errors.
    const discard = (id: string, options: CallOptions, status: number) => call('POST', `/v1/admin/dead-letters/${id}/discard`, options, status);
    const reason = { reason: 'not JSON; the sender was fixed' };
    const discardKey = key();
    expect((await discard(letters.rabbitLetter.id, { token: admin, body: reason, headers: discardKey }, 200)).body).toMatchObject({ alreadyDiscarded: false });
    expect((await discard(letters.rabbitLetter.id, { token: admin, body: reason, headers: key() }, 200)).body).toMatchObject({ alreadyDiscarded: true });
    await discard(letters.kafkaLetter.id, { token: admin, body: reason, headers: discardKey }, 422);
    await discard(letters.kafkaLetter.id, { token: admin, body: reason, headers: key() }, 409);
    await discard(randomUUID(), { token: admin, body: reason, headers: key() }, 404);
    await discard(letters.kafkaLetter.id, { token: admin, body: {}, headers: key() }, 400);
    await discard(letters.kafkaLetter.id, { token: admin, raw: hugeBody, headers: { ...json, ...key() } }, 413);
    await discard(letters.kafkaLetter.id, { token: admin, raw: 'x', headers: { ...text, ...key() } }, 415);
    await discard(letters.kafkaLetter.id, { token: customer, body: reason, headers: key() }, 403);
    await discard(letters.kafkaLetter.id, { body: reason, headers: key() }, 401);

    // Replay of every matching letter: 202, and the key and body errors.
    const bulk = (options: CallOptions, status: number) => call('POST', '/v1/admin/dead-letters/replay', options, status);
    const bulkKey = key();
    expect((await bulk({ token: admin, body: { source: 'kafka', topic: `none-${randomUUID()}` }, headers: bulkKey }, 202)).body).toEqual({
      matched: 0,
      replayed: 0,
      skipped: 0,
      more: false,
    });
    await bulk({ token: admin, body: { source: 'rabbitmq' }, headers: bulkKey }, 422);
    await bulk({ token: admin, body: { source: 'elsewhere' }, headers: key() }, 400);
    await bulk({ token: admin, raw: hugeBody, headers: { ...json, ...key() } }, 413);
    await bulk({ token: admin, raw: 'x', headers: { ...text, ...key() } }, 415);
    await bulk({ token: customer, body: {}, headers: key() }, 403);
    await bulk({ body: {}, headers: key() }, 401);
  });

  it('saga search, retry and cancel, and the audit log: 200, 202, 400, 401, 403, 404, 409, 413, 415, 422', async () => {
    const s = await product(5);
    const confirmed = await confirmedOrder(customer, s);
    const search = await call('GET', `/v1/admin/sagas?customerId=${customerId}&state=COMPLETED&limit=100`, { token: admin }, 200);
    expect(search.body.items.map((saga: { orderId: string }) => saga.orderId)).toContain(confirmed);
    const page = await call('GET', '/v1/admin/sagas?state=COMPLETED&limit=1', { token: admin }, 200);
    expect(page.body.nextCursor).toEqual(expect.any(String));
    await call('GET', `/v1/admin/sagas?state=COMPLETED&limit=1&cursor=${encodeURIComponent(page.body.nextCursor)}`, { token: admin }, 200);
    await call('GET', '/v1/admin/sagas?state=STUCK', { token: admin }, 400);
    await call('GET', '/v1/admin/sagas', { token: customer }, 403);
    await call('GET', '/v1/admin/sagas', {}, 401);

    // A saga waits for a retry while the inventory service does not answer; an operator runs it now.
    let waiting: string;
    try {
      waiting = await placeWhileInventoryStopped(s);
      await waitFor(async () => (await call('GET', `/v1/admin/sagas/${waiting}`, { token: admin }, 200)).body.state === 'WAITING', {
        timeoutMs: 30_000,
        what: 'the saga to wait for a retry',
      });
      const retryKey = key();
      await call('POST', `/v1/admin/sagas/${waiting}/retry`, { token: admin, headers: retryKey }, 202);
      await call('POST', `/v1/admin/sagas/${confirmed}/retry`, { token: admin, headers: retryKey }, 422);
    } finally {
      system.signal('inventory', 'SIGCONT');
    }
    await call('POST', `/v1/admin/sagas/${confirmed}/retry`, { token: admin, headers: key() }, 409);
    await call('POST', `/v1/admin/sagas/${randomUUID()}/retry`, { token: admin, headers: key() }, 404);
    await call('POST', `/v1/admin/sagas/${confirmed}/retry`, { token: admin }, 400);
    await call('POST', `/v1/admin/sagas/${confirmed}/retry`, { token: admin, raw: hugeBody, headers: { ...json, ...key() } }, 413);
    await call('POST', `/v1/admin/sagas/${confirmed}/retry`, { token: admin, raw: 'x', headers: { ...text, ...key() } }, 415);
    await call('POST', `/v1/admin/sagas/${confirmed}/retry`, { token: customer, headers: key() }, 403);
    await call('POST', `/v1/admin/sagas/${confirmed}/retry`, { headers: key() }, 401);

    const cancel = (id: string, options: CallOptions, status: number) => call('POST', `/v1/admin/sagas/${id}/cancel`, options, status);
    const reason = { reason: 'customer called: wrong address' };
    const cancelKey = key();
    await cancel(confirmed, { token: admin, body: reason, headers: cancelKey }, 202);
    await api.settled(customer, confirmed, 'CANCELLED', 60_000);
    await cancel(confirmed, { token: admin, body: reason, headers: key() }, 409);
    await cancel(waiting, { token: admin, body: reason, headers: cancelKey }, 422);
    await cancel(randomUUID(), { token: admin, body: reason, headers: key() }, 404);
    await cancel(waiting, { token: admin, body: { reason: '' }, headers: key() }, 400);
    await cancel(waiting, { token: admin, raw: hugeBody, headers: { ...json, ...key() } }, 413);
    await cancel(waiting, { token: admin, raw: 'x', headers: { ...text, ...key() } }, 415);
    await cancel(waiting, { token: customer, body: reason, headers: key() }, 403);
    await cancel(waiting, { body: reason, headers: key() }, 401);

    const audit = await call('GET', '/v1/admin/audit?limit=2', { token: admin }, 200);
    expect(audit.body.nextCursor).toEqual(expect.any(String));
    await call('GET', `/v1/admin/audit?limit=2&cursor=${encodeURIComponent(audit.body.nextCursor)}`, { token: admin }, 200);
    await call('GET', '/v1/admin/audit?cursor=bm90LWFuLWlk', { token: admin }, 400);
    await call('GET', '/v1/admin/audit', { token: customer }, 403);
    await call('GET', '/v1/admin/audit', {}, 401);
  });
});

describe('partner API keys', () => {
  it('create, list and revoke: 200, 201, 204, 400, 401, 403, 404, 413, 415, 422', async () => {
    const create = (options: CallOptions, status: number) => call('POST', '/v1/admin/api-keys', options, status);
    const body = { name: 'Reseller A', scopes: ['orders:write', 'orders:read'] };
    const createKey = key();
    const created = await create({ token: admin, body, headers: createKey }, 201);
    expect(created.body.key).toMatch(/^ofk_[0-9a-f]{32}_[A-Za-z0-9_-]{43}$/);
    const replayed = await create({ token: admin, body, headers: createKey }, 201);
    expect(replayed.headers.get('idempotent-replayed')).toBe('true');
    expect(replayed.body).toEqual({ ...created.body, key: null }); // the secret is kept nowhere
    await create({ token: admin, body: { ...body, name: 'Reseller B' }, headers: createKey }, 422);
    await create({ token: admin, body: { ...body, scopes: ['orders:everything'] }, headers: key() }, 400);
    await create({ token: admin, raw: hugeBody, headers: { ...json, ...key() } }, 413);
    await create({ token: admin, raw: 'x', headers: { ...text, ...key() } }, 415);
    await create({ token: customer, body, headers: key() }, 403);
    await create({ body, headers: key() }, 401);

    const list = await call('GET', '/v1/admin/api-keys?limit=1', { token: admin }, 200);
    expect(JSON.stringify(list.body)).not.toContain(created.body.key);
    await call('GET', '/v1/admin/api-keys?limit=0', { token: admin }, 400);
    await call('GET', '/v1/admin/api-keys', { token: customer }, 403);
    await call('GET', '/v1/admin/api-keys', {}, 401);

    const revoke = (id: string, options: CallOptions, status: number) => call('DELETE', `/v1/admin/api-keys/${id}`, options, status);
    await revoke(created.body.id, { token: admin, headers: key() }, 204);
    await revoke(created.body.id, { token: admin, headers: key() }, 204);
    await revoke(randomUUID(), { token: admin, headers: key() }, 404);
    await revoke(created.body.id, { token: admin }, 400);
    await revoke(created.body.id, { token: admin, headers: createKey }, 422);
    await revoke(created.body.id, { token: customer, headers: key() }, 403);
    await revoke(created.body.id, { headers: key() }, 401);
    // A revoked key is refused at once.
    await call('GET', '/v1/orders', { headers: { 'x-api-key': created.body.key } }, 401);
  });
});

describe('webhooks', () => {
  it('subscribe, list, read, update, test, deliveries and delete: 200, 201, 202, 204, 400, 401, 403, 404, 409, 413, 415, 422', async () => {
    // A name that never resolves: accepted at subscribe time (every delivery checks the addresses again).
    const body = { url: 'https://partner.invalid/orderflow', events: ['order.cancelled'], description: 'contract test' };
    const create = (options: CallOptions, status: number) => call('POST', '/v1/admin/webhooks', options, status);
    const createKey = key();
    const created = await create({ token: admin, body, headers: createKey }, 201);
    expect(created.body.secret).toMatch(/^whsec_/);
    const id = created.body.id as string;
    await create({ token: admin, body: { ...body, description: 'other' }, headers: createKey }, 422);
    await create({ token: admin, body: { ...body, url: 'http://partner.invalid/orderflow' }, headers: key() }, 400);
    await create({ token: admin, body: { ...body, url: 'https://127.0.0.1/orderflow' }, headers: key() }, 400);
    await create({ token: admin, body: { ...body, events: ['order.shipped'] }, headers: key() }, 400);
    await create({ token: admin, raw: hugeBody, headers: { ...json, ...key() } }, 413);
    await create({ token: admin, raw: 'x', headers: { ...text, ...key() } }, 415);
    await create({ token: customer, body, headers: key() }, 403);
    await create({ body, headers: key() }, 401);

    const list = await call('GET', '/v1/admin/webhooks?limit=1', { token: admin }, 200);
    expect(JSON.stringify(list.body)).not.toContain(created.body.secret);
    await call('GET', '/v1/admin/webhooks?limit=0', { token: admin }, 400);
    await call('GET', '/v1/admin/webhooks', { token: customer }, 403);
    await call('GET', '/v1/admin/webhooks', {}, 401);
    expect((await call('GET', `/v1/admin/webhooks/${id}`, { token: admin }, 200)).body).not.toHaveProperty('secret');
    await call('GET', `/v1/admin/webhooks/${randomUUID()}`, { token: admin }, 404);
    await call('GET', `/v1/admin/webhooks/${id}`, { token: customer }, 403);
    await call('GET', `/v1/admin/webhooks/${id}`, {}, 401);

    const test = (options: CallOptions, status: number, target = id) => call('POST', `/v1/admin/webhooks/${target}/test`, options, status);
    await test({ token: admin, headers: key() }, 202);
    await test({ token: admin, headers: key() }, 404, randomUUID());
    await test({ token: admin }, 400);
    await test({ token: admin, headers: createKey }, 422);
    await test({ token: customer, headers: key() }, 403);
    await test({ headers: key() }, 401);

    const update = (options: CallOptions, status: number, target = id) => call('PATCH', `/v1/admin/webhooks/${target}`, options, status);
    expect((await update({ token: admin, body: { enabled: false }, headers: key() }, 200)).body).toMatchObject({ enabled: false, disabledReason: 'admin' });
    await test({ token: admin, headers: key() }, 409);
    await update({ token: admin, body: { enabled: true }, headers: key() }, 404, randomUUID());
    await update({ token: admin, body: {}, headers: key() }, 400);
    // A new URL meets the same rule as a subscription's first: a private address is refused.
    expect((await update({ token: admin, body: { url: 'https://10.0.0.7/hook' }, headers: key() }, 400)).body.detail).toMatch(/private|public|address/i);
    await update({ token: admin, body: { enabled: true }, headers: createKey }, 422);
    await update({ token: admin, raw: hugeBody, headers: { ...json, ...key() } }, 413);
    await update({ token: admin, raw: 'x', headers: { ...text, ...key() } }, 415);
    await update({ token: customer, body: { enabled: true }, headers: key() }, 403);
    await update({ body: { enabled: true }, headers: key() }, 401);

    const deliveries = await call('GET', `/v1/admin/webhooks/${id}/deliveries?limit=10`, { token: admin }, 200);
    // The ping, and any order.cancelled fact of this file's other tests the dispatcher consumed after the subscription was made.
    expect(deliveries.body.items.filter((d: { eventType: string }) => d.eventType === 'webhook.ping')).toEqual([
      expect.objectContaining({ subscriptionId: id }),
    ]);
    expect(
      deliveries.body.items.every(
        (d: { eventType: string; subscriptionId: string }) => d.subscriptionId === id && ['webhook.ping', 'order.cancelled'].includes(d.eventType),
      ),
    ).toBe(true);
    await call('GET', `/v1/admin/webhooks/${id}/deliveries?limit=0`, { token: admin }, 400);
    await call('GET', `/v1/admin/webhooks/${randomUUID()}/deliveries`, { token: admin }, 404);
    await call('GET', `/v1/admin/webhooks/${id}/deliveries`, { token: customer }, 403);
    await call('GET', `/v1/admin/webhooks/${id}/deliveries`, {}, 401);

    const remove = (options: CallOptions, status: number, target = id) => call('DELETE', `/v1/admin/webhooks/${target}`, options, status);
    await remove({ token: admin }, 400);
    await remove({ token: admin, headers: createKey }, 422);
    await remove({ token: customer, headers: key() }, 403);
    await remove({ headers: key() }, 401);
    await remove({ token: admin, headers: key() }, 204);
    await remove({ token: admin, headers: key() }, 404);
  });
});

describe('rate limit', () => {
  it('answers 429 with Retry-After and RateLimit headers on every /v1 operation once a caller has spent its minute', async () => {
    const redis = new Redis(testInfra().redisUrl);
    const s = await product(5);
    const id = await confirmedOrder(customer, s);
    const spent = async (role: 'customer' | 'admin') => {
      const sub = `limited-${randomUUID()}`;
      // The caller's own counter (`<prefix>ratelimit:<sub>`, http/rate-limit.ts) holds far more than a minute's budget.
      await redis.set(`${system.prefix}ratelimit:${sub}`, '1000000000', 'PX', 60_000);
      return system.token(sub, role);
    };
    try {
      for (const op of operations.filter((o) => o.template.startsWith('/v1/'))) {
        const path = op.template.replace('{id}', id).replace('{orderId}', id).replace('{sku}', s);
        await call(op.method, path, { token: await spent(op.template.startsWith('/v1/admin') ? 'admin' : 'customer'), headers: key() }, 429);
      }
    } finally {
      redis.disconnect();
    }
  });
});

describe('/docs', () => {
  it('renders the document in headless Chromium with the order operations on the page', async () => {
    if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: install Debian's chromium (make system-deps does) or set CHROMIUM_PATH`);
    const browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run'],
    });
    try {
      const page = await browser.newPage();
      const errors: string[] = [];
      page.on('pageerror', (error) => errors.push(error.message));
      const res = await page.goto(`${system.url}/docs`);
      expect(res?.status()).toBe(200);
      await page.locator('.opblock-summary').first().waitFor({ timeout: 20_000 });
      // Swagger UI puts zero-width break opportunities into long paths.
      const text = (await page.locator('#swagger-ui').innerText()).replace(/[\u200b\u00ad]/g, '');
      for (const expected of ['orderflow', 'POST', '/v1/orders', 'Place an order', 'Cancel a PENDING or CONFIRMED order', '/v1/admin/dead-letters/{id}/replay'])
        expect(text).toContain(expected);
      expect(errors).toEqual([]);
    } finally {
      await browser.close();
    }
  });
});

describe('when the order and inventory services are down', () => {
  it('answers 409 to a second request with a key still in flight, and 503 to the first when the order service does not answer', async () => {
    const s = await product(5);
    await call('GET', `/v1/products/${s}`, { token: customer }, 200); // cached: pricing needs no inventory call
    system.signal('order', 'SIGSTOP');
    try {
      const headers = key();
      const body = { items: [{ sku: s, quantity: 1 }] };
      const answers = await Promise.all([
        api.request('POST', '/v1/orders', { token: customer, body, headers }),
        api.request('POST', '/v1/orders', { token: customer, body, headers }),
      ]);
      for (const res of answers) check('POST', '/v1/orders', res);
      expect(answers.map((r) => r.status).sort()).toEqual([409, 503]);
    } finally {
      system.signal('order', 'SIGCONT');
    }
  });

  it('answers 503 with Retry-After from every operation that needs them', async () => {
    const s = await product(5);
    const id = await confirmedOrder(customer, s);
    await system.kill('order');
    await system.kill('inventory');
    await call('POST', '/v1/orders', { token: customer, body: { items: [{ sku: sku(), quantity: 1 }] }, headers: key() }, 503);
    await call('GET', '/v1/orders', { token: customer }, 503);
    await call('GET', `/v1/orders/${id}`, { token: customer }, 503);
    await call('POST', `/v1/orders/${id}/cancel`, { token: customer, headers: key() }, 503);
    await call('GET', '/v1/products', { token: customer }, 503);
    await call('GET', `/v1/products/${sku()}`, { token: customer }, 503);
    await call('GET', '/v1/admin/products', { token: admin }, 503);
    await call('PUT', `/v1/admin/products/${sku()}`, { token: admin, body: { name: 'x', priceCents: 1, stock: 1 }, headers: key() }, 503);
  });
});

describe('the document', () => {
  it('has every documented (operation, status) pair exercised by this file', () => {
    const documented = operations.flatMap((o) => Object.keys(o.responses).map((status) => `${o.id} ${status}`));
    expect(documented.filter((pair) => !seen.has(pair))).toEqual([]);
    expect(documented.length).toBeGreaterThan(60);
  });
});
