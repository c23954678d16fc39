// `make bench`: drives the running system (or one it starts) over REST, waits until every order is
// terminal, checks the invariants and writes var/bench/latest.{json,md,svg} plus dated copies.
import { fork } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { cpus, totalmem } from 'node:os';
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import jwt from 'jsonwebtoken';
import { databaseName, repoRoot } from '@orderflow/config';
import { createPool, databaseUrl } from '@orderflow/db';
import { waitFor } from '@orderflow/testing';
import { startSystem } from '../../e2e/support/system';
import type { LoadPlan, LoadResult } from './loadgen';
import { summarizeProfileFile } from './profile';
import { cpuSecondsByGroup, findAppPids, rssMiB } from './processes';
import { lineChart, percentiles, perSecond, round } from './report';

const num = (name: string, fallback: number) => (process.env[name] ? Number(process.env[name]) : fallback);

async function main(): Promise<void> {
  const root = repoRoot();
  const concurrency = num('BENCH_CONCURRENCY', 32);
  const durationMs = num('BENCH_DURATION_S', 60) * 1_000;
  const warmupMs = num('BENCH_WARMUP_S', 10) * 1_000;
  const maxOrders = process.env.BENCH_ORDERS ? Number(process.env.BENCH_ORDERS) : undefined;
  const serverUrl = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
  // Where the report goes (BENCH_OUT_DIR lets the smoke test keep a developer's last report intact).
  const dir = process.env.BENCH_OUT_DIR ?? join(root, 'var', 'bench');
  const profileDir = join(dir, 'profiles');

  const profiling = process.env.BENCH_PROFILE === '1';
  let written: { report: object; md: string; stamp: string; dir: string } | undefined;
  // Use a running system if there is one; otherwise start one and stop it afterwards.
  let url = process.env.ORCHESTRATOR_URL ?? 'http://127.0.0.1:8080';
  let prefix = process.env.RESOURCE_PREFIX ?? '';
  let sign = (sub: string, role: string) => jwt.sign({ sub, role }, process.env.JWT_SECRET!, { algorithm: 'HS256', expiresIn: '2h' });
  let stopSystem: (() => Promise<void>) | undefined;
  // Running: its API answers at `url` and its ops port (OPS_PORT, 8084 on the same host unless
  // ORCHESTRATOR_OPS_URL says otherwise) reports it ready; the API port serves no /readyz.
  const opsUrl = process.env.ORCHESTRATOR_OPS_URL ?? Object.assign(new URL(url), { port: '8084' }).origin;
  const answers = (target: string) => fetch(target).then((r) => r.ok, () => false);
  const running = (await answers(`${url}/openapi.json`)) && (await answers(`${opsUrl}/readyz`));
  if (!running) {
    console.log('bench: no system answers at', url, '- starting one');
    // BENCH_PROFILE=1: each app writes a V8 CPU profile into var/bench/profiles when it stops.
    if (profiling) rmSync(profileDir, { recursive: true, force: true }); // this run's only
    const profile = profiling ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : [];
    if (process.env.BENCH_NODE_ARGS) profile.push(...process.env.BENCH_NODE_ARGS.split(' ').filter(Boolean));
    if (process.env.BENCH_HEAP_SIGNAL === '1') profile.push('--heapsnapshot-signal=SIGUSR2', `--diagnostic-dir=${profileDir}`);
    const system = await startSystem('bench', { env: { LOG_LEVEL: 'warn', ...(process.env.OTEL_SDK_DISABLED ? { OTEL_SDK_DISABLED: process.env.OTEL_SDK_DISABLED } : {}) }, nodeArgs: profile });
    ({ url, prefix } = system);
    sign = (sub, role) => system.token(sub, role as 'customer' | 'admin');
    stopSystem = system.stop;
  }
  const pids = findAppPids(prefix);
  const peak = new Map<string, number>();
  const sampler = setInterval(() => pids.forEach((pid, app) => peak.set(app, Math.max(peak.get(app) ?? 0, rssMiB(pid)))), 250);

  const db = (service: string) => createPool(databaseUrl(serverUrl, databaseName(service, prefix)), 4);
  const pools = { orchestrator: db('orchestrator'), order: db('order'), inventory: db('inventory'), notification: db('notification') };
  try {
    // A catalog of this run: plenty of most things, and one scarce product so some orders are rejected.
    const admin = sign('bench-admin', 'admin');
    const run = randomUUID().slice(0, 6).toUpperCase();
    const products = [
      ...Array.from({ length: 20 }, (_, i) => ({ sku: `BENCH-${run}-${i}`, stock: 1_000_000, weight: 19 })),
      { sku: `BENCH-${run}-SCARCE`, stock: 100, weight: 20 },
    ];
    for (const p of products) {
      const res = await fetch(`${url}/v1/admin/products/${p.sku}`, {
        method: 'PUT',
        headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/json' },
        body: JSON.stringify({ name: `Bench ${p.sku}`, priceCents: 500, stock: p.stock }),
      });
      if (!res.ok) throw new Error(`bench: could not create ${p.sku}: ${res.status} ${await res.text()}`);
    }
    const tokens = Array.from({ length: 500 }, (_, i) => sign(`bench-${run}-${i}`, 'customer'));

    const resultsFile = join(dir, `load-${run}.json`);
    mkdirSync(dir, { recursive: true });
    const plan: LoadPlan = { url, tokens, skus: products, concurrency, warmupMs, durationMs, maxOrders, resultsFile };
    console.log(`bench: ${concurrency} clients, ${warmupMs / 1_000} s warm-up, ${maxOrders ? `${maxOrders} orders` : `${durationMs / 1_000} s`} measured`);
    // CPU per process from the start of the load to the end of the last saga: where the cores went.
    const cpuBefore = cpuSecondsByGroup(pids);
    const cpuFrom = Date.now();
    await new Promise<void>((resolve, reject) =>
      fork(join(root, 'dist', 'bench-loadgen', 'main.js'), [JSON.stringify(plan)]).on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`load generator exited ${code}`)))),
    );
    const load = JSON.parse(readFileSync(resultsFile, 'utf8')) as LoadResult;
    const measuredIds = load.requests.flatMap((r) => (r.id ? [r.id] : []));
    const allIds = [...load.warmupAccepted, ...measuredIds];
    console.log(`bench: ${measuredIds.length} orders accepted in the measured phase; waiting for every saga to end`);

    await waitFor(
      async () => (await pools.orchestrator.query('SELECT count(*)::int AS n FROM sagas WHERE order_id = ANY($1) AND finished_at IS NULL', [allIds])).rows[0].n === 0,
      { timeoutMs: 600_000, intervalMs: 500, what: 'every bench order to be terminal' },
    );
    clearInterval(sampler);
    const cpuAfter = cpuSecondsByGroup(pids);
    const cpuWallSeconds = (Date.now() - cpuFrom) / 1_000;
    const cpuCores = Object.fromEntries(
      Object.entries(cpuAfter)
        .map(([group, seconds]) => [group, round((seconds - (cpuBefore[group] ?? 0)) / cpuWallSeconds)] as const)
        .sort((a, b) => b[1] - a[1]),
    );
    const sagas = (await pools.orchestrator.query('SELECT order_id, created_at, finished_at, outcome FROM sagas WHERE order_id = ANY($1)', [measuredIds])).rows as {
      order_id: string;
      created_at: Date;
      finished_at: Date;
      outcome: string;
    }[];

    // Invariants, from the services' own databases.
    const orders = (await pools.order.query(`SELECT o.id, o.status, i.sku, i.quantity FROM orders o JOIN order_items i ON i.order_id = o.id WHERE o.id = ANY($1)`, [allIds])).rows;
    const allTerminal = orders.length >= allIds.length && orders.every((o) => ['CONFIRMED', 'REJECTED', 'CANCELLED'].includes(o.status));
    const stock = (await pools.inventory.query('SELECT sku, on_hand, reserved FROM products WHERE sku = ANY($1)', [products.map((p) => p.sku)])).rows;
    const confirmed = new Map<string, number>();
    for (const o of orders) if (o.status === 'CONFIRMED') confirmed.set(o.sku, (confirmed.get(o.sku) ?? 0) + o.quantity);
    const stockConserved = stock.every((s) => s.on_hand === products.find((p) => p.sku === s.sku)!.stock && s.reserved === (confirmed.get(s.sku) ?? 0) && s.reserved <= s.on_hand);
    const emails = await waitFor(
      async () => {
        const rows = (await pools.notification.query('SELECT order_id, count(*)::int AS n FROM emails WHERE order_id = ANY($1) GROUP BY order_id', [allIds])).rows;
        return rows.length >= allIds.length ? rows : undefined;
      },
      { timeoutMs: 120_000, intervalMs: 500, what: 'one e-mail per order' },
    ).catch(() => [] as { n: number }[]);
    const oneEmailPerOrder = emails.length === allIds.length && emails.every((e) => e.n === 1);
    const orderRows = (await pools.order.query('SELECT count(*)::int AS n FROM orders WHERE id = ANY($1)', [allIds])).rows[0].n;
    const keys = (await pools.orchestrator.query(`SELECT count(DISTINCT resource_id)::int AS n, count(*)::int AS k FROM idempotency_keys WHERE caller LIKE $1`, [`bench-${run}-%`])).rows[0];
    const noDuplicateOrders = orderRows === allIds.length && keys.n === keys.k && new Set(allIds).size === allIds.length;

    const measuredMs = load.endedAt - load.startedAt;
    const accepted = load.requests.filter((r) => r.status === 202);
    const firstCreated = Math.min(...sagas.map((s) => s.created_at.getTime()));
    const lastFinished = Math.max(...sagas.map((s) => s.finished_at.getTime()));
    const report = {
      orders: measuredIds.length,
      acceptedPerSec: round(accepted.length / (measuredMs / 1_000)),
      completedPerSec: round(sagas.length / ((lastFinished - firstCreated) / 1_000)),
      postLatencyMs: percentiles(load.requests.map((r) => r.ms)),
      e2eLatencyMs: percentiles(sagas.map((s) => s.finished_at.getTime() - s.created_at.getTime())),
      invariants: { allTerminal, stockConserved, oneEmailPerOrder, noDuplicateOrders },
      peakRssMiB: Object.fromEntries([...peak].map(([app, mib]) => [app, round(mib)])),
      // Cores used on average by each process group while the load ran and the sagas finished.
      cpuCores,
      outcomes: Object.fromEntries(['CONFIRMED', 'REJECTED', 'CANCELLED'].map((o) => [o, sagas.filter((s) => s.outcome === o).length])),
      errors: load.requests.filter((r) => r.status !== 202).length,
      concurrency,
      measuredSeconds: round(measuredMs / 1_000),
      machine: { cores: cpus().length, cpu: cpus()[0]?.model, memoryGiB: round(totalmem() / 2 ** 30), node: process.version },
      at: new Date().toISOString(),
    };
    const svg = lineChart(`orderflow bench ${report.at}`, [
      { name: 'accepted orders', unit: '/s', values: perSecond(accepted.map((r) => r.t + r.ms), load.startedAt), color: '#1f77b4' },
      { name: 'completed sagas', unit: '/s', values: perSecond(sagas.map((s) => s.finished_at.getTime()), load.startedAt), color: '#2ca02c' },
      {
        name: 'POST p99 latency',
        unit: 'ms',
        values: perSecond(load.requests.map((r) => r.t), load.startedAt).map((_, i) => percentiles(load.requests.filter((r) => Math.floor((r.t - load.startedAt) / 1_000) === i).map((r) => r.ms)).p99),
        color: '#d62728',
      },
    ]);
    const md = [
      `# orderflow bench — ${report.at}`,
      '',
      `| metric | value |`,
      `|---|---|`,
      `| orders (measured) | ${report.orders} |`,
      `| accepted orders/s | ${report.acceptedPerSec} |`,
      `| completed sagas/s | ${report.completedPerSec} |`,
      `| POST latency p50 / p95 / p99 | ${report.postLatencyMs.p50} / ${report.postLatencyMs.p95} / ${report.postLatencyMs.p99} ms |`,
      `| placed → terminal p50 / p95 / p99 | ${report.e2eLatencyMs.p50} / ${report.e2eLatencyMs.p95} / ${report.e2eLatencyMs.p99} ms |`,
      `| outcomes | ${Object.entries(report.outcomes).map(([k, v]) => `${k} ${v}`).join(', ')} |`,
      `| non-202 answers | ${report.errors} |`,
      `| CPU (cores, load + drain) | ${Object.entries(report.cpuCores).map(([k, v]) => `${k} ${v}`).join(', ')} |`,
      `| peak RSS | ${Object.entries(report.peakRssMiB).map(([k, v]) => `${k} ${v} MiB`).join(', ')} |`,
      `| invariants | ${Object.entries(report.invariants).map(([k, v]) => `${k} ${v ? 'yes' : '**NO**'}`).join(', ')} |`,
      `| machine | ${report.machine.cores} cores, ${report.machine.memoryGiB} GiB, node ${report.machine.node} |`,
      '',
      '![throughput and latency](latest.svg)',
      '',
    ].join('\n');
    const stamp = report.at.replace(/[:.]/g, '-');
    for (const [name, content] of [[`latest.json`, JSON.stringify(report, null, 2)], [`${stamp}.json`, JSON.stringify(report, null, 2)], ['latest.md', md], ['latest.svg', svg], [`${stamp}.svg`, svg]] as const) {
      writeFileSync(join(dir, name), content);
    }
    console.log(md);
    if (!Object.values(report.invariants).every(Boolean)) process.exitCode = 1;
    written = { report, md, stamp, dir };
  } finally {
    clearInterval(sampler);
    await Promise.all(Object.values(pools).map((p) => p.end()));
    await stopSystem?.();
  }
  // The apps write their CPU profiles when they exit: summarise them into the report.
  if (profiling && written) addProfiles(written, pids, profileDir);
}

/** Adds each app's CPU profile summary (`profile`) to the report files just written. */
function addProfiles(written: { report: object; md: string; stamp: string; dir: string }, pids: Map<string, number>, profileDir: string): void {
  const files = readdirSync(profileDir);
  const profile = Object.fromEntries(
    [...pids].flatMap(([app, pid]) => {
      const file = files.find((f) => f.endsWith('.cpuprofile') && f.split('.')[3] === String(pid));
      return file ? [[app, summarizeProfileFile(join(profileDir, file))] as const] : [];
    }),
  );
  const report = { ...written.report, profile };
  const md = [
    written.md,
    '## CPU profiles (self time by group, BENCH_PROFILE=1)',
    '',
    ...Object.entries(profile).map(([app, p]) => `- **${app}** (${p.sampledMs} ms sampled): ${p.top.map((t) => `${t.group} ${t.percent} %`).join(', ')}`),
    '',
  ].join('\n');
  for (const [name, content] of [[`latest.json`, JSON.stringify(report, null, 2)], [`${written.stamp}.json`, JSON.stringify(report, null, 2)], ['latest.md', md]] as const) {
    writeFileSync(join(written.dir, name), content);
  }
  console.log(md.slice(written.md.length));
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
