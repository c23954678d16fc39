// `make bench-compare`: the same load, catalog, order mix and invariant checks as `make bench`, run
// interleaved (A B C A B C …) against orderflow, the floor (one process, one transaction per order) and
// DBOS Transact, each started fresh for every round, plus one round per system in which its app
// processes are SIGKILLed mid-run and restarted. Writes var/bench/compare.{json,md,svg}.
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { repoRoot } from '@orderflow/config';
import { round } from '../report';
import { cpuMsPerOrder, cpuMsPerOrderByGroup, measureRound } from '../round';
import { dbosTarget } from './dbos/adapter';
import { floorTarget } from './floor/adapter';
import { orderflowBuild, orderflowTarget } from './orderflow';
import { compareChart, compareMarkdown, ratios, summarize, type ComparedRound } from './summary';
import type { BenchTarget } from './target';

const num = (name: string, fallback: number) => (process.env[name] ? Number(process.env[name]) : fallback);
// BENCH_BASELINE_DIST: another build of orderflow (e.g. main's dist/, copied aside) as the system
// `baseline`, for measuring a change against what it changes: BENCH_SYSTEMS=orderflow,baseline.
const baselineDist = process.env.BENCH_BASELINE_DIST;
const ALL: BenchTarget[] = [
  orderflowTarget,
  floorTarget,
  dbosTarget,
  ...(baselineDist ? [orderflowBuild('baseline', `orderflow as built in ${baselineDist}`, baselineDist)] : []),
];
/** Shared infrastructure besides Postgres; a system that does not use one gets its CPU reported apart. */
const SHARED_INFRASTRUCTURE = ['kafka', 'rabbitmq', 'redis'];
/** Every system runs like this: what a production deployment would log, and no tracing export. */
const COMMON_ENV = { LOG_LEVEL: 'warn', OTEL_SDK_DISABLED: 'true' };

interface PgCounters {
  commits: number;
  walBytes: number;
}

