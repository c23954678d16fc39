// The load generator, in its own process so its CPU does not hide inside the apps' numbers.
// Reads its plan from argv[2] (JSON), drives POST /v1/orders with a fixed number of concurrent
// clients, and writes every request's outcome to the results file.
import { randomUUID } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import http from 'node:http';

export interface LoadPlan {
  url: string;
  tokens: string[];
  skus: { sku: string; weight: number }[];
  concurrency: number;
  warmupMs: number;
  durationMs: number;
  /** Stop after this many measured orders, if set. */
  maxOrders?: number;
  resultsFile: string;
}

export interface LoadResult {
  /** Measured requests: start time (ms since epoch), latency (ms), status, order id when accepted. */
  requests: { t: number; ms: number; status: number; id?: string }[];
  warmupAccepted: string[];
  startedAt: number;
  endedAt: number;
}

const plan: LoadPlan = JSON.parse(process.argv[2]!);
const target = new URL(plan.url);
const agent = new http.Agent({ keepAlive: true, maxSockets: plan.concurrency });

function pickSku(): string {
  const total = plan.skus.reduce((s, k) => s + k.weight, 0);
  let r = Math.random() * total;
  for (const k of plan.skus) if ((r -= k.weight) < 0) return k.sku;
  return plan.skus[0]!.sku;
}

function post(token: string): Promise<{ status: number; id?: string }> {
  const body = JSON.stringify({ items: [{ sku: pickSku(), quantity: 1 + Math.floor(Math.random() * 2) }] });
  return new Promise((resolve) => {
    const req = http.request(
      {
        agent,
        host: target.hostname,
        port: target.port,
        path: '/v1/orders',
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', 'idempotency-key': randomUUID(), 'content-length': Buffer.byteLength(body) },
      },
      (res) => {
        let text = '';
        res.on('data', (c: Buffer) => (text += c.toString()));
        res.on('end', () => {
          let id: string | undefined;
          if (res.statusCode === 202) id = (JSON.parse(text) as { id: string }).id;
          resolve({ status: res.statusCode ?? 0, id });
        });
      },
    );
    req.on('error', () => resolve({ status: 0 }));
    req.end(body);
  });
}

async function main(): Promise<void> {
  const result: LoadResult = { requests: [], warmupAccepted: [], startedAt: 0, endedAt: 0 };
  const begin = Date.now();
  const measureFrom = begin + plan.warmupMs;
  const stopAt = measureFrom + plan.durationMs;
  let measured = 0;
  let n = 0;
  const worker = async () => {
    while (Date.now() < stopAt && (plan.maxOrders === undefined || measured < plan.maxOrders)) {
      const t = Date.now();
      const token = plan.tokens[n++ % plan.tokens.length]!;
      if (t >= measureFrom) measured++;
      const { status, id } = await post(token);
      if (t < measureFrom) {
        if (id) result.warmupAccepted.push(id);
      } else result.requests.push({ t, ms: Date.now() - t, status, ...(id ? { id } : {}) });
    }
  };
  result.startedAt = measureFrom;
  await Promise.all(Array.from({ length: plan.concurrency }, worker));
  result.endedAt = Date.now();
  agent.destroy();
  writeFileSync(plan.resultsFile, JSON.stringify(result));
}

void main();
