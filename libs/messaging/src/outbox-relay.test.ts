// The relay against a real Postgres; the broker is the `publish` port, recorded here (the Kafka and
// RabbitMQ publishers are exercised end to end in e2e/).
import { randomUUID } from 'node:crypto';
import pino from 'pino';
import type pg from 'pg';
import { createPool } from '@orderflow/db';
import { createTestDatabase, waitFor, type TestDatabase } from '@orderflow/testing';
import { beginOutboxBatch, commitOutboxBatch, enqueueOutbox, type OutboxDestination, type OutboxMessage, type OutboxRecord } from './outbox';
import { createOutboxRelay, type OutboxRelay, type OutboxRelayOptions } from './outbox-relay';
import { createOutboxWriter } from './outbox-writer';

const logger = pino({ level: 'silent' });
/** Far longer than any wait below: a row published in time was not found by the fallback poll. */
const NEVER_POLL_MS = 120_000;

let db: TestDatabase;
let pool: pg.Pool;
const relays: OutboxRelay[] = [];

beforeEach(async () => {
  db = await createTestDatabase('orchestrator', 'outbox_relay');
  pool = createPool(db.url, 6);
});
afterEach(async () => {
  await Promise.all(relays.splice(0).map((r) => r.stop()));
  await pool.end();
  await db.drop();
});

function relay(options: Partial<OutboxRelayOptions> & Pick<OutboxRelayOptions, 'publish'>): OutboxRelay {
  const created = createOutboxRelay({ pool, databaseUrl: db.url, destination: 'kafka', logger, idleMs: 50, maxBackoffMs: 200, ...options });
  relays.push(created);
  return created;
}

const message = (key: string, destination: OutboxDestination = 'kafka'): OutboxMessage => ({
  destination,
  topic: 'orders',
  key,
  messageId: randomUUID(),
  payload: { key },
});

const unpublished = async (destination: OutboxDestination) =>
  (await pool.query('SELECT count(*)::int AS n FROM outbox_pending WHERE destination = $1', [destination])).rows[0].n as number;

/** A promise the test resolves by hand: holds a publish "in flight". */
function gate() {
  let open!: () => void;
  const opened = new Promise<void>((resolve) => (open = resolve));
  return { opened, open };
}

