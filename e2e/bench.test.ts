// `make bench` end to end, small: the real bench program starts its own system, drives it, waits for
// every saga and writes the report docs/benchmarks.md describes. Speed is not judged here, only that
// the bench runs, measures what it must and finds every invariant true.
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { repoRoot } from '@orderflow/config';
import { freePort } from '@orderflow/testing';

let out: string;
beforeAll(() => void (out = mkdtempSync(join(tmpdir(), 'orderflow-bench-'))));
afterAll(() => rmSync(out, { recursive: true, force: true }));

function runBench(env: Record<string, string>): Promise<{ code: number | null; output: string }> {
  const child = spawn(process.execPath, [join(repoRoot(), 'dist', 'bench', 'main.js')], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (c: Buffer) => (output += c.toString()));
  child.stderr.on('data', (c: Buffer) => (output += c.toString()));
  return new Promise((resolve) => child.once('close', (code) => resolve({ code, output })));
}

it('runs a small load against a system it starts and writes the report with every field, every invariant true', async () => {
  const { code, output } = await runBench({
    ORCHESTRATOR_URL: `http://127.0.0.1:${await freePort()}`, // nobody answers: the bench starts (and stops) its own system
    BENCH_OUT_DIR: out,
    BENCH_ORDERS: '40',
    BENCH_WARMUP_S: '0',
    BENCH_CONCURRENCY: '4',
  });
  expect({ code, output: code === 0 ? '' : output }).toEqual({ code: 0, output: '' });

  const files = readdirSync(out);
  const report = JSON.parse(readFileSync(join(out, 'latest.json'), 'utf8'));
  const dated = files.filter((f) => /^\d{4}-\d{2}-\d{2}T.*\.json$/.test(f));
  expect(dated).toHaveLength(1);
  expect(JSON.parse(readFileSync(join(out, dated[0]!), 'utf8'))).toEqual(report);
  expect(files).toEqual(expect.arrayContaining(['latest.md', 'latest.svg']));
  expect(readFileSync(join(out, 'latest.svg'), 'utf8')).toMatch(/^<svg/);
  expect(readFileSync(join(out, 'latest.md'), 'utf8')).toContain(`| completed sagas/s | ${report.completedPerSec} |`);

  const latency = { p50: expect.any(Number), p95: expect.any(Number), p99: expect.any(Number) };
  const mib = expect.any(Number);
  expect(report).toMatchObject({
    orders: 40,
    acceptedPerSec: expect.any(Number),
    completedPerSec: expect.any(Number),
    postLatencyMs: latency,
    e2eLatencyMs: latency,
    invariants: { allTerminal: true, stockConserved: true, oneEmailPerOrder: true, noDuplicateOrders: true, retriesAnswerTheSameOrder: true },
    peakRssMiB: { orchestrator: mib, order: mib, inventory: mib, notification: mib },
    machine: { cores: expect.any(Number), memoryGiB: expect.any(Number), node: process.version },
  });
  expect(Object.keys(report.invariants)).toHaveLength(5);
  for (const value of [report.acceptedPerSec, report.completedPerSec, report.cpuMsPerSaga, ...Object.values(report.peakRssMiB)])
    expect(value).toBeGreaterThan(0);
  expect(report.postLatencyMs.p50).toBeLessThanOrEqual(report.postLatencyMs.p99);
}, 240_000);
