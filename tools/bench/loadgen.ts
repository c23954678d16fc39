// The load generator, in its own process so its CPU does not hide inside the apps' numbers.
// Reads its plan from argv[2] (JSON), drives POST /v1/orders with a fixed number of concurrent
// clients, and writes every request's outcome to the results file. Like a careful client, it retries a
// request that got no answer (connection refused or reset) or a 5xx with the same Idempotency-Key and
// body until `retryForMs` runs out, so a system killed mid-run is judged on what it kept.
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
  /** How long one request may be retried after no answer or a 5xx (default 60 s). */
  retryForMs?: number;
  /** Send the parent a `'signal'` message once this many measured requests have been sent (the kill round's cue). */
  signalAfterOrders?: number;
}

/** What a retry needs to repeat an accepted request exactly: the caller (token index), key and body. */
export interface SentRequest {
  tokenIndex: number;
  key: string;
  body: string;
}

export interface LoadResult {
  /** Measured requests: start time (ms since epoch), latency (ms), status, order id when accepted. */
  requests: { t: number; ms: number; status: number; id?: string; attempts: number }[];
  warmupAccepted: string[];
  /** Every accepted request (warm-up and measured), for the replay check. */
  accepted: (SentRequest & { id: string })[];
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

function postOnce(token: string, key: string, body: string): Promise<{ status: number; id?: string }> {
  return new Promise((resolve) => {
    const req = http.request(
      {
        agent,
        host: target.hostname,
        port: target.port,
        path: '/v1/orders',
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', 'idempotency-key': key, 'content-length': Buffer.byteLength(body) },
      },
      (res) => {
        let text = '';
        res.on('data', (c: Buffer) => (text += c.toString()));
        res.on('end', () => {
          let id: string | undefined;
          if (res.statusCode === 202 || res.statusCode === 200) id = (JSON.parse(text) as { id: string }).id;
          resolve({ status: res.statusCode ?? 0, id });
        });
      },
    );
    req.on('error', () => resolve({ status: 0 }));
    req.end(body);
  });
}

const retryable = (status: number, attempt: number) => status === 0 || status >= 500 || (attempt > 1 && status === 409); // 409: the first attempt is still in flight
const retryForMs = plan.retryForMs ?? 60_000;

/** One order as a client places it: retried with the same key and body until answered or out of time. */
async function place(request: SentRequest): Promise<{ status: number; id?: string; attempts: number }> {
  const token = plan.tokens[request.tokenIndex]!;
  const giveUpAt = Date.now() + retryForMs;
  for (let attempt = 1; ; attempt++) {
    const answer = await postOnce(token, request.key, request.body);
    if (!retryable(answer.status, attempt) || Date.now() >= giveUpAt) return { ...answer, attempts: attempt };
    await new Promise((r) => setTimeout(r, Math.min(1_000, 50 * 2 ** attempt)));
  }
}

async function main(): Promise<void> {
  const result: LoadResult = { requests: [], warmupAccepted: [], accepted: [], startedAt: 0, endedAt: 0 };
  const begin = Date.now();
  const measureFrom = begin + plan.warmupMs;
  const stopAt = measureFrom + plan.durationMs;
  let measured = 0;
  let n = 0;
  const worker = async () => {
    while (Date.now() < stopAt && (plan.maxOrders === undefined || measured < plan.maxOrders)) {
      const t = Date.now();
      const request: SentRequest = {
        tokenIndex: n++ % plan.tokens.length,
        key: randomUUID(),
        body: JSON.stringify({ items: [{ sku: pickSku(), quantity: 1 + Math.floor(Math.random() * 2) }] }),
      };
      if (t >= measureFrom && ++measured === plan.signalAfterOrders) process.send?.('signal');
      const { status, id, attempts } = await place(request);
      if (id) result.accepted.push({ ...request, id });
      if (t < measureFrom) {
        if (id) result.warmupAccepted.push(id);
      } else result.requests.push({ t, ms: Date.now() - t, status, attempts, ...(id ? { id } : {}) });
    }
  };
  result.startedAt = measureFrom;
  await Promise.all(Array.from({ length: plan.concurrency }, worker));
  result.endedAt = Date.now();
  agent.destroy();
  writeFileSync(plan.resultsFile, JSON.stringify(result));
}

void main();
