// One measured run of the load against one running system — the part `make bench` and `make
// bench-compare` share, so every system gets the same catalog, order mix, load generator and checks.
import { fork } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from '@orderflow/config';
import { waitFor } from '@orderflow/testing';
import { putCatalog } from './catalog';
import type { LoadPlan, LoadResult } from './loadgen';
import type { RunningTarget } from './peers/target';
import { cpuSecondsByGroup, rssMiB } from './processes';
import { percentiles, round, type Percentiles } from './report';

export interface Product {
  sku: string;
  stock: number;
  /** Share of order lines (relative weight). */
  weight: number;
}

/** The run's catalog: 20 well-stocked products and one scarce one, so some orders are rejected once it runs out. */
export function benchCatalog(run: string): Product[] {
  return [
    ...Array.from({ length: 20 }, (_, i) => ({ sku: `BENCH-${run}-${i}`, stock: 1_000_000, weight: 19 })),
    { sku: `BENCH-${run}-SCARCE`, stock: 100, weight: 20 },
  ];
}

export interface Invariants {
  /** Every accepted order exists and is CONFIRMED, REJECTED or CANCELLED. */
  allTerminal: boolean;
  /** On-hand unchanged, reserved = the confirmed quantities, never above on-hand. */
  stockConserved: boolean;
  /** Exactly one e-mail per accepted order. */
  oneEmailPerOrder: boolean;
  /** One order per accepted request and per stored key. */
  noDuplicateOrders: boolean;
  /** A retry of accepted requests (same caller, key and body) gets the same order back. */
  retriesAnswerTheSameOrder: boolean;
}

export interface RoundResult {
  /** Orders accepted in the measured phase. */
  orders: number;
  /** Orders accepted in the whole run (warm-up included): what the CPU and database counters are divided by. */
  allOrders: number;
  acceptedPerSec: number;
  completedPerSec: number;
  postLatencyMs: Percentiles;
  e2eLatencyMs: Percentiles;
  invariants: Invariants;
  /** Peak resident memory per app process group. */
  peakRssMiB: Record<string, number>;
  /** Cores used on average by each process group from the start of the load until the last order was terminal. */
  cpuCores: Record<string, number>;
  /** CPU seconds per process group over the same window. */
  cpuSeconds: Record<string, number>;
  cpuWallSeconds: number;
  outcomes: Record<string, number>;
  /** Measured requests whose final answer was not a 202 (after the client's retries). */
  errors: number;
  /** Measured requests that needed more than one attempt. */
  retried: number;
  measuredSeconds: number;
  /** When the system was killed and how long until it answered again (kill rounds only). */
  kill?: { atSecond: number; recoverySeconds: number };
  /** Raw series for the chart. */
  series: { acceptedAt: number[]; finishedAt: number[]; requests: { t: number; ms: number }[]; startedAt: number };
}

export interface RoundPlan {
  concurrency: number;
  warmupMs: number;
  durationMs: number;
  maxOrders?: number;
  /** Where the load generator writes its raw results. */
  workDir: string;
  /** SIGKILL and restart the system's apps this long after the measured phase began… */
  killAfterMs?: number;
  /** …or once this many measured orders have been sent. */
  killAfterOrders?: number;
  /** Called right before the load starts and after the last order is terminal (database counters). */
  onLoadStart?: () => Promise<void>;
}