async function main(): Promise<void> {
  const wanted = (
    process.env.BENCH_SYSTEMS ??
    ALL.filter((s) => s.name !== 'baseline')
      .map((s) => s.name)
      .join(',')
  )
    .split(',')
    .map((s) => s.trim());
  const systems = ALL.filter((s) => wanted.includes(s.name));
  if (!systems.length || systems.length !== wanted.length)
    throw new Error(`BENCH_SYSTEMS: expected a comma-separated subset of ${ALL.map((s) => s.name).join(', ')}`);
  const rounds = num('BENCH_ROUNDS', 3);
  const killRound = process.env.BENCH_KILL_ROUND !== '0';
  const concurrency = num('BENCH_CONCURRENCY', 32);
  const warmupMs = num('BENCH_WARMUP_S', 5) * 1_000;
  const durationMs = num('BENCH_DURATION_S', 30) * 1_000;
  const maxOrders = process.env.BENCH_ORDERS ? Number(process.env.BENCH_ORDERS) : undefined;
  const dir = process.env.BENCH_OUT_DIR ?? join(repoRoot(), 'var', 'bench');
  mkdirSync(dir, { recursive: true });

  const admin = new pg.Client({ connectionString: process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres' });
  await admin.connect();
  // Commits of the system's own databases (other databases come and go: a dropped one leaves the
  // sum); WAL is one stream for the whole server.
  const counters = async (databases: string[]): Promise<PgCounters> => {
    const { rows } = await admin.query(
      'SELECT (SELECT COALESCE(sum(xact_commit), 0) FROM pg_stat_database WHERE datname = ANY($1))::bigint AS commits, (SELECT wal_bytes FROM pg_stat_wal)::bigint AS wal',
      [databases],
    );
    return { commits: Number(rows[0].commits), walBytes: Number(rows[0].wal) };
  };
  // The same durable Postgres for every system; a run on a server that cheats says so in the report.
  const postgres: Record<string, string> = {};
  for (const setting of ['fsync', 'synchronous_commit', 'full_page_writes', 'wal_level', 'shared_buffers', 'max_connections']) {
    postgres[setting] = (await admin.query(`SHOW ${setting}`)).rows[0][setting];
  }
  if (postgres.fsync !== 'on' || postgres.synchronous_commit !== 'on')
    console.warn(`bench-compare: Postgres is not durable (fsync=${postgres.fsync}, synchronous_commit=${postgres.synchronous_commit}); the report says so`);

  const schedule = [
    ...Array.from({ length: rounds }, (_, r) => systems.map((system) => ({ system, round: r + 1, kill: false }))).flat(),
    ...(killRound ? systems.map((system) => ({ system, round: rounds + 1, kill: true })) : []),
  ];
  const at = new Date().toISOString();
  const results: ComparedRound[] = [];
  const setup = {
    at,
    rounds,
    concurrency,
    warmupSeconds: warmupMs / 1_000,
    measured: maxOrders ? `${maxOrders} orders` : `${durationMs / 1_000} s`,
    postgres,
    machine: { cores: cpus().length, cpu: cpus()[0]?.model, memoryGiB: round(totalmem() / 2 ** 30), node: process.version },
  };
  const write = () => {
    const summaries = systems.map((s) => summarize(s.name, s.description, results));
    const subject = summaries.find((s) => s.system === 'orderflow');
    const versus = subject
      ? ratios(
          subject,
          summaries.filter((s) => s !== subject),
          results,
        )
      : {};
    const report = { ...setup, systems: summaries, ratios: versus, rounds: results };
    writeFileSync(join(dir, 'compare.json'), JSON.stringify(report, null, 2));
    const md = compareMarkdown(setup, summaries, results, versus);
    writeFileSync(join(dir, 'compare.md'), md);
    writeFileSync(join(dir, 'compare.svg'), compareChart(`orderflow beside its peers ${at}`, summaries));
    return { summaries, md };
  };

  try {
    for (const [i, step] of schedule.entries()) {
      const { system } = step;
      console.log(`bench-compare: ${i + 1}/${schedule.length} ${system.name} ${step.kill ? 'kill round' : `round ${step.round}`}`);
      const running = await system.start({ label: `cmp_${system.name}_${step.round}`, env: COMMON_ENV });
      let before: PgCounters | undefined;
      let result: Awaited<ReturnType<typeof measureRound>> | undefined;
      try {
        result = await measureRound(running, {
          concurrency,
          warmupMs,
          durationMs,
          maxOrders,
          workDir: join(dir, 'work'),
          ...(step.kill ? (maxOrders ? { killAfterOrders: Math.ceil(maxOrders / 2) } : { killAfterMs: durationMs / 2 }) : {}),
          onLoadStart: async () => void (before = await counters(running.databases)),
        });
      } finally {
        // Stopped before the counters are read: a backend flushes its statistics when it exits.
        await running.stop();
      }
      const after = await counters(running.databases);
      await running.cleanup();
      const uses = new Set(['postgres', ...(system.infrastructure ?? [])]);
      const unused = SHARED_INFRASTRUCTURE.filter((group) => !uses.has(group));
      const { series: _series, ...kept } = result;
      const perOrder = (n: number) => (result!.allOrders ? round(n / result!.allOrders, 1) : 0);
      results.push({
        ...kept,
        system: system.name,
        round: step.round,
        killRound: step.kill,
        cpuMsPerSaga: cpuMsPerOrder(result, unused),
        cpuMsPerSagaByGroup: Object.fromEntries(Object.entries(cpuMsPerOrderByGroup(result, unused)).map(([group, ms]) => [group, round(ms, 2)])),
        idleInfrastructureCores: Object.fromEntries(unused.map((group) => [group, round((result!.cpuSeconds[group] ?? 0) / result!.cpuWallSeconds, 3)])),
        commitsPerSaga: perOrder(after.commits - before!.commits),
        walBytesPerSaga: perOrder(after.walBytes - before!.walBytes),
      });
      write();
    }
  } finally {
    await admin.end();
  }
  const { summaries, md } = write();
  console.log(md);
  // A peer that loses data in its kill round is reported, not a failure of this run; broken invariants
  // in a measured round, or orderflow losing anything, are.
  const broken = summaries.filter((s) => !s.invariantsHeld || (s.system === 'orderflow' && s.killRound && !s.killRound.durable));
  if (broken.length) {
    console.error(`bench-compare: invariants failed for ${broken.map((s) => s.system).join(', ')}`);
    process.exitCode = 1;
  }
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? (error.stack ?? error.message) : error);
  process.exit(1);
});
