// `make soak`: the system under a steady order rate for a long while (SOAK_MINUTES, default 10), with
// the row counts of every table that grows with traffic and every app's RSS sampled throughout. Its
// own system runs with retention windows scaled down to the soak, so the purges reach their steady
// state within it; the report says whether each series stays flat after the warm-up (var/soak/).
import { randomUUID } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { databaseName, repoRoot } from '@orderflow/config';
import { createPool, databaseUrl } from '@orderflow/db';
import { startSystem } from '../../e2e/support/system';
import { putCatalog } from './catalog';
import { findAppPids, rssMiB } from './processes';
import { lineChart, round } from './report';
import { flatAfterWarmup, type Series } from './soak-report';

const num = (name: string, fallback: number) => (process.env[name] ? Number(process.env[name]) : fallback);

/** Tables that grow with traffic and have a bounded life (each app's retention job, the idempotency purge). */
const PURGED: Record<string, string[]> = {
  orchestrator: ['idempotency_keys', 'sagas', 'saga_steps', 'outbox', 'dead_letters'],
  inventory: ['outbox'],
  notification: ['emails'],
};

/**
 * Retention windows for the soak: a few minutes instead of days, so a 10-minute run shows the purges
 * holding every table level. RETENTION_WINDOW_S scales them all.
 */
function retentionEnv(windowSeconds: number): Record<string, string> {
  const hours = String(windowSeconds / 3_600);
  const days = String(windowSeconds / 86_400);
  return {
    RETENTION_INTERVAL_SECONDS: '10',
    OUTBOX_RETENTION_HOURS: hours,
    SAGA_RETENTION_DAYS: days,
    EMAIL_LOG_RETENTION_DAYS: days,
    DEAD_LETTER_RETENTION_DAYS: days,
    IDEMPOTENCY_TTL_HOURS: hours,
    IDEMPOTENCY_PURGE_INTERVAL_SECONDS: '10',
  };
}

