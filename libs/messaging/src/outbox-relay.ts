import pg from 'pg';
import type { Logger } from 'pino';
import { markOutboxPublished, OUTBOX_CHANNEL, readOutboxBatch, type OutboxDestination, type OutboxRecord } from './outbox';

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
  onPublished?: (count: number) => void;
}

export interface OutboxRelay {
  start(): void;
  /** Finishes the batch in hand, then stops. */
  stop(): Promise<void>;
}

// One relay per destination publishes at a time (across all replicas), which keeps per-key order;
// the others wait on the lock and take over if it dies.
const LOCK_KEYS: Record<OutboxDestination, number> = { kafka: 0x0b0c1, rabbitmq: 0x0b0c2 };

/**
 * Moves committed outbox rows to their broker: reads a batch in id order, publishes it, marks it
 * published, in one transaction. A failed publish rolls back and is retried with capped exponential
 * backoff, so nothing is lost while a broker is down; a crash after publishing re-sends the batch,
 * which consumers absorb by message id.
 */
export function createOutboxRelay(options: OutboxRelayOptions): OutboxRelay {
  const { pool, destination, publish, logger, batchSize = 500, idleMs = 1_000, maxBackoffMs = 5_000 } = options;
  let running = false;
  let loop: Promise<void> | undefined;
  let wake: (() => void) | undefined;
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
    const client = new pg.Client({ connectionString: options.databaseUrl });
    client.on('notification', () => wake?.());
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
    try {
      await client.query('BEGIN');
      const { rows } = await client.query('SELECT pg_try_advisory_xact_lock($1) AS locked', [LOCK_KEYS[destination]]);
      const batch = rows[0].locked ? await readOutboxBatch(client, destination, batchSize) : [];
      if (batch.length) {
        await publish(batch);
        await markOutboxPublished(client, batch.map((r) => r.id));
      }
      await client.query('COMMIT');
      return batch.length;
    } catch (error) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw error;
    } finally {
      client.release();
    }
  }

  async function run(): Promise<void> {
    let failures = 0;
    while (running) {
      await listen();
      try {
        const published = await relayOnce();
        if (failures) logger.info({ destination }, 'outbox relay recovered');
        failures = 0;
        if (published) options.onPublished?.(published);
        if (published < batchSize) await pause(idleMs, true);
      } catch (error) {
        failures++;
        const backoff = Math.min(maxBackoffMs, 100 * 2 ** Math.min(failures, 10));
        logger.warn({ err: error, destination, failures, backoffMs: backoff }, 'outbox relay could not publish; will retry');
        await pause(backoff, false);
      }
    }
  }

  return {
    start() {
      if (running) return;
      running = true;
      loop = run();
    },
    async stop() {
      running = false;
      stopping.abort();
      await loop;
      await listener?.end().catch(() => undefined);
      listener = undefined;
    },
  };
}
