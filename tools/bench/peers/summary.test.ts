import type { Invariants } from '../round';
import { compareMarkdown, compareChart, ratios, spread, summarize, type ComparedRound } from './summary';

const held: Invariants = { allTerminal: true, stockConserved: true, oneEmailPerOrder: true, noDuplicateOrders: true, retriesAnswerTheSameOrder: true };

function roundOf(system: string, n: number, values: Partial<ComparedRound> = {}): ComparedRound {
  return {
    system,
    round: n,
    killRound: false,
    orders: 100,
    allOrders: 120,
    acceptedPerSec: 100,
    completedPerSec: 100,
    postLatencyMs: { p50: 10, p95: 20, p99: 30 },
    e2eLatencyMs: { p50: 40, p95: 50, p99: 60 },
    invariants: held,
    peakRssMiB: { app: 100 },
    cpuCores: {},
    cpuSeconds: {},
    cpuWallSeconds: 1,
    outcomes: {},
    errors: 0,
    retried: 0,
    measuredSeconds: 1,
    cpuMsPerSagaByGroup: { postgres: 1, app: 2 },
    cpuMsPerSaga: 3,
    idleInfrastructureCores: {},
    commitsPerSaga: 7,
    walBytesPerSaga: 2_000,
    ...values,
  };
}

describe('bench-compare summary', () => {
  it('takes the median and the range of the rounds', () => {
    expect(spread([30, 10, 20])).toEqual({ median: 20, min: 10, max: 30 });
    expect(spread([10, 20, 30, 40])).toEqual({ median: 25, min: 10, max: 40 });
  });

  it('summarises the measured rounds of one system and leaves its kill round out of the medians', () => {
    const rounds = [
      roundOf('a', 1, { completedPerSec: 90, peakRssMiB: { app: 120 } }),
      roundOf('b', 1),
      roundOf('a', 2, { completedPerSec: 110 }),
      roundOf('a', 3, { completedPerSec: 100 }),
      roundOf('a', 4, { killRound: true, completedPerSec: 5, kill: { atSecond: 15, recoverySeconds: 2.5 } }),
    ];
    const a = summarize('a', 'system a', rounds);
    expect(a).toMatchObject({
      rounds: 3,
      completedPerSec: { median: 100, min: 90, max: 110 },
      peakRssMiB: { app: 120 },
      invariantsHeld: true,
      killRound: { durable: true, failedInvariants: [], recoverySeconds: 2.5, completedPerSec: 5 },
    });
  });

  it('calls a system not durable when an invariant fails in its kill round, and names the invariant', () => {
    const rounds = [roundOf('a', 1), roundOf('a', 2, { killRound: true, invariants: { ...held, oneEmailPerOrder: false } })];
    const a = summarize('a', 'system a', rounds);
    expect(a.invariantsHeld).toBe(true);
    expect(a.killRound).toMatchObject({ durable: false, failedInvariants: ['oneEmailPerOrder'] });
    const md = compareMarkdown(
      {
        at: 'now',
        rounds: 1,
        concurrency: 4,
        warmupSeconds: 0,
        measured: '40 orders',
        postgres: { fsync: 'on' },
        machine: { cores: 2, memoryGiB: 24, node: 'v20' },
      },
      [a],
      rounds,
      {},
    );
    expect(md).toContain('**NOT DURABLE**: oneEmailPerOrder');
  });

  it('reports a measured round whose invariants fail', () => {
    const a = summarize('a', 'system a', [roundOf('a', 1, { invariants: { ...held, stockConserved: false } })]);
    expect(a).toMatchObject({ invariantsHeld: false, failedInvariants: ['stockConserved'] });
  });

  it('divides orderflow by each peer on medians, and round by round within each interleaved pair', () => {
    // The machine slowed down for both in round 2: each pair's ratio is its own, the kill round is left out.
    const ours = [
      roundOf('orderflow', 1, { completedPerSec: 100, cpuMsPerSaga: 16 }),
      roundOf('orderflow', 2, { completedPerSec: 80, cpuMsPerSaga: 30 }),
      roundOf('orderflow', 3, { completedPerSec: 90, cpuMsPerSaga: 20 }),
    ];
    const theirs = [
      roundOf('floor', 1, { completedPerSec: 400, cpuMsPerSaga: 2 }),
      roundOf('floor', 2, { completedPerSec: 200, cpuMsPerSaga: 4 }),
      roundOf('floor', 3, { completedPerSec: 300, cpuMsPerSaga: 2.5 }),
    ];
    const rounds = [...ours, ...theirs, roundOf('floor', 4, { killRound: true, completedPerSec: 1, cpuMsPerSaga: 100 })];
    const subject = summarize('orderflow', '', rounds);
    const floor = summarize('floor', '', rounds);
    expect(ratios(subject, [floor], rounds)).toEqual({
      floor: {
        sagasPerSec: 0.3,
        cpuMsPerSaga: 8,
        paired: { sagasPerSec: { median: 0.3, min: 0.25, max: 0.4 }, cpuMsPerSaga: { median: 8, min: 7.5, max: 8 } },
      },
    });
  });

  it('draws a bar per system for sagas/s and a stacked bar per system for CPU', () => {
    const summaries = [summarize('a', '', [roundOf('a', 1)]), summarize('b', '', [roundOf('b', 1)])];
    const svg = compareChart('t', summaries);
    expect(svg).toMatch(/^<svg/);
    // Per system: one sagas/s bar and one rect per CPU group (postgres, app).
    expect(svg.match(/<rect /g)).toHaveLength(2 + 2 * 2);
  });
});
