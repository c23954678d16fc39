// `make bench-compare`'s report: rounds of each system summarised as median and min–max, the kill
// round's verdict, the ratios to the peers, and the Markdown and SVG. Pure functions of the rounds.
import type { Invariants, RoundResult } from '../round';
import { round } from '../report';

/** One round of one system, as compare.ts records it. */
export interface ComparedRound extends Omit<RoundResult, 'series'> {
  system: string;
  /** 1-based; the kill round is marked `kill: true` instead of being counted in the medians. */
  round: number;
  killRound: boolean;
  /** CPU ms per completed order by process group: the system's own processes, Postgres and the brokers it uses. */
  cpuMsPerSagaByGroup: Record<string, number>;
  cpuMsPerSaga: number;
  /** Cores used by shared infrastructure this system does not use (idling beside it; not in `cpuMsPerSaga`). */
  idleInfrastructureCores: Record<string, number>;
  /** Commits of the system's own databases (`pg_stat_database`) and the server's `pg_stat_wal` bytes over the round, per accepted order. */
  commitsPerSaga: number;
  walBytesPerSaga: number;
}

export interface Spread {
  median: number;
  min: number;
  max: number;
}

export interface SystemSummary {
  system: string;
  description: string;
  rounds: number;
  completedPerSec: Spread;
  acceptedPerSec: Spread;
  postLatencyMs: { p50: Spread; p95: Spread; p99: Spread };
  e2eLatencyMs: { p50: Spread; p95: Spread; p99: Spread };
  cpuMsPerSaga: Spread;
  cpuMsPerSagaByGroup: Record<string, number>;
  idleInfrastructureCores: Record<string, number>;
  commitsPerSaga: Spread;
  walBytesPerSaga: Spread;
  /** Highest peak RSS of any round, per process group. */
  peakRssMiB: Record<string, number>;
  /** Every invariant in every measured round. */
  invariantsHeld: boolean;
  /** Invariants that failed in some measured round. */
  failedInvariants: string[];
  /** The kill round: its invariants, recovery time and whether the system is durable. Absent without a kill round. */
  killRound?: { durable: boolean; failedInvariants: string[]; recoverySeconds?: number; completedPerSec: number; retried: number; errors: number };
}

export function spread(values: number[]): Spread {
  if (!values.length) return { median: 0, min: 0, max: 0 };
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  const median = sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
  return { median: round(median, 2), min: round(sorted[0]!, 2), max: round(sorted.at(-1)!, 2) };
}

const failed = (invariants: Invariants) => Object.entries(invariants).flatMap(([name, ok]) => (ok ? [] : [name]));

export function summarize(system: string, description: string, rounds: ComparedRound[]): SystemSummary {
  const measured = rounds.filter((r) => r.system === system && !r.killRound);
  const kill = rounds.find((r) => r.system === system && r.killRound);
  const latency = (of: (r: ComparedRound) => RoundResult['postLatencyMs']) => ({
    p50: spread(measured.map((r) => of(r).p50)),
    p95: spread(measured.map((r) => of(r).p95)),
    p99: spread(measured.map((r) => of(r).p99)),
  });
  const medianByKey = (of: (r: ComparedRound) => Record<string, number>) => {
    const keys = [...new Set(measured.flatMap((r) => Object.keys(of(r))))];
    return Object.fromEntries(keys.map((k) => [k, spread(measured.map((r) => of(r)[k] ?? 0)).median]));
  };
  const failures = [...new Set(measured.flatMap((r) => failed(r.invariants)))];
  const peakRssMiB: Record<string, number> = {};
  for (const r of measured) for (const [app, mib] of Object.entries(r.peakRssMiB)) peakRssMiB[app] = Math.max(peakRssMiB[app] ?? 0, mib);
  return {
    system,
    description,
    rounds: measured.length,
    completedPerSec: spread(measured.map((r) => r.completedPerSec)),
    acceptedPerSec: spread(measured.map((r) => r.acceptedPerSec)),
    postLatencyMs: latency((r) => r.postLatencyMs),
    e2eLatencyMs: latency((r) => r.e2eLatencyMs),
    cpuMsPerSaga: spread(measured.map((r) => r.cpuMsPerSaga)),
    cpuMsPerSagaByGroup: medianByKey((r) => r.cpuMsPerSagaByGroup),
    idleInfrastructureCores: medianByKey((r) => r.idleInfrastructureCores),
    commitsPerSaga: spread(measured.map((r) => r.commitsPerSaga)),
    walBytesPerSaga: spread(measured.map((r) => r.walBytesPerSaga)),
    peakRssMiB,
    invariantsHeld: measured.length > 0 && failures.length === 0,
    failedInvariants: failures,
    ...(kill
      ? {
          killRound: {
            durable: failed(kill.invariants).length === 0,
            failedInvariants: failed(kill.invariants),
            ...(kill.kill ? { recoverySeconds: kill.kill.recoverySeconds } : {}),
            completedPerSec: kill.completedPerSec,
            retried: kill.retried,
            errors: kill.errors,
          },
        }
      : {}),
  };
}

