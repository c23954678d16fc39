// The dead-letter repository on the real Postgres: any bytes go in and come back out unchanged, a
// letter Postgres refuses becomes a placeholder row instead of an error that would be retried for ever,
// and migration 0006 keeps the rows recorded while payloads were text.
import { randomUUID } from 'node:crypto';
import { createPool, databaseUrl, dropDatabase, inTransaction, migrate } from '@orderflow/db';
import { createTestDatabase, testInfra, uniqueName, type TestDatabase } from '@orderflow/testing';
import type pg from 'pg';
import { createDeadLetterRepository, type DeadLetter, type DeadLetterRepository } from './dead-letter-repository';

let db: TestDatabase;
let pool: pg.Pool;
let repo: DeadLetterRepository;

beforeAll(async () => {
  db = await createTestDatabase('orchestrator', 'dead_letter_repo');
  pool = createPool(db.url, 2);
  repo = createDeadLetterRepository(pool);
});

afterAll(async () => {
  await pool.end();
  await db.drop();
});

const letter = (overrides: Partial<Omit<DeadLetter, 'replayedAt' | 'createdAt'>> = {}): Omit<DeadLetter, 'replayedAt' | 'createdAt'> => ({
  id: randomUUID(),
  source: 'kafka',
  origin: 'order-events',
  payload: Buffer.from('{"ok":true}'),
  headers: {},
  error: 'undecodable',
  attempts: 1,
  firstFailedAt: '2026-01-01T00:00:00.000Z',
  lastFailedAt: '2026-01-01T00:00:00.000Z',
  ...overrides,
});

async function stored(id: string): Promise<DeadLetter> {
  const found = (await repo.list(200)).find((d) => d.id === id);
  if (!found) throw new Error(`dead letter ${id} not listed`);
  return found;
}

it('stores a payload, key and header values that are not text byte for byte', async () => {
  const d = letter({
    key: Buffer.from([0x00, 0xff, 0x10]),
    payload: Buffer.from([0x00, 0x01]),
    headers: { traceparent: '00-abc-def-01', 'x-error': 'undecodable', blob: Buffer.from([0xc3, 0x28, 0x00]) },
  });
  expect(await repo.record(d)).toBe('recorded');
  const back = await stored(d.id);
  expect(back.payload.equals(Buffer.from([0x00, 0x01]))).toBe(true);
  expect(back.key?.equals(Buffer.from([0x00, 0xff, 0x10]))).toBe(true);
  expect(back.headers).toEqual({ traceparent: '00-abc-def-01', 'x-error': 'undecodable', blob: Buffer.from([0xc3, 0x28, 0x00]) });
});

it('records the same letter once', async () => {
  const d = letter({ payload: Buffer.from([0xff]) });
  expect(await repo.record(d)).toBe('recorded');
  expect(await repo.record(d)).toBe('duplicate');
});

it('records a placeholder, with the payload and the reason, for a letter Postgres refuses', async () => {
  // Header text with a NUL (the collector would have kept it as bytes) and a nonsense attempt count.
  const d = letter({
    payload: Buffer.from([0x00, 0x01]),
    headers: { bad: 'a\u0000b' },
    error: 'broken\u0000error',
    attempts: Number.NaN,
    messageId: 'm\u0000',
  });
  expect(await repo.record(d)).toBe('placeholder');
  const back = await stored(d.id);
  expect(back.payload.equals(Buffer.from([0x00, 0x01]))).toBe(true);
  expect(back.headers).toEqual({});
  expect(back.error).toMatch(/^placeholder: the dead letter could not be stored as received \(.+\).*Error: broken\ufffderror$/);
  expect(back).toMatchObject({ attempts: 0, messageId: 'm\ufffd', origin: 'order-events' });
  expect(await repo.record(d)).toBe('duplicate');
});