/** Runs the load against `target` (its catalog created here), waits for every order to end and checks the invariants. */
export async function measureRound(target: RunningTarget, plan: RoundPlan): Promise<RoundResult> {
  const run = randomUUID().slice(0, 6).toUpperCase();
  const products = benchCatalog(run);
  const admin = target.sign('bench-admin', 'admin');
  await putCatalog(
    target.url,
    admin,
    products.map((p) => ({ sku: p.sku, name: `Bench ${p.sku}`, stock: p.stock })),
    'bench',
  );
  const callerPrefix = `bench-${run}-`;
  const tokens = Array.from({ length: 500 }, (_, i) => target.sign(`${callerPrefix}${i}`, 'customer'));

  const peak = new Map<string, number>();
  const sample = () => target.appPids().forEach((pid, app) => peak.set(app, Math.max(peak.get(app) ?? 0, rssMiB(pid))));
  const sampler = setInterval(sample, 250);
  const resultsFile = join(plan.workDir, `load-${run}.json`);
  mkdirSync(plan.workDir, { recursive: true });
  let kill: RoundResult['kill'];
  let killTimer: NodeJS.Timeout | undefined;
  let killing: Promise<void> | undefined;
  try {
    const loadPlan: LoadPlan = {
      url: target.url,
      tokens,
      skus: products,
      concurrency: plan.concurrency,
      warmupMs: plan.warmupMs,
      durationMs: plan.durationMs,
      maxOrders: plan.maxOrders,
      resultsFile,
    };
    await plan.onLoadStart?.();
    const pids = target.appPids();
    const cpuBefore = cpuSecondsByGroup(pids);
    const cpuFrom = Date.now();
    const killNow = () => {
      if (killing) return;
      const from = Date.now();
      const atSecond = round((from - cpuFrom - plan.warmupMs) / 1_000);
      killing = target.killAndRestart().then(() => void (kill = { atSecond, recoverySeconds: round((Date.now() - from) / 1_000) }));
    };
    if (plan.killAfterMs !== undefined) killTimer = setTimeout(killNow, plan.warmupMs + plan.killAfterMs);
    await new Promise<void>((resolve, reject) =>
      fork(join(repoRoot(), 'dist', 'bench-loadgen', 'main.js'), [JSON.stringify({ ...loadPlan, signalAfterOrders: plan.killAfterOrders })])
        .on('message', () => plan.killAfterOrders !== undefined && killNow())
        .on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`load generator exited ${code}`)))),
    );
    clearTimeout(killTimer);
    await killing;
    if ((plan.killAfterMs !== undefined || plan.killAfterOrders !== undefined) && !kill)
      throw new Error('the load ended before the system could be killed: give the kill round more orders or time');
    const load = JSON.parse(readFileSync(resultsFile, 'utf8')) as LoadResult;
    rmSync(resultsFile, { force: true });
    const measuredIds = load.requests.flatMap((r) => (r.id ? [r.id] : []));
    const allIds = load.accepted.map((a) => a.id);

    await waitFor(async () => (await target.timings(allIds)).filter((t) => t.finishedAt).length === allIds.length, {
      timeoutMs: 600_000,
      intervalMs: 500,
      what: 'every bench order to be terminal',
    }).catch(() => undefined); // the invariants below say which orders did not end
    const cpuAfter = cpuSecondsByGroup(pids);
    const cpuWallSeconds = (Date.now() - cpuFrom) / 1_000;
    const cpuSeconds = Object.fromEntries(Object.entries(cpuAfter).map(([group, seconds]) => [group, round(seconds - (cpuBefore[group] ?? 0), 3)] as const));
    const cpuCores = Object.fromEntries(
      Object.entries(cpuSeconds)
        .map(([group, seconds]) => [group, round(seconds / cpuWallSeconds)] as const)
        .sort((a, b) => b[1] - a[1]),
    );
    sample();
    clearInterval(sampler);

    const invariants = await checkInvariants(target, { ids: allIds, products, callerPrefix, accepted: load.accepted, tokens });
    const timings = (await target.timings(measuredIds)).filter((t) => t.finishedAt);
    const measuredMs = load.endedAt - load.startedAt;
    const accepted = load.requests.filter((r) => r.status === 202);
    const firstPlaced = Math.min(...timings.map((s) => s.placedAt.getTime()));
    const lastFinished = Math.max(...timings.map((s) => s.finishedAt!.getTime()));
    return {
      orders: measuredIds.length,
      allOrders: allIds.length,
      acceptedPerSec: round(accepted.length / (measuredMs / 1_000)),
      // At least the measured phase: a system that ends every order inside its POST is as fast as it accepts.
      completedPerSec: round(timings.length / (Math.max(lastFinished - firstPlaced, measuredMs) / 1_000)),
      postLatencyMs: percentiles(load.requests.map((r) => r.ms)),
      e2eLatencyMs: percentiles(timings.map((s) => s.finishedAt!.getTime() - s.placedAt.getTime())),
      invariants,
      peakRssMiB: Object.fromEntries([...peak].map(([app, mib]) => [app, round(mib)])),
      cpuCores,
      cpuSeconds,
      cpuWallSeconds: round(cpuWallSeconds),
      outcomes: Object.fromEntries(['CONFIRMED', 'REJECTED', 'CANCELLED'].map((o) => [o, timings.filter((s) => s.outcome === o).length])),
      errors: load.requests.filter((r) => r.status !== 202).length,
      retried: load.requests.filter((r) => r.attempts > 1).length,
      measuredSeconds: round(measuredMs / 1_000),
      ...(kill ? { kill } : {}),
      series: {
        acceptedAt: accepted.map((r) => r.t + r.ms),
        finishedAt: timings.map((s) => s.finishedAt!.getTime()),
        requests: load.requests.map(({ t, ms }) => ({ t, ms })),
        startedAt: load.startedAt,
      },
    };
  } finally {
    clearTimeout(killTimer);
    clearInterval(sampler);
    await killing?.catch(() => undefined);
  }
}

