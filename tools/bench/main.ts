// `make bench`: drives the running system (or one it starts) over REST, waits until every order is
// terminal, checks the invariants and writes var/bench/latest.{json,md,svg} plus dated copies.
import { cpus, totalmem } from 'node:os';
import { readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import jwt from 'jsonwebtoken';
import { repoRoot } from '@orderflow/config';
import { startSystem } from '../../e2e/support/system';
import { orderflowDatabases, orderflowQueries } from './peers/orderflow';
import type { RunningTarget } from './peers/target';
import { summarizeProfileFile } from './profile';
import { findAppPids } from './processes';
import { lineChart, percentiles, perSecond, round } from './report';
import { cpuMsPerOrder, cpuMsPerOrderByGroup, measureRound } from './round';

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
  const answers = (target: string) =>
    fetch(target).then(
      (r) => r.ok,
      () => false,
    );
  const running = (await answers(`${url}/openapi.json`)) && (await answers(`${opsUrl}/readyz`));
  if (!running) {
    console.log('bench: no system answers at', url, '- starting one');
    // BENCH_PROFILE=1: each app writes a V8 CPU profile into var/bench/profiles when it stops.
    if (profiling) rmSync(profileDir, { recursive: true, force: true }); // this run's only
    const profile = profiling ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : [];
    if (process.env.BENCH_NODE_ARGS) profile.push(...process.env.BENCH_NODE_ARGS.split(' ').filter(Boolean));
    if (process.env.BENCH_HEAP_SIGNAL === '1') profile.push('--heapsnapshot-signal=SIGUSR2', `--diagnostic-dir=${profileDir}`);
    const system = await startSystem('bench', {
      env: { LOG_LEVEL: 'warn', ...(process.env.OTEL_SDK_DISABLED ? { OTEL_SDK_DISABLED: process.env.OTEL_SDK_DISABLED } : {}) },
      nodeArgs: profile,
    });
    ({ url, prefix } = system);
    sign = (sub, role) => system.token(sub, role as 'customer' | 'admin');
    stopSystem = system.stop;
  }
  const queries = orderflowQueries(serverUrl, prefix);
  const pids = findAppPids(prefix);
  const target: RunningTarget = {
    url,
    databases: orderflowDatabases(prefix),
    sign,
    appPids: () => pids,
    killAndRestart: () => Promise.reject(new Error('make bench does not kill the system')),
    stop: async () => undefined,
    cleanup: async () => undefined,
    ...queries,
  };
  try {
    console.log(`bench: ${concurrency} clients, ${warmupMs / 1_000} s warm-up, ${maxOrders ? `${maxOrders} orders` : `${durationMs / 1_000} s`} measured`);
    const result = await measureRound(target, { concurrency, warmupMs, durationMs, maxOrders, workDir: dir });
    const { series, cpuSeconds: _cpuSeconds, cpuWallSeconds: _wall, allOrders: _all, retried: _retried, ...measured } = result;
    const report = {
      ...measured,
      // CPU of every process of the system (Postgres, brokers, apps; not the load generator) per completed order.
      cpuMsPerSaga: cpuMsPerOrder(result),
      // The same by process group, to see where an order's CPU goes.
      cpuMsPerSagaByProcess: Object.fromEntries(Object.entries(cpuMsPerOrderByGroup(result)).map(([group, ms]) => [group, round(ms, 2)])),
      concurrency,
      machine: { cores: cpus().length, cpu: cpus()[0]?.model, memoryGiB: round(totalmem() / 2 ** 30), node: process.version },
      at: new Date().toISOString(),
    };
    const svg = lineChart(`orderflow bench ${report.at}`, [
      { name: 'accepted orders', unit: '/s', values: perSecond(series.acceptedAt, series.startedAt), color: '#1f77b4' },
      { name: 'completed sagas', unit: '/s', values: perSecond(series.finishedAt, series.startedAt), color: '#2ca02c' },
      {
        name: 'POST p99 latency',
        unit: 'ms',
        values: perSecond(
          series.requests.map((r) => r.t),
          series.startedAt,
        ).map((_, i) => percentiles(series.requests.filter((r) => Math.floor((r.t - series.startedAt) / 1_000) === i).map((r) => r.ms)).p99),
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
      `| outcomes | ${Object.entries(report.outcomes)
        .map(([k, v]) => `${k} ${v}`)
        .join(', ')} |`,
      `| non-202 answers | ${report.errors} |`,
      `| CPU per completed saga (all processes) | ${report.cpuMsPerSaga} ms |`,
      `| CPU per completed saga by process (ms) | ${Object.entries(report.cpuMsPerSagaByProcess)
        .sort(([, a], [, b]) => b - a)
        .map(([k, v]) => `${k} ${v}`)
        .join(', ')} |`,
      `| CPU (cores, load + drain) | ${Object.entries(report.cpuCores)
        .map(([k, v]) => `${k} ${v}`)
        .join(', ')} |`,
      `| peak RSS | ${Object.entries(report.peakRssMiB)
        .map(([k, v]) => `${k} ${v} MiB`)
        .join(', ')} |`,
      `| invariants | ${Object.entries(report.invariants)
        .map(([k, v]) => `${k} ${v ? 'yes' : '**NO**'}`)
        .join(', ')} |`,
      `| machine | ${report.machine.cores} cores, ${report.machine.memoryGiB} GiB, node ${report.machine.node} |`,
      '',
      '![throughput and latency](latest.svg)',
      '',
    ].join('\n');
    const stamp = report.at.replace(/[:.]/g, '-');
    for (const [name, content] of [
      [`latest.json`, JSON.stringify(report, null, 2)],
      [`${stamp}.json`, JSON.stringify(report, null, 2)],
      ['latest.md', md],
      ['latest.svg', svg],
      [`${stamp}.svg`, svg],
    ] as const) {
      writeFileSync(join(dir, name), content);
    }
    console.log(md);
    if (!Object.values(report.invariants).every(Boolean)) process.exitCode = 1;
    written = { report, md, stamp, dir };
  } finally {
    await queries.close();
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
  for (const [name, content] of [
    [`latest.json`, JSON.stringify(report, null, 2)],
    [`${written.stamp}.json`, JSON.stringify(report, null, 2)],
    ['latest.md', md],
  ] as const) {
    writeFileSync(join(written.dir, name), content);
  }
  console.log(md.slice(written.md.length));
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