/** orderflow ÷ one peer: of the medians, and round by round (each pair of interleaved rounds ran minutes apart, so a VM's drift mostly cancels). */
export interface PeerRatio {
  sagasPerSec: number;
  cpuMsPerSaga: number;
  /** The ratio of each pair of measured rounds with the same number: their median, min and max. */
  paired: { sagasPerSec: Spread; cpuMsPerSaga: Spread };
}

/** orderflow ÷ each peer: above 1 means orderflow completes more (sagas/s) or spends more (CPU). */
export function ratios(subject: SystemSummary, peers: SystemSummary[], rounds: ComparedRound[] = []): Record<string, PeerRatio> {
  const ratio = (a: number, b: number) => (b ? round(a / b, 3) : 0);
  const measured = (system: string) => new Map(rounds.filter((r) => r.system === system && !r.killRound).map((r) => [r.round, r]));
  const ours = measured(subject.system);
  return Object.fromEntries(
    peers.map((peer) => {
      const pairs = [...measured(peer.system)].flatMap(([n, theirs]) => (ours.has(n) ? [[ours.get(n)!, theirs] as const] : []));
      return [
        peer.system,
        {
          sagasPerSec: ratio(subject.completedPerSec.median, peer.completedPerSec.median),
          cpuMsPerSaga: ratio(subject.cpuMsPerSaga.median, peer.cpuMsPerSaga.median),
          paired: {
            sagasPerSec: spread(pairs.map(([a, b]) => ratio(a.completedPerSec, b.completedPerSec))),
            cpuMsPerSaga: spread(pairs.map(([a, b]) => ratio(a.cpuMsPerSaga, b.cpuMsPerSaga))),
          },
        },
      ];
    }),
  );
}

const fmt = (s: Spread, digits = 1) => `${round(s.median, digits)} (${round(s.min, digits)}–${round(s.max, digits)})`;
const fmtLatency = (l: SystemSummary['postLatencyMs']) => `${l.p50.median} / ${l.p95.median} / ${l.p99.median}`;

export interface CompareSetup {
  at: string;
  rounds: number;
  concurrency: number;
  warmupSeconds: number;
  measured: string;
  postgres: Record<string, string>;
  machine: { cores: number; cpu?: string; memoryGiB: number; node: string };
}

export function compareMarkdown(setup: CompareSetup, summaries: SystemSummary[], rounds: ComparedRound[], versus: ReturnType<typeof ratios>): string {
  const durable = (s: SystemSummary) =>
    !s.killRound
      ? 'not tested'
      : s.killRound.durable
        ? `yes (back in ${s.killRound.recoverySeconds ?? '?'} s)`
        : `**NOT DURABLE**: ${s.killRound.failedInvariants.join(', ')}`;
  const groups = [...new Set(summaries.flatMap((s) => Object.keys(s.cpuMsPerSagaByGroup)))];
  return [
    `# orderflow beside its peers — ${setup.at}`,
    '',
    `${setup.rounds} interleaved round(s) per system, ${setup.concurrency} clients, ${setup.warmupSeconds} s warm-up, ${setup.measured} measured; ` +
      `Postgres ${Object.entries(setup.postgres)
        .map(([k, v]) => `${k}=${v}`)
        .join(', ')}; ${setup.machine.cores} cores, ${setup.machine.memoryGiB} GiB, node ${setup.machine.node}. ` +
      'Medians over the rounds, min–max in brackets.',
    '',
    '| system | completed sagas/s | POST p50 / p95 / p99 ms | placed→terminal p50 / p95 / p99 ms | CPU ms per saga | commits per saga | WAL bytes per saga | peak RSS MiB | invariants | survives SIGKILL |',
    '|---|---|---|---|---|---|---|---|---|---|',
    ...summaries.map(
      (s) =>
        `| ${s.system} | ${fmt(s.completedPerSec)} | ${fmtLatency(s.postLatencyMs)} | ${fmtLatency(s.e2eLatencyMs)} | ${fmt(s.cpuMsPerSaga, 2)} | ${fmt(s.commitsPerSaga)} | ${fmt(s.walBytesPerSaga, 0)} | ` +
        `${Object.entries(s.peakRssMiB)
          .map(([k, v]) => `${k} ${v}`)
          .join(', ')} | ${s.invariantsHeld ? 'all held' : `**FAILED**: ${s.failedInvariants.join(', ')}`} | ${durable(s)} |`,
    ),
    '',
    '## CPU milliseconds per completed saga, by process group (medians)',
    '',
    `| system | ${groups.join(' | ')} | idle infrastructure beside it (cores) |`,
    `|---|${groups.map(() => '---').join('|')}|---|`,
    ...summaries.map(
      (s) =>
        `| ${s.system} | ${groups.map((g) => (g in s.cpuMsPerSagaByGroup ? String(s.cpuMsPerSagaByGroup[g]) : '—')).join(' | ')} | ${
          Object.entries(s.idleInfrastructureCores)
            .map(([k, v]) => `${k} ${v}`)
            .join(', ') || '—'
        } |`,
    ),
    '',
    '## orderflow ÷ peer',
    '',
    'Of the medians, and of each pair of interleaved rounds (median, min–max): the pairs ran minutes apart, so drift in the machine cancels more in them.',
    '',
    '| peer | sagas/s ratio | CPU per saga ratio | sagas/s ratio by pair | CPU per saga ratio by pair |',
    '|---|---|---|---|---|',
    ...Object.entries(versus).map(
      ([peer, r]) => `| ${peer} | ${r.sagasPerSec} | ${r.cpuMsPerSaga} | ${fmt(r.paired.sagasPerSec, 3)} | ${fmt(r.paired.cpuMsPerSaga, 3)} |`,
    ),
    '',
    '## Rounds',
    '',
    '| # | system | kind | completed sagas/s | POST p99 ms | CPU ms per saga | retried / failed requests | invariants |',
    '|---|---|---|---|---|---|---|---|',
    ...rounds.map(
      (r, i) =>
        `| ${i + 1} | ${r.system} | ${r.killRound ? `SIGKILL at ${r.kill?.atSecond ?? '?'} s, back in ${r.kill?.recoverySeconds ?? '?'} s` : `round ${r.round}`} | ${r.completedPerSec} | ${r.postLatencyMs.p99} | ${r.killRound ? '—' : r.cpuMsPerSaga} | ${r.retried} / ${r.errors} | ${failed(r.invariants).length ? `**FAILED**: ${failed(r.invariants).join(', ')}` : 'held'} |`,
    ),
    '',
    '## Systems',
    '',
    ...summaries.map((s) => `- **${s.system}**: ${s.description}`),
    '',
    '![sagas per second and CPU per saga](compare.svg)',
    '',
  ].join('\n');
}

