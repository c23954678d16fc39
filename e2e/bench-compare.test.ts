// `make bench-compare`, small: one round of a few dozen orders per system and a SIGKILL round each,
// to prove that every peer works, keeps every invariant, survives its kill, and that the report has
// what docs/benchmarks.md describes. Speed is not judged here (other suites share the cores).
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { repoRoot } from '@orderflow/config';

let out: string;
beforeAll(() => void (out = mkdtempSync(join(tmpdir(), 'orderflow-compare-'))));
afterAll(() => rmSync(out, { recursive: true, force: true }));

function runCompare(env: Record<string, string>): Promise<{ code: number | null; output: string }> {
  const child = spawn(process.execPath, [join(repoRoot(), 'dist', 'bench-compare', 'main.js')], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (c: Buffer) => (output += c.toString()));
  child.stderr.on('data', (c: Buffer) => (output += c.toString()));
  return new Promise((resolve) => child.once('close', (code) => resolve({ code, output })));
}

it('runs orderflow, the floor and DBOS on the same load, each keeping every invariant through a SIGKILL, and reports them side by side', async () => {
  const { code, output } = await runCompare({ BENCH_OUT_DIR: out, BENCH_ROUNDS: '1', BENCH_ORDERS: '40', BENCH_WARMUP_S: '0', BENCH_CONCURRENCY: '4' });
  expect({ code, output: code === 0 ? '' : output }).toEqual({ code: 0, output: '' });

  const report = JSON.parse(readFileSync(join(out, 'compare.json'), 'utf8'));
  expect(report.systems.map((s: any) => s.system)).toEqual(['orderflow', 'floor', 'dbos']);
  expect(report.postgres).toMatchObject({ fsync: 'on', synchronous_commit: 'on' });
  // Interleaved: one measured round of each, then one kill round of each.
  expect(report.rounds.map((r: any) => `${r.system}${r.killRound ? '!' : ''}`)).toEqual(['orderflow', 'floor', 'dbos', 'orderflow!', 'floor!', 'dbos!']);
  const spread = { median: expect.any(Number), min: expect.any(Number), max: expect.any(Number) };
  for (const system of report.systems) {
    expect(system).toMatchObject({
      rounds: 1,
      invariantsHeld: true,
      failedInvariants: [],
      completedPerSec: spread,
      cpuMsPerSaga: spread,
      commitsPerSaga: spread,
      walBytesPerSaga: spread,
      killRound: { durable: true, failedInvariants: [], recoverySeconds: expect.any(Number) },
    });
    for (const value of [
      system.completedPerSec.median,
      system.cpuMsPerSaga.median,
      system.commitsPerSaga.median,
      system.walBytesPerSaga.median,
      system.postLatencyMs.p50.median,
    ]) {
      expect(value).toBeGreaterThan(0);
    }
    expect(system.cpuMsPerSagaByGroup.postgres).toBeGreaterThan(0);
  }
  const [orderflow, floor, dbos] = report.systems;
  expect(Object.keys(orderflow.peakRssMiB).sort()).toEqual(['inventory', 'notification', 'orchestrator', 'order']);
  expect(Object.keys(floor.peakRssMiB)).toEqual(['floor']);
  expect(Object.keys(dbos.peakRssMiB)).toEqual(['dbos']);
  // The brokers orderflow uses count in its CPU; beside the peers they idle and are reported apart.
  expect(Object.keys(floor.idleInfrastructureCores).sort()).toEqual(['kafka', 'rabbitmq', 'redis']);
  expect(orderflow.idleInfrastructureCores).toEqual({});
  const ratio = { sagasPerSec: expect.any(Number), cpuMsPerSaga: expect.any(Number), paired: { sagasPerSec: spread, cpuMsPerSaga: spread } };
  expect(report.ratios).toEqual({ floor: ratio, dbos: ratio });
  expect(report.ratios.floor.sagasPerSec).toBeCloseTo(orderflow.completedPerSec.median / floor.completedPerSec.median, 2);
  // One measured round each here: its pair's ratio is the medians' ratio.
  expect(report.ratios.floor.paired.sagasPerSec.median).toBeCloseTo(report.ratios.floor.sagasPerSec, 2);

  const md = readFileSync(join(out, 'compare.md'), 'utf8');
  for (const system of report.systems)
    expect(md).toMatch(new RegExp(`^\\| ${system.system} \\| ${Math.round(system.completedPerSec.median * 10) / 10} \\(`, 'm'));
  expect(md).toContain('## orderflow ÷ peer');
  expect(md).toContain('sagas/s ratio by pair');
  expect(readFileSync(join(out, 'compare.svg'), 'utf8')).toMatch(/^<svg/);
}, 600_000);
