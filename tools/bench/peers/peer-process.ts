// A benchmark peer's server (dist/<bundle>/main.js) as a child process of its adapter: started on a
// free port of 127.0.0.1 with the round's env, ready once GET /readyz answers 200, and stopped by a
// signal. The same env on every launch, so a process started again after a kill finds its own data.
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { repoRoot } from '@orderflow/config';
import { freePort, waitFor } from '@orderflow/testing';

const READY_TIMEOUT_MS = 30_000;
// SIGTERM lets a peer drain; one that hangs is killed then, so a round never waits on it forever.
const EXIT_TIMEOUT_MS = 15_000;

export interface PeerProcess {
  /** http://127.0.0.1:<port>, the same across launches. */
  readonly url: string;
  /** Starts the process and waits for /readyz; rejects if it exits first or is not ready in time. */
  launch(): Promise<void>;
  /** Sends `signal` (SIGKILL after EXIT_TIMEOUT_MS) and waits for the exit; nothing when it is not running. */
  terminate(signal: NodeJS.Signals): Promise<void>;
  /** SIGKILL, then launch again: the crash a round inflicts (RunningTarget.killAndRestart). */
  killAndRestart(): Promise<void>;
  /** The running process under `group`, as RunningTarget.appPids reports it; empty when none runs. */
  appPids(group: string): Map<string, number>;
}

export interface PeerProcessOptions {
  /** The bundle's name in dist/ (scripts/build.mjs), also the process's name in errors: 'bench-floor'. */
  bundle: string;
  /** The round's env (RoundOptions.env): over the harness's own env and under the peer's settings. */
  roundEnv: Record<string, string>;
  /** What the peer's server needs from its adapter (its databases, secret, mail directory); PORT is set here. */
  env: Record<string, string>;
}

function exited(child: ChildProcess): Promise<void> {
  return child.exitCode !== null || child.signalCode !== null ? Promise.resolve() : new Promise((resolve) => child.once('exit', () => resolve()));
}

/** Picks the port; nothing runs until `launch`. */
export async function createPeerProcess({ bundle, roundEnv, env }: PeerProcessOptions): Promise<PeerProcess> {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const script = join(repoRoot(__dirname), `dist/${bundle}/main.js`);
  let child: ChildProcess | undefined;

  async function launch(): Promise<void> {
    const proc = spawn(process.execPath, [script], {
      env: { ...process.env, LOG_LEVEL: 'warn', ...roundEnv, PORT: String(port), ...env },
      // stderr straight through, so a crash is seen; stdout carries nothing the harness needs.
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    child = proc;
    const gone = new AbortController();
    proc.once('exit', (code, signal) => gone.abort(new Error(`${bundle} exited (${signal ?? `code ${code}`}) before it was ready`)));
    await waitFor(
      async () => {
        const res = await fetch(`${url}/readyz`, { signal: AbortSignal.timeout(1_000) });
        return res.status === 200;
      },
      { timeoutMs: READY_TIMEOUT_MS, intervalMs: 50, what: `${bundle} on ${url}/readyz`, signal: gone.signal },
    );
  }

  async function terminate(signal: NodeJS.Signals): Promise<void> {
    const proc = child;
    if (!proc) return;
    const done = exited(proc);
    proc.kill(signal);
    const late = setTimeout(() => proc.kill('SIGKILL'), EXIT_TIMEOUT_MS);
    await done;
    clearTimeout(late);
    child = undefined;
  }

  return {
    url,
    launch,
    terminate,
    async killAndRestart() {
      await terminate('SIGKILL');
      await launch();
    },
    appPids: (group) => new Map(child?.pid ? [[group, child.pid]] : []),
  };
}
