// Order load for the fault suites: products to order from, a warm catalog cache, and customers who
// keep placing orders (each with its own Idempotency-Key) while something breaks.
import { randomUUID } from 'node:crypto';
import { setTimeout as delay } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { testInfra, waitFor } from '@orderflow/testing';
import type { apiClient } from './client';
import { queryDb } from './db';
import { consumerCaughtUp } from './faults';
import type { System } from './system';

export type Api = ReturnType<typeof apiClient>;
type Line = { sku: string; quantity: number };

/** One POST /v1/orders as a customer sends it; `key` is its Idempotency-Key. */
export interface OrderRequest {
  key: string;
  token: string;
  items: Line[];
}
export interface PlacedOrder extends OrderRequest {
  id: string;
}
/** A request answered with another status than 202; `sentAt` in ms since the epoch. */
export interface Refusal {
  status: number;
  body: unknown;
  key: string;
  sentAt: number;
}

/** Creates `count` products with `stock` units each under fresh skus; returns sku → initial stock. */
export async function createProducts(api: Api, adminToken: string, label: string, count: number, stock: number): Promise<Map<string, number>> {
  const products = new Map<string, number>();
  for (let i = 0; i < count; i++) {
    const sku = `${label}-${i}-${randomUUID().slice(0, 8)}`.toUpperCase();
    const res = await api.putProduct(adminToken, sku, { name: `Coffee ${sku}`, priceCents: 900 + i * 100, stock });
    expect(res.status).toBe(201);
    products.set(sku, stock);
  }
  return products;
}

/**
 * Puts the products in the orchestrator's Redis catalog cache once their stock facts have been
 * consumed (a fact consumed later would drop the entry again), so orders can still be priced while
 * inventory is down. Placing orders afterwards drops entries again (stock.reserved facts).
 */
export async function warmCatalog(system: System, api: Api, skus: string[]): Promise<void> {
  await waitFor(async () => (await queryDb(system, 'inventory', 'SELECT 1 FROM outbox_pending LIMIT 1')).length === 0, {
    what: 'the inventory outbox to drain',
  });
  await waitFor(() => consumerCaughtUp(`${system.prefix}orchestrator.catalog`, system.topics.inventoryEvents), { what: 'the catalog consumer to catch up' });
  const token = system.token('catalog-warmer');
  for (const sku of skus) expect((await api.product(token, sku)).status).toBe(200);
  const redis = new Redis(testInfra().redisUrl);
  try {
    expect(await redis.exists(...skus.map((sku) => `${system.prefix}product:${sku}`))).toBe(skus.length);
  } finally {
    redis.disconnect();
  }
}

/** A predicate that turns true `ms` from now: the length of a deliberate fault window. */
export const deadline = (ms: number) => {
  const end = Date.now() + ms;
  return () => Date.now() >= end;
};

/**
 * Customers (ten per load, unique to it) ordering 1-3 units of the given skus in turn. Every request
 * is recorded: accepted (202), refused (any other status) or unanswered (no HTTP answer at all, e.g.
 * the orchestrator died with it), so the test can assert on each group and retry the unanswered (and
 * chosen refused ones).
 */
export type OrderLoad = ReturnType<typeof orderLoad>;

