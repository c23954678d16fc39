import { randomUUID } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Kafka, logLevel, type Consumer } from 'kafkajs';
import { testInfra, waitFor } from '@orderflow/testing';

export interface ApiResponse<T = any> {
  status: number;
  headers: Headers;
  body: T;
  text: string;
}

/** A REST client for the orchestrator that never throws on an HTTP status. */
export function apiClient(baseUrl: string) {
  async function request<T = any>(
    method: string,
    path: string,
    options: { token?: string; body?: unknown; headers?: Record<string, string>; raw?: string } = {},
  ): Promise<ApiResponse<T>> {
    const headers: Record<string, string> = { ...options.headers };
    if (options.token) headers.authorization = `Bearer ${options.token}`;
    let body: string | undefined = options.raw;
    if (options.body !== undefined) {
      body = JSON.stringify(options.body);
      headers['content-type'] ??= 'application/json';
    }
    const res = await fetch(`${baseUrl}${path}`, { method, headers, body });
    const text = await res.text();
    let parsed: unknown = text;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      // not JSON: keep the text
    }
    return { status: res.status, headers: res.headers, body: parsed as T, text };
  }
  return {
    request,
    placeOrder: (token: string, items: { sku: string; quantity: number }[], key: string = randomUUID(), headers: Record<string, string> = {}) =>
      request('POST', '/v1/orders', { token, body: { items }, headers: { 'idempotency-key': key, ...headers } }),
    cancelOrder: (token: string, id: string, key: string = randomUUID()) =>
      request('POST', `/v1/orders/${id}/cancel`, { token, headers: { 'idempotency-key': key } }),
    getOrder: (token: string, id: string) => request('GET', `/v1/orders/${id}`, { token }),
    product: (token: string, sku: string) => request('GET', `/v1/products/${sku}`, { token }),
    putProduct: (adminToken: string, sku: string, product: { name: string; priceCents: number; stock: number }) =>
      request('PUT', `/v1/admin/products/${sku}`, { token: adminToken, body: product, headers: { 'idempotency-key': randomUUID() } }),
    /** Polls the order until it leaves PENDING (or reaches `status`). */
    async settled(token: string, id: string, status?: string, timeoutMs = 20_000) {
      return waitFor(
        async () => {
          const res = await request('GET', `/v1/orders/${id}`, { token });
          const done = status ? res.body?.status === status : res.status === 200 && res.body.status !== 'PENDING';
          return done ? res.body : undefined;
        },
        { timeoutMs, what: `order ${id} to be ${status ?? 'settled'}` },
      );
    },
  };
}

/** Collects every CloudEvent on the given topics from the beginning, for assertions on facts. */
export async function collectFacts(topics: string[]) {
  const kafka = new Kafka({ brokers: testInfra().kafkaBrokers, clientId: 'e2e-facts', logLevel: logLevel.NOTHING });
  const groupId = `e2e-facts-${randomUUID()}`;
  const consumer: Consumer = kafka.consumer({ groupId });
  const events: { topic: string; key: string | undefined; headers: Record<string, string>; event: any }[] = [];
  await consumer.connect();
  await consumer.subscribe({ topics, fromBeginning: true });
  await consumer.run({
    eachMessage: async ({ topic, message }) => {
      const headers = Object.fromEntries(Object.entries(message.headers ?? {}).map(([k, v]) => [k, String(v)]));
      events.push({ topic, key: message.key?.toString(), headers, event: JSON.parse(message.value!.toString()) });
    },
  });
  return {
    events,
    of: (subject: string) => events.filter((e) => e.event.subject === subject || e.event.data?.orderId === subject),
    async stop() {
      await consumer.disconnect();
      const admin = kafka.admin();
      await admin.connect();
      await admin.deleteGroups([groupId]).catch(() => undefined);
      await admin.disconnect();
    },
  };
}

/** The .eml files the notification worker wrote, with their text. */
export function mails(dir: string): { file: string; text: string }[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.eml'))
    .map((file) => ({ file, text: readFileSync(join(dir, file), 'utf8') }));
}
