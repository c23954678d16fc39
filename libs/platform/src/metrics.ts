import { setTimeout as delay } from 'node:timers/promises';
import { collectDefaultMetrics, Registry } from 'prom-client';
import { withTimeout } from './readiness';

/** A Prometheus registry per process, with Node's process metrics and a `service` label on everything. */
export function createMetricsRegistry(service: string): Registry {
  const registry = new Registry();
  registry.setDefaultLabels({ service });
  collectDefaultMetrics({ register: registry });
  return registry;
}

export interface CachedCollectOptions {
  /** A new read starts at most this often. */
  ttlMs?: number;
  /** How long a scrape waits for a read in progress; a slower read still lands for a later scrape. */
  timeoutMs?: number;
  /** A read still going after this is abandoned, so a hung dependency cannot stop all later reads. */
  maxReadMs?: number;
}

/**
 * Wraps a read that a gauge's `collect()` makes on scrape (a query, a broker call): at most one read
 * per `ttlMs`, and a scrape waits at most `timeoutMs` for it, so /metrics never hangs on a dependency
 * that is down. Until a read succeeds the last values stand (undefined before the first success).
 */
export function cachedCollect<T>(read: () => Promise<T>, options: CachedCollectOptions = {}): () => Promise<T | undefined> {
  const { ttlMs = 5_000, timeoutMs = 1_500, maxReadMs = 30_000 } = options;
  let last: T | undefined;
  let readAt = 0;
  let pending: Promise<void> | undefined;
  return async () => {
    if (!pending && Date.now() - readAt >= ttlMs) {
      pending = withTimeout(Promise.resolve().then(read), maxReadMs, 'metrics read')
        .then(
          (value) => void (last = value),
          () => undefined,
        )
        .finally(() => {
          readAt = Date.now();
          pending = undefined;
        });
    }
    if (pending) await Promise.race([pending, delay(timeoutMs, undefined, { ref: false })]);
    return last;
  };
}
