import { readdirSync, readFileSync } from 'node:fs';

// An app's bundle: dist/<app>/main.js, or in a baseline build's copy such as var/dist-base/<app>/main.js.
const APP_SCRIPT = /dist[^/]*\/(orchestrator|order|inventory|notification)\/main\.js$/;

/** Pids of running app processes (`dist/<app>/main.js`) whose RESOURCE_PREFIX is `prefix`. */
export function findAppPids(prefix: string): Map<string, number> {
  const found = new Map<string, number>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const cmdline = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0');
      const script = cmdline.find((arg) => APP_SCRIPT.test(arg));
      if (!script) continue;
      const env = readFileSync(`/proc/${entry}/environ`, 'utf8').split('\0');
      const processPrefix = env.find((v) => v.startsWith('RESOURCE_PREFIX='))?.slice('RESOURCE_PREFIX='.length) ?? '';
      if (processPrefix === prefix) found.set(APP_SCRIPT.exec(script)![1]!, Number(entry));
    } catch {
      // the process ended while we looked
    }
  }
  return found;
}

/** Resident memory of a process in MiB, or 0 when it is gone. */
export function rssMiB(pid: number): number {
  try {
    const kb = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
    return kb ? Number(kb) / 1024 : 0;
  } catch {
    return 0;
  }
}

const INFRA: Record<string, string> = { postgres: 'postgres', java: 'kafka', 'beam.smp': 'rabbitmq', 'redis-server': 'redis' };

/**
 * CPU time (user + system, in seconds) used so far by the apps of `apps` and by the infrastructure
 * processes on this machine, grouped by what they are; everything else is `other`. A difference of two
 * readings shows where the cores went during a phase (a process that ended in between counts in its parent's group).
 */
export function cpuSecondsByGroup(apps: Map<string, number>): Record<string, number> {
  const ticksPerSecond = 100; // USER_HZ on Linux
  const appOf = new Map([...apps].map(([name, pid]) => [pid, name]));
  const totals: Record<string, number> = {};
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const comm = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      // utime, stime, and cutime, cstime: what its exited children used, so the Postgres backends that
      // ended during a phase still count (the postmaster reaps them).
      const seconds = (Number(fields[11]) + Number(fields[12]) + Number(fields[13]) + Number(fields[14])) / ticksPerSecond;
      const group = appOf.get(Number(entry)) ?? INFRA[comm] ?? 'other';
      totals[group] = (totals[group] ?? 0) + seconds;
    } catch {
      // the process ended while we looked
    }
  }
  return totals;
}
