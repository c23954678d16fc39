// Freezing a shared broker with SIGSTOP (it keeps its connections but answers nothing) and thawing it
// with SIGCONT (or commands from env where the brokers are containers), for the serial fault suites only: nothing else may be using the brokers meanwhile.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { repoRoot } from '@orderflow/config';
import { testInfra } from '@orderflow/testing';

export type SharedBroker = 'redis' | 'kafka' | 'rabbitmq';

const pgrep = (...args: string[]): number[] => {
  try {
    return execFileSync('pgrep', args, { encoding: 'utf8' }).split('\n').filter(Boolean).map(Number);
  } catch {
    return []; // pgrep exits 1 when nothing matches
  }
};
const port = (url: string, fallback: number) => Number(new URL(url).port || fallback);

/** The pid of the local process serving `broker` at the URL the tests use; throws when there is none. */
export function brokerPid(broker: SharedBroker): number {
  const infra = testInfra();
  let pids: number[] = [];
  if (broker === 'redis') pids = pgrep('-f', `redis-server .*:${port(infra.redisUrl, 6379)}`);
  if (broker === 'rabbitmq') pids = pgrep('-x', 'beam.smp');
  if (broker === 'kafka') {
    const file = join(repoRoot(), 'var', 'kafka', 'kafka.pid');
    if (existsSync(file)) pids = [Number(readFileSync(file, 'utf8').trim())].filter((pid) => pid > 0 && pgrep('-f', 'kafka.Kafka').includes(pid));
  }
  if (pids.length !== 1)
    throw new Error(`cannot tell which local process serves ${broker} (found ${pids.length}); the freeze tests need the brokers of \`make infra-up\``);
  return pids[0]!;
}

function parentOf(pid: number): number {
  try {
    return Number(
      readFileSync(`/proc/${pid}/stat`, 'utf8')
        .replace(/^.*\)\s*/, '')
        .split(' ')[1],
    );
  } catch {
    return 0;
  }
}
const commandOf = (pid: number) => {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ');
  } catch {
    return '';
  }
};

// A jest run (`npx jest …`, `node …/.bin/jest …`, its workers), not any command that mentions jest.
const JEST = /(^|[\s/'"])jest(['"]?\s|['"]?$)|jest-worker/;

/** jest processes other than this run (its ancestors and the children of its jest ancestors). */
export function otherJestRuns(): number[] {
  const ancestors = new Set<number>();
  for (let pid = process.pid; pid > 1; pid = parentOf(pid)) ancestors.add(pid);
  const roots = [...ancestors].filter((pid) => JEST.test(commandOf(pid)));
  const ours = (pid: number) => {
    if (ancestors.has(pid)) return true;
    for (let p = parentOf(pid); p > 1; p = parentOf(p)) if (roots.includes(p)) return true;
    return false;
  };
  return pgrep('-f', 'jest').filter((pid) => JEST.test(commandOf(pid)) && !ours(pid));
}

/** Waits until no other jest run is active, so freezing a shared broker disturbs no one else's tests. */
export async function waitForExclusiveBrokers(timeoutMs = 15 * 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const others = otherJestRuns();
    if (others.length === 0) return;
    if (Date.now() >= deadline)
      throw new Error(`other jest runs still active after ${timeoutMs} ms: ${others.map((p) => `${p} ${commandOf(p).slice(0, 80)}`).join('; ')}`);
    await delay(1_000);
  }
}

/**
 * How to freeze and thaw `broker`: by env (FAULTS_<BROKER>_FREEZE / FAULTS_<BROKER>_THAW, e.g.
 * `docker pause <container>` where the brokers are containers, as in the GitHub workflow), else
 * SIGSTOP / SIGCONT to the local process of `make infra-up`.
 */
function freezer(broker: SharedBroker): { freeze(): void; thaw(): void } {
  const freeze = process.env[`FAULTS_${broker.toUpperCase()}_FREEZE`];
  const thaw = process.env[`FAULTS_${broker.toUpperCase()}_THAW`];
  if (freeze && thaw) {
    const run = (command: string) => void execFileSync('bash', ['-c', command], { cwd: repoRoot(), stdio: 'ignore', timeout: 60_000 });
    return { freeze: () => run(freeze), thaw: () => run(thaw) };
  }
  const pid = brokerPid(broker);
  return { freeze: () => process.kill(pid, 'SIGSTOP'), thaw: () => process.kill(pid, 'SIGCONT') };
}

/** Runs `during` with `broker` frozen and always thaws it, even when `during` fails. */
export async function whileFrozen<T>(broker: SharedBroker, during: () => Promise<T>): Promise<T> {
  const control = freezer(broker);
  control.freeze();
  try {
    return await during();
  } finally {
    control.thaw();
  }
}

/** Thaws every shared broker (harmless when none is frozen): an afterAll's guard against a test that timed out mid-freeze. */
export function thawEveryBroker(): void {
  for (const broker of ['redis', 'kafka', 'rabbitmq'] as const) {
    try {
      freezer(broker).thaw();
    } catch {
      // not a local broker we can find (stopped): nothing to thaw
    }
  }
}