it('replays the bytes it stored', async () => {
  const d = letter({ payload: Buffer.from([0x00, 0x01]), headers: { blob: Buffer.from([0x00]) } });
  await repo.record(d);
  let published: DeadLetter | undefined;
  await inTransaction(pool, (tx) => repo.replayOnce(tx, d.id, async (l) => void (published = l)));
  expect(published?.payload.equals(Buffer.from([0x00, 0x01]))).toBe(true);
  expect(published?.headers.blob).toEqual(Buffer.from([0x00]));
});

describe('operators’ filters and actions', () => {
  // Each test's letters come from an origin of its own, so the filters see only them.
  const recordAll = async (...letters: ReturnType<typeof letter>[]) => {
    for (const d of letters) await repo.record(d);
    return letters;
  };

  it('lists only the letters matching every filter: source, origin, status and time', async () => {
    const origin = `orders-${randomUUID()}`;
    const [kafka, rabbit, replayed] = await recordAll(
      letter({ origin }),
      letter({ origin, source: 'rabbitmq' }),
      letter({ origin }),
      letter({ origin: `${origin}-other` }),
    );
    await inTransaction(pool, (tx) => repo.replayOnce(tx, replayed!.id, async () => undefined));
    const ids = async (filter: Parameters<DeadLetterRepository['list']>[2]) => (await repo.list(50, undefined, { origin, ...filter })).map((d) => d.id).sort();

    expect(await ids({})).toEqual([kafka!.id, rabbit!.id, replayed!.id].sort());
    expect(await ids({ source: 'rabbitmq' })).toEqual([rabbit!.id]);
    expect(await ids({ status: 'pending' })).toEqual([kafka!.id, rabbit!.id].sort());
    expect(await ids({ status: 'replayed', source: 'kafka' })).toEqual([replayed!.id]);
    expect(await ids({ from: new Date(Date.now() + 60_000).toISOString() })).toEqual([]);
    expect(await ids({ to: new Date(Date.now() + 60_000).toISOString() })).toHaveLength(3);
  });

  it('discards a pending letter once, keeps the reason, and never discards a replayed one', async () => {
    const [pending, replayed] = await recordAll(letter(), letter());
    await inTransaction(pool, (tx) => repo.replayOnce(tx, replayed!.id, async () => undefined));

    const first = await inTransaction(pool, (tx) => repo.discard(tx, pending!.id, 'known bad payload'));
    expect(first).toMatchObject({ found: true, discarded: true, letter: { discardReason: 'known bad payload', discardedAt: expect.any(String) } });
    expect(await inTransaction(pool, (tx) => repo.discard(tx, pending!.id, 'again'))).toMatchObject({
      discarded: false,
      letter: { discardReason: 'known bad payload' },
    });
    expect(await inTransaction(pool, (tx) => repo.discard(tx, replayed!.id, 'too late'))).toMatchObject({ found: true, discarded: false });
    expect(await inTransaction(pool, (tx) => repo.discard(tx, randomUUID(), 'none'))).toEqual({ found: false, discarded: false });
    // A discarded letter is not replayed.
    let published = 0;
    expect(await inTransaction(pool, (tx) => repo.replayOnce(tx, pending!.id, async () => void published++))).toMatchObject({ replayed: false });
    expect(published).toBe(0);
  });

  it('replays every pending matching letter once, counts the unreplayable as skipped, and publishes nothing when the transaction rolls back', async () => {
    const origin = `bulk-${randomUUID()}`;
    const letters = await recordAll(letter({ origin }), letter({ origin }), letter({ origin, source: 'saga' }), letter({ origin, source: 'rabbitmq' }));
    const replayable = (d: DeadLetter) => d.source !== 'saga';
    const failing = inTransaction(pool, (tx) =>
      repo.replayMatching(tx, { origin }, 100, replayable, async () => {
        throw new Error('broker down');
      }),
    );
    await expect(failing).rejects.toThrow('broker down');
    expect((await repo.list(50, undefined, { origin, status: 'pending' })).length).toBe(4);

    const published: string[] = [];
    const result = await inTransaction(pool, (tx) =>
      repo.replayMatching(tx, { origin }, 100, replayable, async (ls) => void published.push(...ls.map((l) => l.id))),
    );
    expect(result.replayed.map((d) => d.id).sort()).toEqual([letters[0]!.id, letters[1]!.id, letters[3]!.id].sort());
    expect(result.skipped).toBe(1); // the saga's letter
    expect(published.sort()).toEqual(result.replayed.map((d) => d.id).sort());
    const again = await inTransaction(pool, (tx) =>
      repo.replayMatching(tx, { origin }, 100, replayable, async (ls) => void published.push(...ls.map((l) => l.id))),
    );
    expect(again.replayed).toEqual([]);
    expect(published).toHaveLength(3);
  });

  it('never lets letters that cannot be replayed use up the limit of a bulk replay', async () => {
    const origin = `clogged-${randomUUID()}`;
    await recordAll(letter({ origin, source: 'saga' }), letter({ origin, source: 'saga' }));
    const [replayable] = await recordAll(letter({ origin }));
    const { published, result } = await replayOne(origin);
    expect(published).toEqual([replayable!.id]);
    expect(result.skipped).toBe(2);
  });

  it('passes over a letter a concurrent replay holds and takes the next one in its place', async () => {
    const origin = `held-${randomUUID()}`;
    const [held, next] = await recordAll(letter({ origin }), letter({ origin }));
    await pool.query(`UPDATE dead_letters SET created_at = created_at - interval '1 minute' WHERE id = $1`, [held!.id]);
    const other = await pool.connect();
    try {
      await other.query('BEGIN');
      await other.query('SELECT 1 FROM dead_letters WHERE id = $1 FOR UPDATE', [held!.id]);
      const { published, result } = await replayOne(origin);
      expect([published, result.more]).toEqual([[next!.id], false]);
    } finally {
      await other.query('ROLLBACK');
      other.release();
    }
  });
});