const PALETTE = ['#1f77b4', '#ff7f0e', '#2ca02c', '#d62728', '#9467bd', '#8c564b', '#e377c2', '#7f7f7f', '#bcbd22', '#17becf'];

/** Two bar panels: completed sagas/s (median bar, min–max whisker) and CPU ms per saga stacked by process group. */
export function compareChart(title: string, summaries: SystemSummary[]): string {
  const width = 820;
  const rowHeight = 34;
  const left = 110;
  const barWidth = width - left - 60;
  const panelHeight = summaries.length * rowHeight + 40;
  const height = 40 + 2 * panelHeight + 40;
  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif" font-size="12">`,
    `<text x="10" y="20" font-size="14">${title}</text>`,
  ];
  // Panel 1: sagas/s.
  const maxRate = Math.max(1, ...summaries.map((s) => s.completedPerSec.max));
  let top = 50;
  parts.push(`<text x="10" y="${top - 8}">completed sagas/s (median, min–max)</text>`);
  summaries.forEach((s, i) => {
    const y = top + i * rowHeight;
    const x = (v: number) => left + (v / maxRate) * barWidth;
    parts.push(`<text x="10" y="${y + 16}">${s.system}</text>`);
    parts.push(`<rect x="${left}" y="${y + 4}" width="${(x(s.completedPerSec.median) - left).toFixed(1)}" height="18" fill="${PALETTE[i % PALETTE.length]}"/>`);
    parts.push(`<line x1="${x(s.completedPerSec.min).toFixed(1)}" y1="${y + 13}" x2="${x(s.completedPerSec.max).toFixed(1)}" y2="${y + 13}" stroke="#000"/>`);
    parts.push(`<text x="${(x(s.completedPerSec.max) + 6).toFixed(1)}" y="${y + 17}">${s.completedPerSec.median}</text>`);
  });
  // Panel 2: CPU per saga, stacked by group.
  top += panelHeight + 20;
  const groups = [...new Set(summaries.flatMap((s) => Object.keys(s.cpuMsPerSagaByGroup)))];
  const maxCpu = Math.max(0.001, ...summaries.map((s) => Object.values(s.cpuMsPerSagaByGroup).reduce((a, b) => a + b, 0)));
  parts.push(
    `<text x="10" y="${top - 8}">CPU ms per completed saga by process group (medians): ${groups.map((g, i) => `<tspan fill="${PALETTE[i % PALETTE.length]}">■ ${g}</tspan>`).join(' ')}</text>`,
  );
  summaries.forEach((s, i) => {
    const y = top + i * rowHeight;
    parts.push(`<text x="10" y="${y + 16}">${s.system}</text>`);
    let x = left;
    groups.forEach((g, gi) => {
      const w = ((s.cpuMsPerSagaByGroup[g] ?? 0) / maxCpu) * barWidth;
      if (w > 0)
        parts.push(
          `<rect x="${x.toFixed(1)}" y="${y + 4}" width="${w.toFixed(1)}" height="18" fill="${PALETTE[gi % PALETTE.length]}"><title>${g} ${s.cpuMsPerSagaByGroup[g]} ms</title></rect>`,
        );
      x += w;
    });
    parts.push(`<text x="${(x + 6).toFixed(1)}" y="${y + 17}">${s.cpuMsPerSaga.median} ms</text>`);
  });
  parts.push('</svg>');
  return parts.join('\n');
}
