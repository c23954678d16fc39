// The outbox writer against a real Postgres (the orchestrator's schema has the outbox table); relays
// are stand-ins that record wake-ups and say whether they publish.
import { randomUUID } from 'node:crypto';
import type pg from 'pg';
import { createPool } from '@orderflow/db';
import { createTestDatabase, type TestDatabase } from '@orderflow/testing';
import type { OutboxMessage } from './outbox';
import type { OutboxRelay } from './outbox-relay';
import { createOutboxWriter, notifyingOutboxWriter, type OutboxParts } from './outbox-writer';

let db: TestDatabase;
let pool: pg.Pool;
beforeAll(async () => {
  db = await createTestDatabase('orchestrator', 'outbox_writer');
  pool = createPool(db.url, 3);
});
afterAll(async () => {
  await pool.end();
  await db.drop();
});

const relay = (active: boolean) => ({ active, wake: jest.fn(), start: jest.fn(), stop: jest.fn() }) satisfies OutboxRelay;
const message = (): OutboxMessage => ({ destination: 'kafka', topic: 'orders', key: randomUUID(), messageId: randomUUID(), payload: { n: 1 } });
const stored = async (messages: OutboxMessage[]) =>
  (await pool.query('SELECT count(*)::int AS n FROM outbox WHERE message_id = ANY($1::uuid[])', [messages.map((m) => m.messageId)])).rows[0].n as number;

describe('outbox writer', () => {
  it('writes a statement’s messages with it, skips NOTIFY while its own relays publish, and wakes them once it committed', async () => {
    const relays = [relay(true), relay(true)];
    const messages = [message(), message()];
    let parts: OutboxParts | undefined;
    const { rows } = await createOutboxWriter(relays).statement(
      pool,
      messages,
      [],
      undefined,
      (p) => ((parts = p), `WITH o AS (${p.insert}) SELECT 1 AS done${p.select}`),
    );
    expect(rows).toEqual([{ done: 1 }]);
    expect(parts!.select).toBe('');
    expect(await stored(messages)).toBe(2);
    for (const r of relays) expect(r.wake).toHaveBeenCalledTimes(1);
  });

  it('NOTIFYs when another process publishes for any destination, or when it has no relays of its own', async () => {
    for (const writer of [createOutboxWriter([relay(true), relay(false)]), notifyingOutboxWriter]) {
      let parts: OutboxParts | undefined;
      await writer.statement(pool, [message()], [], undefined, (p) => ((parts = p), `WITH o AS (${p.insert}) SELECT 1${p.select}`));
      expect(parts!.select).toMatch(/pg_notify\('outbox'/);
    }
  });

  it('refuses a statement that leaves out the outbox insert: nothing is written, no relay woken', async () => {
    const relays = [relay(true)];
    const messages = [message()];
    await expect(createOutboxWriter(relays).statement(pool, messages, [], undefined, () => 'SELECT 1')).rejects.toThrow(/must contain the outbox insert/);
    expect(await stored(messages)).toBe(0);
    expect(relays[0]!.wake).not.toHaveBeenCalled();
  });

  it('commits a transaction’s messages with it and wakes the relays after COMMIT; a failed transaction writes nothing and wakes no one', async () => {
    const relays = [relay(true)];
    const writer = createOutboxWriter(relays);
    const kept = [message()];
    await writer.transaction(pool, async (_tx, outbox) => {
      await outbox.enqueue(kept);
      expect(relays[0]!.wake).not.toHaveBeenCalled(); // not before the commit: the relay would find nothing
    });
    expect(await stored(kept)).toBe(1);
    expect(relays[0]!.wake).toHaveBeenCalledTimes(1);

    const dropped = [message()];
    const failing = writer.transaction(pool, async (_tx, outbox) => {
      await outbox.enqueue(dropped);
      throw new Error('the change failed');
    });
    await expect(failing).rejects.toThrow('the change failed');
    expect(await stored(dropped)).toBe(0);
    expect(relays[0]!.wake).toHaveBeenCalledTimes(1);
  });
});