it('migration 0006 keeps the rows recorded with text payloads, and its down migration keeps the binary ones as base64', async () => {
  const { databaseUrl: serverUrl } = testInfra();
  const name = uniqueName('dead_letter_0006');
  const old = createPool(databaseUrl(serverUrl, name), 1);
  try {
    await migrate({ serverUrl, service: 'orchestrator', databaseName: name, count: 5 });
    const id = randomUUID();
    await old.query(
      `INSERT INTO dead_letters (id, source, origin, message_key, payload, headers, error, attempts, first_failed_at, last_failed_at)
       VALUES ($1, 'kafka', 'order-events', 'k', '{"caf\u00e9":"\\\\"}', '{"a":"b"}', 'e', 2, now(), now())`,
      [id],
    );
    expect(await migrate({ serverUrl, service: 'orchestrator', databaseName: name, count: 1 })).toEqual(['0006_dead-letter-payload-bytes']);
    const [migrated] = await createDeadLetterRepository(old).list(10);
    expect(migrated).toMatchObject({ id, headers: { a: 'b' }, attempts: 2 });
    expect(migrated!.payload.toString('utf8')).toBe('{"caf\u00e9":"\\\\"}');
    expect(migrated!.key?.toString()).toBe('k');

    const binary = randomUUID();
    await createDeadLetterRepository(old).record(letter({ id: binary, payload: Buffer.from([0x00, 0x01]) }));
    await migrate({ serverUrl, service: 'orchestrator', databaseName: name, direction: 'down', count: 1 });
    const { rows } = await old.query('SELECT id, payload FROM dead_letters ORDER BY id = $1', [binary]);
    expect(rows).toEqual([
      { id, payload: '{"caf\u00e9":"\\\\"}' },
      { id: binary, payload: 'base64:AAE=' },
    ]);
  } finally {
    await old.end();
    await dropDatabase(serverUrl, name);
  }
});

/** A bulk replay of at most one letter of `origin` (every letter replayable): what it published, and its answer. */
async function replayOne(origin: string) {
  const published: string[] = [];
  const result = await inTransaction(pool, (tx) =>
    repo.replayMatching(
      tx,
      { origin },
      1,
      () => true,
      async (ls) => void published.push(...ls.map((l) => l.id)),
    ),
  );
  return { published, result };
}
