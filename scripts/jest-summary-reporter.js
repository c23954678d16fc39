/**
 * Prints the closing `N passed, N failed` line that CI reads. Jest prints its own summary after the
 * reporters run, so the line is written when the process exits, to stay last in the combined output.
 */
class SummaryReporter {
  onRunComplete(_contexts, results) {
    if (process.env.JEST_SUMMARY === 'off') return; // scripts/run-tests.mjs prints one line for several runs
    const failed = results.numFailedTests + results.numRuntimeErrorTestSuites;
    const skipped = results.numPendingTests + results.numTodoTests;
    const line = `${results.numPassedTests} passed, ${failed} failed` + (skipped ? `, ${skipped} skipped` : '');
    process.once('exit', () => process.stderr.write(`\n${line}\n`));
  }
}
module.exports = SummaryReporter;