describe('outbox relay', () => {
  it('publishes committed rows of its destination in commit order and strikes them from the pending list', async () => {
    const published: OutboxRecord[] = [];
    const first = [message('a'), message('b')];
    const second = [message('a'), message('c')];
    await enqueueOutbox(pool, first);
    await enqueueOutbox(pool, [message('task', 'rabbitmq')]);
    await enqueueOutbox(pool, second);

    relay({ publish: async (batch) => void published.push(...batch) }).start();

    await waitFor(() => published.length === 4, { what: 'four kafka rows published' });
    expect(published.map((r) => r.messageId)).toEqual([...first, ...second].map((m) => m.messageId));
    // The stored JSON, as bytes to send as they are.
    expect(published.map((r) => JSON.parse(String(r.payload)))).toEqual([...first, ...second].map((m) => m.payload));
    await waitFor(async () => (await unpublished('kafka')) === 0, { what: 'the rows struck from the pending list' });
    expect(await unpublished('rabbitmq')).toBe(1); // another destination's relay's business
  });

  it('keeps the rows while the broker refuses them and publishes them once it is back', async () => {
    let refusals = 0;
    const published: OutboxRecord[] = [];
    const messages = [message('a'), message('b')];
    await enqueueOutbox(pool, messages);

    relay({
      publish: async (batch) => {
        if (refusals < 3) {
          refusals++;
          throw new Error('broker unavailable');
        }
        published.push(...batch);
      },
    }).start();

    await waitFor(() => published.length === 2, { what: 'the rows published after the refusals' });
    expect(refusals).toBe(3);
    expect(published.map((r) => r.messageId)).toEqual(messages.map((m) => m.messageId));
    await waitFor(async () => (await unpublished('kafka')) === 0, { what: 'the rows struck from the pending list' });
  });

  it('gives up on a publish the broker never finishes after publishTimeoutMs: the rows stay unpublished and the next attempt sends them', async () => {
    const never = gate();
    const attempts: string[][] = [];
    const messages = [message('a'), message('b')];
    await enqueueOutbox(pool, messages);

    relay({
      publishTimeoutMs: 200,
      publish: async (batch) => {
        attempts.push(batch.map((r) => r.messageId));
        if (attempts.length === 1) await never.opened; // a frozen broker: neither confirms nor fails
      },
    }).start();

    await waitFor(() => attempts.length === 1, { what: 'the first attempt' });
    expect(await unpublished('kafka')).toBe(2);
    await waitFor(async () => (await unpublished('kafka')) === 0, { what: 'the rows published by a later attempt' });
    expect(attempts).toEqual([messages.map((m) => m.messageId), messages.map((m) => m.messageId)]);
    never.open();
  });

  it('publishes every row once, in commit order, when two relays share a destination; one carries on when the other stops', async () => {
    // The lock is taken per batch, so the relays may take turns; what matters is that batches never overlap.
    const order: string[] = [];
    const byRelay = { first: 0, second: 0 };
    let publishing = 0;
    let overlaps = 0;
    const publishAs = (name: keyof typeof byRelay) => async (batch: OutboxRecord[]) => {
      if (++publishing > 1) overlaps++;
      await new Promise((resolve) => setImmediate(resolve));
      order.push(...batch.map((r) => r.messageId));
      byRelay[name] += batch.length;
      publishing--;
    };
    const first = relay({ publish: publishAs('first'), idleMs: 5 });
    const second = relay({ publish: publishAs('second'), idleMs: 5 });
    first.start();
    second.start();

    const before = Array.from({ length: 40 }, (_, i) => message(`k${i % 3}`));
    for (const m of before) await enqueueOutbox(pool, [m]);
    await waitFor(() => order.length === before.length, { what: 'every row published' });

    await first.stop();
    const published = byRelay.second;
    const after = [message('k0'), message('k1')];
    await enqueueOutbox(pool, after);
    await waitFor(() => byRelay.second === published + after.length, { what: 'the second relay to carry on alone' });
    expect(order).toEqual([...before, ...after].map((m) => m.messageId));
    expect(overlaps).toBe(0);
    expect(await unpublished('kafka')).toBe(0);
  });

  it('serves a wake-up that came while a batch was in hand right after it, not at the next poll', async () => {
    const published: string[] = [];
    const inFlight = gate();
    let publishing = false;
    const r = relay({
      idleMs: NEVER_POLL_MS,
      publish: async (batch) => {
        publishing = true;
        if (published.length === 0) await inFlight.opened;
        published.push(...batch.map((m) => m.messageId));
      },
    });
    const writer = createOutboxWriter([r]);
    r.start();
    await waitFor(() => r.active, { what: 'the relay to take the lock and go idle' });

    // The writer skips NOTIFY while its relay publishes, and wakes it in-process after each commit.
    const firstRow = message('a');
    await writer.transaction(pool, (_tx, outbox) => outbox.enqueue([firstRow]));
    await waitFor(() => publishing, { what: 'the first batch to be in hand' });

    const secondRow = message('b');
    await writer.transaction(pool, (_tx, outbox) => outbox.enqueue([secondRow])); // woken while the relay publishes: no idle wait is running to end
    inFlight.open();

    await waitFor(() => published.length === 2, { what: 'the second row without waiting for the poll', timeoutMs: 10_000 });
    expect(published).toEqual([firstRow.messageId, secondRow.messageId]);
  });

  it('wakes on a NOTIFY from another process’s commit instead of waiting for the poll', async () => {
    const published: string[] = [];
    const r = relay({ idleMs: NEVER_POLL_MS, publish: async (batch) => void published.push(...batch.map((m) => m.messageId)) });
    r.start();
    await waitFor(() => r.active, { what: 'the relay to listen, take the lock and go idle' });

    const row = message('a');
    await enqueueOutbox(pool, [row]); // notifies, as a writer in a process without an active relay does

    await waitFor(() => published.length === 1, { what: 'the notified row', timeoutMs: 10_000 });
    expect(published).toEqual([row.messageId]);
  });

  it('reads a batch by index scans, which skip the pending entries of rows it already published, never a bitmap scan that revisits them', async () => {
    // A relay's read after 10,000 rows were published, before autovacuum came by, must not touch the
    // dead index entries their deleted pending entries left: a bitmap scan visits each one's heap page.
    const rows = Array.from({ length: 10_000 }, (_, i) => ({ ...message(`k${i}`), payload: { key: i, data: 'x'.repeat(800) } })); // fact-sized rows
    for (let i = 0; i < rows.length; i += 500) await enqueueOutbox(pool, rows.slice(i, i + 500), { notify: false });
    let published = 0;
    const r = relay({ publish: async (batch) => void (published += batch.length) });
    r.start();
    await waitFor(() => published === rows.length, { what: 'every row published', timeoutMs: 30_000 });
    await r.stop();
    // The relay commits asynchronously; until the WAL holding its deletes is flushed Postgres may not
    // hint them committed, nor flag their index entries dead. A transaction with an id flushes it.
    await pool.query('SELECT txid_current()');
    // The relay may have stopped before reading again after its last batch; one empty read, as it
    // would have made, passes the last batch's deleted entries once (an index scan flags them dead).
    const warm = await pool.connect();
    try {
      expect((await beginOutboxBatch(warm, 'kafka', 0x7e57, 500)).batch).toEqual([]);
      await commitOutboxBatch(warm, 'kafka', []);
    } finally {
      warm.release();
    }
    await enqueueOutbox(pool, [message('next')], { notify: false });

    // auto_explain hands this session the executed plan of each statement, with its buffers, as a notice.
    const client = await pool.connect();
    const plans: string[] = [];
    client.on('notice', (notice) => plans.push(notice.message ?? ''));
    try {
      await client.query(`LOAD 'auto_explain'; SET auto_explain.log_min_duration = 0; SET auto_explain.log_analyze = on;
        SET auto_explain.log_buffers = on; SET auto_explain.log_nested_statements = on; SET auto_explain.log_level = notice`);
      const { batch } = await beginOutboxBatch(client, 'kafka', 0x7e57, 500);
      await commitOutboxBatch(
        client,
        'kafka',
        batch.map((b) => b.id),
      );
      expect(batch).toHaveLength(1);
      const read = plans.find((plan) => / on outbox_pending /.test(plan)); // the plan of the read, beside the lock's and the delete's
      expect(read).toBeDefined();
      // The plan, not the pages it touched: how many dead entries are left to flag depends on when the
      // relay's asynchronous commits reached the disk. A bitmap scan read 854 pages here (over the old
      // design's partial index); an index scan flags dead entries as it passes them and skips them.
      expect(read).not.toMatch(/Bitmap|Seq Scan/);
      expect(read).toMatch(/Index (Only )?Scan using outbox_pending_pkey on outbox_pending/);
      expect(read).toMatch(/Index Scan using outbox_pkey on outbox/);
      // The outbox row itself is never updated: one version of it, the one written.
      expect(Number((await pool.query(`SELECT n_tup_upd FROM pg_stat_user_tables WHERE relname = 'outbox'`)).rows[0].n_tup_upd)).toBe(0);
    } finally {
      client.release(true); // the session's auto_explain settings go with it
    }
  });
});