async function main(): Promise<void> {
  const minutes = num('SOAK_MINUTES', 10);
  const rate = num('SOAK_RATE', 30); // orders per second
  const sampleMs = num('SOAK_SAMPLE_S', 15) * 1_000;
  const windowSeconds = num('SOAK_RETENTION_WINDOW_S', 120);
  const dir = process.env.SOAK_OUT_DIR ?? join(repoRoot(), 'var', 'soak');
  const serverUrl = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

  console.log(`soak: ${rate} orders/s for ${minutes} min, retention windows ${windowSeconds} s, a sample every ${sampleMs / 1_000} s`);
  const system = await startSystem('soak', { env: { LOG_LEVEL: 'warn', ...retentionEnv(windowSeconds) } });
  const pools = Object.fromEntries(
    Object.keys(PURGED).map((service) => [service, createPool(databaseUrl(serverUrl, databaseName(service, system.prefix)), 2)]),
  );
  try {
    const admin = system.token('soak-admin', 'admin');
    const skus = Array.from({ length: 10 }, (_, i) => `SOAK-${randomUUID().slice(0, 6).toUpperCase()}-${i}`);
    await putCatalog(
      system.url,
      admin,
      skus.map((sku) => ({ sku, name: `Soak ${sku}`, stock: 100_000_000 })),
      'soak',
    );
    const tokens = Array.from({ length: 200 }, (_, i) => system.token(`soak-${i}`));
    const pids = findAppPids(system.prefix);
    const samples: { at: number; rows: Record<string, number>; rssMiB: Record<string, number> }[] = [];
    const sample = async () => {
      const rows: Record<string, number> = {};
      for (const [service, tables] of Object.entries(PURGED)) {
        for (const table of tables) rows[`${service}.${table}`] = (await pools[service]!.query(`SELECT count(*)::int AS n FROM ${table}`)).rows[0].n;
      }
      samples.push({ at: Date.now(), rows, rssMiB: Object.fromEntries([...pids].map(([app, pid]) => [app, round(rssMiB(pid))])) });
    };

    // An open loop: a request every 1/rate s whatever the answers take, as customers arrive.
    const start = Date.now();
    const end = start + minutes * 60_000;
    const answers = { accepted: 0, other: 0 };
    const inFlight = new Set<Promise<void>>();
    let sent = 0;
    let nextSample = start;
    while (Date.now() < end) {
      if (Date.now() >= nextSample) {
        await sample();
        nextSample += sampleMs;
      }
      const request = fetch(`${system.url}/v1/orders`, {
        method: 'POST',
        headers: { authorization: `Bearer ${tokens[sent % tokens.length]}`, 'content-type': 'application/json', 'idempotency-key': randomUUID() },
        body: JSON.stringify({ items: [{ sku: skus[sent % skus.length], quantity: 1 }] }),
      }).then(
        async (res) => {
          await res.arrayBuffer();
          answers[res.status === 202 ? 'accepted' : 'other']++;
        },
        () => void answers.other++,
      );
      sent++;
      const tracked = request.finally(() => inFlight.delete(tracked));
      inFlight.add(tracked);
      await delay(Math.max(0, start + (sent * 1_000) / rate - Date.now()));
    }
    await Promise.all(inFlight);
    await sample();

    const warmupMs = num('SOAK_WARMUP_S', Math.min(windowSeconds * 2, (minutes * 60) / 3)) * 1_000;
    const series: Series[] = [
      ...Object.keys(samples[0]!.rows).map((name) => ({
        name: `rows ${name}`,
        unit: 'rows' as const,
        points: samples.map((s) => ({ t: s.at - start, v: s.rows[name]! })),
      })),
      ...Object.keys(samples[0]!.rssMiB).map((app) => ({
        name: `RSS ${app}`,
        unit: 'MiB' as const,
        points: samples.map((s) => ({ t: s.at - start, v: s.rssMiB[app]! })),
      })),
    ];
    const verdicts = series.map((s) => ({ name: s.name, ...flatAfterWarmup(s, warmupMs) }));
    const report = {
      at: new Date().toISOString(),
      minutes,
      ratePerSec: rate,
      retentionWindowSeconds: windowSeconds,
      warmupSeconds: warmupMs / 1_000,
      sent,
      answers,
      flat: verdicts.every((v) => v.flat),
      series: verdicts,
      samples,
    };
    mkdirSync(dir, { recursive: true });
    const md = [
      `# orderflow soak — ${report.at}`,
      '',
      `${rate} orders/s for ${minutes} min (${sent} sent: ${answers.accepted} accepted, ${answers.other} other), retention windows ${windowSeconds} s, warm-up ${warmupMs / 1_000} s.`,
      '',
      '| series | end of warm-up | max after | last | flat |',
      '|---|---|---|---|---|',
      ...verdicts.map((v) => `| ${v.name} | ${v.atWarmupEnd} | ${v.maxAfter} | ${v.last} | ${v.flat ? 'yes' : '**NO**'} |`),
      '',
      '![rows and RSS over the soak](latest.svg)',
      '',
    ].join('\n');
    const svg = lineChart(
      `orderflow soak ${report.at} (one point per ${sampleMs / 1_000} s)`,
      series.map((s, i) => ({
        name: s.name,
        unit: s.unit,
        values: s.points.map((p) => p.v),
        color: ['#1f77b4', '#2ca02c', '#d62728', '#9467bd', '#8c564b', '#e377c2'][i % 6]!,
      })),
    );
    const stamp = report.at.replace(/[:.]/g, '-');
    for (const [name, content] of [
      ['latest.json', JSON.stringify(report, null, 2)],
      [`${stamp}.json`, JSON.stringify(report, null, 2)],
      ['latest.md', md],
      ['latest.svg', svg],
    ] as const) {
      writeFileSync(join(dir, name), content);
    }
    console.log(md);
    if (!report.flat) process.exitCode = 1;
  } finally {
    await Promise.all(Object.values(pools).map((p) => p.end()));
    await system.stop();
  }
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
