import pg from 'pg';
import type { Logger } from 'pino';
import { rollbackTransaction } from '@orderflow/db';
import { backoffMs } from '@orderflow/platform';
import { withDeadline } from './deadline';
import { beginOutboxBatch, commitOutboxBatch, OUTBOX_CHANNEL, type OutboxDestination, type OutboxRecord } from './outbox';

export interface OutboxRelayOptions {
  pool: pg.Pool;
  /** LISTEN needs its own connection outside the pool. */
  databaseUrl: string;
  destination: OutboxDestination;
  /** Publishes a batch in order and resolves once the broker confirmed every message. */
  publish: (records: OutboxRecord[]) => Promise<void>;
  logger: Logger;
  batchSize?: number;
  /** Fallback poll when no NOTIFY arrives (and the only wake-up while LISTEN is down). */
  idleMs?: number;
  maxBackoffMs?: number;
  /**
   * Longest a publish may take before the relay gives up on it: the transaction rolls back, the rows
   * stay, and the next attempt sends them again. Keep it below PG_IDLE_IN_TRANSACTION_TIMEOUT_MS,
   * which would otherwise end the transaction holding the batch.
   */
  publishTimeoutMs?: number;
  onPublished?: (count: number) => void;
}

export interface OutboxRelay {
  start(): void;
  /** New rows were committed: look now (or right after the batch in hand). */
  wake(): void;
  /** Whether this relay held its destination's lock at its last look, i.e. it is the one publishing. */
  readonly active: boolean;
  /** Finishes the batch in hand, then stops. */
  stop(): Promise<void>;
}

// One relay per destination publishes at a time (across all replicas), which keeps per-key order;
// the others wait on the lock and take over if it dies.
const LOCK_KEYS: Record<OutboxDestination, number> = { kafka: 0x0b0c1, rabbitmq: 0x0b0c2 };

/**
 * Moves committed outbox rows to their broker: reads a batch of pending rows in id order, publishes
 * it, strikes it from the pending list, in one transaction of two round trips (outbox.ts beginOutboxBatch). A failed publish rolls back and is retried with capped exponential
 * backoff, so nothing is lost while a broker is down; a crash after publishing re-sends the batch,
 * which consumers absorb by message id.
 */
export function createOutboxRelay(options: OutboxRelayOptions): OutboxRelay {
  const { pool, destination, publish, logger, batchSize = 500, idleMs = 1_000, maxBackoffMs = 5_000, publishTimeoutMs = 30_000 } = options;
  let running = false;
  let active = false;
  let loop: Promise<void> | undefined;
  let wake: (() => void) | undefined;
  // A wake-up that came while a batch was in hand: the next idle wait is skipped, so no row waits for the poll.
  let woken = false;
  const wakeUp = () => (wake ? wake() : void (woken = true));
  let listener: pg.Client | undefined;

  const stopping = new AbortController();

  /** Waits `ms`; a NOTIFY ends an idle wait early (not a backoff), and stop() ends either. */
  const pause = (ms: number, wakeable: boolean) =>
    new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer);
        wake = undefined;
        stopping.signal.removeEventListener('abort', done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      if (wakeable) wake = done;
      stopping.signal.addEventListener('abort', done, { once: true });
    });

  async function listen(): Promise<void> {
    if (listener) return;
    // The pool's connect and round-trip bounds: a frozen server must not stall the loop here (no
    // statement or idle-transaction timeout: this connection only waits for notifications).
    const { connectionTimeoutMillis, query_timeout } = pool.options;
    const client = new pg.Client({ connectionString: options.databaseUrl, connectionTimeoutMillis, query_timeout });
    client.on('notification', wakeUp);
    client.on('error', () => {
      listener = undefined;
      void client.end().catch(() => undefined);
    });
    try {
      await client.connect();
      await client.query(`LISTEN ${OUTBOX_CHANNEL}`);
      listener = client;
    } catch {
      await client.end().catch(() => undefined);
    }
  }

  /** One transaction: returns how many rows were published (0 when idle or another relay holds the lock). */
  async function relayOnce(): Promise<number> {
    const client = await pool.connect();
    let broken: Error | undefined;
    try {
      const { locked, batch } = await beginOutboxBatch(client, destination, LOCK_KEYS[destination], batchSize);
      active = locked;
      if (batch.length)
        await withDeadline(publish(batch), publishTimeoutMs, `${destination} did not take ${batch.length} row(s) within ${publishTimeoutMs} ms`);
      await commitOutboxBatch(
        client,
        destination,
        batch.map((r) => r.id),
      );
      return batch.length;
    } catch (error) {
      broken = await rollbackTransaction(client, error);
      throw error;
    } finally {
      client.release(broken);
    }
  }

  async function run(): Promise<void> {
    let failures = 0;
    while (running) {
      await listen();
      try {
        woken = false;
        const published = await relayOnce();
        if (failures) logger.info({ destination }, 'outbox relay recovered');
        failures = 0;
        if (published) options.onPublished?.(published);
        if (published < batchSize && !woken) await pause(idleMs, true);
      } catch (error) {
        failures++;
        const backoff = backoffMs(failures + 1, { baseMs: 100, capMs: maxBackoffMs, jitter: false });
        logger.warn({ err: error, destination, failures, backoffMs: backoff }, 'outbox relay could not publish; will retry');
        await pause(backoff, false);
      }
    }
  }

  return {
    wake: wakeUp,
    get active() {
      return active;
    },
    start() {
      if (running) return;
      running = true;
      loop = run();
    },
    async stop() {
      running = false;
      active = false;
      stopping.abort();
      await loop;
      await listener?.end().catch(() => undefined);
      listener = undefined;
    },
  };
}
