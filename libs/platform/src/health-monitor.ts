import { Gauge, type Registry } from 'prom-client';
import type { Logger } from 'pino';
import { withTimeout, type DependencyCheck } from './readiness';

/** One dependency as `/status` shows it: the last background check, and since when it has been so. */
export interface DependencyState {
  name: string;
  ok: boolean;
  latencyMs: number;
  /** ISO time of the last check. */
  checkedAt: string;
  /** ISO time since which `ok` has had its current value. */
  since: string;
  error?: string;
}

export type BreakerState = 'closed' | 'halfOpen' | 'open';

interface Readings {
  outbox: { backlog: number; oldestAgeSeconds: number };
  /** Kafka: messages a consumer group has not committed yet. */
  consumerLag: { group: string; topic: string; lag: number }[];
  /** RabbitMQ: messages waiting in the queues a worker consumes. */
  queues: { queue: string; messages: number; consumers: number }[];
}

/** Optional parts of `/status`: breakers read on request, the rest in the background rounds. */
export interface StatusSources extends Partial<{ [K in keyof Readings]: () => Promise<Readings[K] | undefined> }> {
  breakers?: () => { name: string; state: BreakerState }[];
}

export interface StatusReport {
  service: string;
  version: string;
  uptimeSeconds: number;
  draining: boolean;
  ready: boolean;
  dependencies: DependencyState[];
  breakers?: { name: string; state: BreakerState }[];
  /** Each present where the app has the source; null until its first read succeeds. */
  outbox?: Readings['outbox'] | null;
  consumerLag?: Readings['consumerLag'] | null;
  queues?: Readings['queues'] | null;
}

export interface Readiness {
  ready: boolean;
  /** Why not: `starting`, `shutting-down`, or the name of a required dependency that is down. */
  down: string[];
}

export interface HealthMonitorOptions {
  service: string;
  version: string;
  checks: DependencyCheck[];
  /** Names of the checks readiness depends on: the process's own database, never a shared broker. */
  requiredForReadiness: string[];
  intervalMs: number;
  timeoutMs: number;
  registry?: Registry;
  sources?: StatusSources;
  logger?: Logger;
}

const URL_PATTERN = /\b[a-z][a-z0-9+.-]*:\/\/[^\s'"]+/gi;
const ADDRESS_PATTERN = /\b(?:\d{1,3}(?:\.\d{1,3}){3}|\[[0-9a-f:]+\]|[a-z0-9-]+(?:\.[a-z0-9-]+)+):\d{2,5}\b/gi;

/** An error as operators may see it: no URLs (they can hold credentials) and no internal addresses. */
export function publicError(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return message.replace(URL_PATTERN, '<url>').replace(ADDRESS_PATTERN, '<address>').slice(0, 300);
}

/**
 * Checks every dependency in the background, every `intervalMs`, each bounded by `timeoutMs`, over
 * the app's live clients; `/readyz` and `/status` answer from the last round and never wait on a
 * dependency. Readiness means "this process can do its own job": started, not draining, and its
 * required checks (its own database) passing. A shared broker being down shows in `/status` and in
 * `orderflow_dependency_up`, and is ridden out by the outbox, breakers and retries, so it never fails readiness.
 */
export function createHealthMonitor(options: HealthMonitorOptions) {
  const startedAt = Date.now();
  const states = new Map<string, DependencyState>();
  const readingNames = (['outbox', 'consumerLag', 'queues'] as const).filter((name) => options.sources?.[name]);
  const readings: { [K in keyof Readings]?: Readings[K] | null } = Object.fromEntries(readingNames.map((name) => [name, null]));
  let started = false;
  let draining = false;
  let timer: NodeJS.Timeout | undefined;
  let round: Promise<void> | undefined;

  const up = options.registry
    ? new Gauge({
        name: 'orderflow_dependency_up',
        help: 'Whether the background check of a dependency passes (1) or not (0)',
        labelNames: ['dependency'],
        registers: [options.registry],
      })
    : undefined;

  async function checkOne({ name, check }: DependencyCheck): Promise<void> {
    const began = Date.now();
    let error: string | undefined;
    try {
      await withTimeout(check(), options.timeoutMs, name);
    } catch (cause) {
      error = publicError(cause);
    }
    const now = new Date();
    const previous = states.get(name);
    const ok = error === undefined;
    const since = previous && previous.ok === ok ? previous.since : now.toISOString();
    states.set(name, { name, ok, latencyMs: now.getTime() - began, checkedAt: now.toISOString(), since, ...(error ? { error } : {}) });
    up?.set({ dependency: name }, ok ? 1 : 0);
    if (previous && previous.ok !== ok) {
      if (ok) options.logger?.info({ dependency: name }, `${name} is back`);
      else options.logger?.warn({ dependency: name, error }, `${name} is down`);
    }
  }

  const bounded = <T>(read: () => Promise<T>, what: string) => withTimeout(Promise.resolve().then(read), options.timeoutMs, what);

  async function read<K extends keyof Readings>(name: K): Promise<void> {
    try {
      const value = await bounded(options.sources![name]! as () => Promise<Readings[K] | undefined>, name);
      if (value !== undefined) readings[name] = value;
    } catch {
      // The last value stands; the check of the dependency behind it names the outage.
    }
  }

  async function runRound(): Promise<void> {
    await Promise.all([...options.checks.map(checkOne), ...readingNames.map(read)]);
  }

  /** One round at a time: a slow round is never doubled up by the next tick. */
  const refresh = () => (round ??= runRound().finally(() => (round = undefined)));

  function readiness(): Readiness {
    const down: string[] = [];
    if (!started) down.push('starting');
    if (draining) down.push('shutting-down');
    for (const name of options.requiredForReadiness) if (!states.get(name)?.ok) down.push(name);
    return { ready: down.length === 0, down };
  }

  return {
    /** Runs the first round (so the first answers are real) and then one every `intervalMs`. */
    async start(): Promise<void> {
      await refresh();
      timer = setInterval(() => void refresh(), options.intervalMs);
      timer.unref();
    },
    /** Start-up is complete: the process serves from now on. */
    markStarted(): void {
      started = true;
    },
    /** Shutdown has begun: readiness fails so load balancers stop sending. */
    markDraining(): void {
      draining = true;
    },
    /** Stops the rounds and closes the connections the checks hold. */
    async stop(): Promise<void> {
      clearInterval(timer);
      await round;
      await Promise.all(options.checks.map(async (c) => c.close?.()));
    },
    readiness,
    status(): StatusReport {
      const { sources = {} } = options;
      return {
        service: options.service,
        version: options.version,
        uptimeSeconds: Math.round((Date.now() - startedAt) / 1_000),
        draining,
        ready: readiness().ready,
        dependencies: options.checks.map(({ name }) => states.get(name)!).filter(Boolean),
        ...(sources.breakers ? { breakers: sources.breakers() } : {}),
        ...readings,
      };
    },
  };
}

export type HealthMonitor = ReturnType<typeof createHealthMonitor>;