/**
 * CPU milliseconds per accepted order of each process group that serves it (everything but `other`,
 * which holds the harness and unrelated processes, and the `exclude`d groups, e.g. brokers a system
 * does not use), over the window from the start of the load until the last order ended.
 */
export function cpuMsPerOrderByGroup(result: Pick<RoundResult, 'cpuSeconds' | 'allOrders'>, exclude: string[] = []): Record<string, number> {
  return Object.fromEntries(
    Object.entries(result.cpuSeconds)
      .filter(([group]) => group !== 'other' && !exclude.includes(group))
      .map(([group, seconds]) => [group, result.allOrders ? (seconds * 1_000) / result.allOrders : 0]),
  );
}

/** The groups of `cpuMsPerOrderByGroup` summed: all the CPU one order costs. */
export function cpuMsPerOrder(result: Pick<RoundResult, 'cpuSeconds' | 'allOrders'>, exclude: string[] = []): number {
  return round(
    Object.values(cpuMsPerOrderByGroup(result, exclude)).reduce((sum, ms) => sum + ms, 0),
    2,
  );
}

interface InvariantInput {
  /** Every accepted order (warm-up included). */
  ids: string[];
  products: Product[];
  callerPrefix: string;
  accepted: LoadResult['accepted'];
  tokens: string[];
}

const TERMINAL = new Set(['CONFIRMED', 'REJECTED', 'CANCELLED']);

/** The invariants, read from the system's own databases (and, for retries, its API). */
export async function checkInvariants(target: RunningTarget, input: InvariantInput): Promise<Invariants> {
  const { ids, products } = input;
  const lines = await target.orderLines(ids);
  const statusOf = new Map<string, Set<string>>();
  for (const line of lines) statusOf.set(line.id, (statusOf.get(line.id) ?? new Set()).add(line.status));
  const allTerminal = ids.every((id) => {
    const statuses = statusOf.get(id);
    return !!statuses && statuses.size === 1 && TERMINAL.has([...statuses][0]!);
  });

  const stock = await target.stock(products.map((p) => p.sku));
  const confirmed = new Map<string, number>();
  for (const line of lines) if (line.status === 'CONFIRMED') confirmed.set(line.sku, (confirmed.get(line.sku) ?? 0) + line.quantity);
  const stockConserved =
    stock.length === products.length &&
    stock.every((s) => s.onHand === products.find((p) => p.sku === s.sku)!.stock && s.reserved === (confirmed.get(s.sku) ?? 0) && s.reserved <= s.onHand);

  // E-mails go out after the order ends: give them a while.
  const emails = await waitFor(
    async () => {
      const perOrder = await target.emailsPerOrder(ids);
      return ids.every((id) => perOrder.has(id)) ? perOrder : undefined;
    },
    { timeoutMs: 120_000, intervalMs: 500, what: 'one e-mail per order' },
  ).catch(() => target.emailsPerOrder(ids));
  const oneEmailPerOrder = ids.every((id) => emails.get(id) === 1) && [...emails.values()].every((n) => n === 1);

  const keys = await target.idempotencyKeys(input.callerPrefix);
  const noDuplicateOrders = new Set(ids).size === ids.length && keys.keys === keys.distinctOrders && keys.distinctOrders >= ids.length;

  // A client that lost an answer retries: it must get the same order, not a second one.
  const sample = [...input.accepted].sort(() => Math.random() - 0.5).slice(0, 20);
  const answers = await Promise.all(
    sample.map(async (request) => {
      const res = await fetch(`${target.url}/v1/orders`, {
        method: 'POST',
        headers: { authorization: `Bearer ${input.tokens[request.tokenIndex]}`, 'content-type': 'application/json', 'idempotency-key': request.key },
        body: request.body,
      }).catch(() => undefined);
      const body = res?.ok ? ((await res.json()) as { id?: string }) : undefined;
      return body?.id === request.id;
    }),
  );
  const retriesAnswerTheSameOrder = answers.every(Boolean);
  return { allTerminal, stockConserved, oneEmailPerOrder, noDuplicateOrders, retriesAnswerTheSameOrder };
}
