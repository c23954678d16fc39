// `make test`'s runner: the parallel suites first, then the fault suites one at a time (they stop and
// restart shared brokers, so nothing may run beside them), then one closing `N passed, N failed` line.
// Usage: node scripts/run-tests.mjs [all|main|faults]
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync } from 'node:fs';

const which = process.argv[2] ?? 'all';
const runs = {
  main: ['--testPathIgnorePatterns', '/e2e/faults/', '/node_modules/', '/dist/', '/var/'],
  faults: ['--runInBand', '--passWithNoTests', 'e2e/faults/'],
};
const selected = which === 'all' ? ['main', 'faults'] : [which];
if (selected.some((name) => !runs[name])) {
  console.error(`usage: run-tests.mjs [all|main|faults]`);
  process.exit(2);
}

mkdirSync('var/test', { recursive: true });
const totals = { passed: 0, failed: 0, skipped: 0 };
let ok = true;
for (const name of selected) {
  const output = `var/test/${name}.json`;
  rmSync(output, { force: true });
  const run = spawnSync('npx', ['jest', ...runs[name], '--json', '--outputFile', output], { stdio: 'inherit', env: { ...process.env, JEST_SUMMARY: 'off' } });
  let results;
  try {
    results = JSON.parse(readFileSync(output, 'utf8'));
  } catch {
    console.error(`tests: the ${name} run produced no results (exit ${run.status})`);
    totals.failed += 1;
    ok = false;
    continue;
  }
  totals.passed += results.numPassedTests;
  totals.failed += results.numFailedTests + results.numRuntimeErrorTestSuites;
  totals.skipped += results.numPendingTests + results.numTodoTests;
  ok &&= run.status === 0;
}
console.log(`\n${totals.passed} passed, ${totals.failed} failed${totals.skipped ? `, ${totals.skipped} skipped` : ''}`);
process.exit(ok && totals.failed === 0 ? 0 : 1);