export function orderLoad(system: System, api: Api, skus: string[]) {
  const run = randomUUID().slice(0, 8);
  const accepted: PlacedOrder[] = [];
  const refused: Refusal[] = [];
  const refusedRequests = new Map<string, OrderRequest>();
  const unanswered: (OrderRequest & { error: string })[] = [];
  /** When each request was sent and how long its answer took (ms since the epoch, ms). */
  const timings: { sentAt: number; ms: number }[] = [];
  let sent = 0;

  const nextRequest = (): OrderRequest => {
    const i = sent++;
    return { key: randomUUID(), token: system.token(`load-${run}-${i % 10}`), items: [{ sku: skus[i % skus.length]!, quantity: 1 + (i % 3) }] };
  };

  function refuse(request: OrderRequest, res: { status: number; body: unknown }, sentAt: number): void {
    refused.push({ status: res.status, body: res.body, key: request.key, sentAt });
    refusedRequests.set(request.key, request);
  }

  /**
   * Sends a request again with its own key and body, as a client should, until it gets a final answer:
   * a 409 means the first attempt still holds the key (until IDEMPOTENCY_LOCK_SECONDS pass) and a 5xx
   * may pass, so both are retried too. Records and returns the final answer.
   */
  async function resend(request: OrderRequest, timeoutMs: number): Promise<{ status: number; replayed: boolean }> {
    const sentAt = Date.now();
    const res = await waitFor(
      async () => {
        const r = await api.placeOrder(request.token, request.items, request.key);
        return r.status === 409 || r.status >= 500 ? undefined : r;
      },
      { timeoutMs, intervalMs: 250, what: `a retry of key ${request.key} to be answered` },
    );
    if (res.status === 202) accepted.push({ ...request, id: res.body.id });
    else refuse(request, res, sentAt);
    return { status: res.status, replayed: res.headers.get('idempotent-replayed') === 'true' };
  }

  async function send(request: OrderRequest): Promise<'accepted' | 'refused' | 'unanswered'> {
    let res;
    const sentAt = Date.now();
    try {
      res = await api.placeOrder(request.token, request.items, request.key);
      timings.push({ sentAt, ms: Date.now() - sentAt });
    } catch (error) {
      unanswered.push({ ...request, error: String((error as Error).cause ?? error) });
      return 'unanswered';
    }
    if (res.status !== 202) {
      refuse(request, res, sentAt);
      return 'refused';
    }
    accepted.push({ ...request, id: res.body.id });
    return 'accepted';
  }

  return {
    accepted,
    refused,
    unanswered,
    timings,
    ids: () => accepted.map((o) => o.id),

    /** The `p`-th percentile (0–100) of answer times of the requests sent within [from, to). */
    percentileMs(p: number, from = 0, to = Infinity): number {
      const sorted = timings
        .filter((t) => t.sentAt >= from && t.sentAt < to)
        .map((t) => t.ms)
        .sort((a, b) => a - b);
      if (sorted.length === 0) throw new Error('no request was answered in that window');
      return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
    },

    /** Places `count` orders, `lanes` at a time. */
    async place(count: number, lanes = 4): Promise<void> {
      let left = count;
      await Promise.all(
        Array.from({ length: lanes }, async () => {
          while (left-- > 0) await send(nextRequest());
        }),
      );
    },

    /**
     * Keeps placing orders, each lane about one every `everyMs` (the load's rate, not a wait), until
     * `until()` holds; with `stopOnNoAnswer`, a lane also stops at its first unanswered request.
     */
    async keepPlacing({
      until,
      lanes = 2,
      everyMs = 100,
      stopOnNoAnswer = false,
    }: {
      until: () => boolean;
      lanes?: number;
      everyMs?: number;
      stopOnNoAnswer?: boolean;
    }): Promise<void> {
      await Promise.all(
        Array.from({ length: lanes }, async () => {
          while (!until()) {
            const started = Date.now();
            if ((await send(nextRequest())) === 'unanswered' && stopOnNoAnswer) return;
            await delay(Math.max(0, everyMs - (Date.now() - started)));
          }
        }),
      );
    },

    /** Retries every unanswered request until it gets a final answer (see `resend`); returns the final answers. */
    async retryUnanswered(timeoutMs = 20_000): Promise<{ status: number; replayed: boolean }[]> {
      return Promise.all(unanswered.splice(0).map((request) => resend(request, timeoutMs)));
    },

    /**
     * Takes the refused requests `which` picks (e.g. the 503s of calls in flight on a replica that was
     * killed) out of `refused` and retries each until it gets a final answer; returns the final answers.
     */
    async retryRefused(which: (refusal: Refusal) => boolean, timeoutMs = 20_000): Promise<{ status: number; replayed: boolean }[]> {
      const picked = refused.filter(which);
      refused.splice(0, refused.length, ...refused.filter((r) => !picked.includes(r)));
      return Promise.all(picked.map((r) => resend(refusedRequests.get(r.key)!, timeoutMs)));
    },
  };
}
