// The admin API's dead letters: the filtered list, discard, and replay of one letter or of every match.
import { randomUUID } from 'node:crypto';
import { uniqueName } from '@orderflow/testing';
import { letter, startAdminApp, type AdminApp } from './admin-test-app';

// A bulk replay takes at most BULK_LIMIT letters here (MAX_BULK_REPLAY in production), so a few letters reach the cap.
const BULK_LIMIT = 3;
let admin: AdminApp;
beforeAll(async () => {
  admin = await startAdminApp('http_admin_dead_letters', { bulkReplayLimit: BULK_LIMIT });
});

/** Records the letters with creation times one minute apart, in the order given (a bulk replay takes the oldest first). */
async function recordInOrder(...letters: Parameters<AdminApp['record']>): Promise<string[]> {
  const ids = await admin.record(...letters);
  for (const [i, id] of ids.entries())
    await admin.pool.query(`UPDATE dead_letters SET created_at = '2026-11-02T00:00:00Z'::timestamptz + $2 * interval '1 minute' WHERE id = $1`, [id, i]);
  return ids;
}
const notJsonTask = (origin: string) => letter({ source: 'rabbitmq', origin, payload: Buffer.from([0xff, 0x00, 0x01]) });
afterAll(() => admin?.stop());

describe('dead letters', () => {
  it('narrows the list by source, topic, status and recording time, and pages through letters recorded in one millisecond', async () => {
    const topic = uniqueName('topic');
    const [kafka1, kafka2, kafka3] = await admin.record(letter({ origin: topic }), letter({ origin: topic }), letter({ origin: topic }));
    const [task] = await admin.record(letter({ source: 'rabbitmq', origin: topic }));
    const [elsewhere] = await admin.record(letter({ origin: uniqueName('other-topic') }));
    // Recorded at known times; the last three in one millisecond, as concurrent collectors may.
    await admin.pool.query(`UPDATE dead_letters SET created_at = '2026-11-01T10:00:00.000Z' WHERE id = $1`, [kafka1]);
    await admin.pool.query(`UPDATE dead_letters SET created_at = '2026-11-01T11:00:00.123456Z' WHERE id = ANY($1::uuid[])`, [[kafka2, kafka3, task]]);
    expect((await admin.write(`/v1/admin/dead-letters/${kafka3}/discard`, { reason: 'test data' })).status).toBe(200);

    expect(await admin.letterIds(`topic=${topic}&source=rabbitmq`)).toEqual([task]);
    expect((await admin.letterIds(`topic=${topic}&source=kafka`)).sort()).toEqual([kafka1, kafka2, kafka3].sort());
    expect((await admin.letterIds(`topic=${topic}&status=pending`)).sort()).toEqual([kafka1, kafka2, task].sort());
    expect(await admin.letterIds(`topic=${topic}&status=discarded`)).toEqual([kafka3]);
    expect(await admin.letterIds(`topic=${topic}&status=replayed`)).toEqual([]);
    expect(await admin.letterIds(`topic=${topic}&to=2026-11-01T10:30:00Z`)).toEqual([kafka1]);
    expect((await admin.letterIds(`topic=${topic}&from=2026-11-01T10:30:00Z`)).sort()).toEqual([kafka2, kafka3, task].sort());
    expect(await admin.letterIds(`topic=${topic}`)).not.toContain(elsewhere);

    const { ids } = await admin.allPages(`/v1/admin/dead-letters?topic=${topic}`, 1);
    expect(ids).toEqual([...[kafka2, kafka3, task].sort().reverse(), kafka1]);
  });

  it('discards a pending letter once: a second discard answers alreadyDiscarded, and a discarded letter is not replayed (409)', async () => {
    const topic = uniqueName('discard');
    const [id] = await admin.record(letter({ origin: topic }));
    const key = randomUUID();

    const first = await admin.write(`/v1/admin/dead-letters/${id}/discard`, { reason: 'poison message, fixed upstream' }, key);
    expect([first.status, first.body]).toEqual([200, { id, discarded: true, alreadyDiscarded: false }]);
    const second = await admin.write(`/v1/admin/dead-letters/${id}/discard`, { reason: 'again' });
    expect([second.status, second.body]).toEqual([200, { id, discarded: true, alreadyDiscarded: true }]);
    const replay = await admin.write(`/v1/admin/dead-letters/${id}/replay`);
    expect([replay.status, replay.body.type]).toEqual([409, '/problems/conflict']);

    const [shown] = (await admin.get(`/v1/admin/dead-letters?status=discarded&topic=${topic}`)).body.items;
    expect(shown).toMatchObject({ id, status: 'discarded', discardReason: 'poison message, fixed upstream' });
    expect(await admin.auditOf(key)).toEqual([
      expect.objectContaining({
        action: 'dead-letter.discard',
        target: id,
        outcome: 'succeeded',
        status: 200,
        request: { reason: 'poison message, fixed upstream' },
      }),
    ]);
    const unknown = await admin.write(`/v1/admin/dead-letters/${randomUUID()}/discard`, { reason: 'x' });
    expect(unknown.status).toBe(404);
  });

  it('replays one letter once however often asked: one publish, to its topic, with its key and bytes', async () => {
    const topic = uniqueName('replay-one');
    const original = letter({ origin: topic });
    const [id] = await admin.record(original);

    const first = await admin.write(`/v1/admin/dead-letters/${id}/replay`);
    const second = await admin.write(`/v1/admin/dead-letters/${id}/replay`);
    expect([first.status, first.body]).toEqual([202, { id, replayed: true, alreadyReplayed: false }]);
    expect([second.status, second.body]).toEqual([202, { id, replayed: false, alreadyReplayed: true }]);
    expect(admin.kafkaSent.filter((m) => m.topic === topic)).toEqual([{ topic, key: original.key!.toString(), value: original.payload.toString() }]);
    expect(await admin.letterIds(`topic=${topic}&status=replayed`)).toEqual([id]);
  });

  it('replays every pending letter matching a filter once, skips saga letters, and replays none on a second call', async () => {
    const topic = uniqueName('replay-many');
    const [k1, k2] = await admin.record(letter({ origin: topic }), letter({ origin: topic }));
    const task = letter({ source: 'rabbitmq', origin: topic, payload: Buffer.from(JSON.stringify({ template: 'order-confirmed' })) });
    const [t1, s1, discarded] = await admin.record(task, letter({ source: 'saga', origin: topic }), letter({ origin: topic }));
    await admin.record(letter({ origin: uniqueName('not-matched') }));
    expect((await admin.write(`/v1/admin/dead-letters/${discarded}/discard`, { reason: 'not wanted' })).status).toBe(200);
    const key = randomUUID();

    const first = await admin.write('/v1/admin/dead-letters/replay', { topic }, key);
    expect([first.status, first.body]).toEqual([202, { matched: 4, replayed: 3, skipped: 1, more: false }]);
    const second = await admin.write('/v1/admin/dead-letters/replay', { topic });
    expect([second.status, second.body]).toEqual([202, { matched: 1, replayed: 0, skipped: 1, more: false }]);

    expect(admin.kafkaSent.filter((m) => m.topic === topic)).toHaveLength(2);
    expect(admin.rabbitSent.filter((m) => m.payload === task.payload.toString())).toEqual([
      { topic, key: task.key!.toString(), payload: task.payload.toString() }, // back to the queue it came from (its origin)
    ]);
    expect((await admin.letterIds(`topic=${topic}&status=replayed`)).sort()).toEqual([k1, k2, t1].sort());
    expect(await admin.letterIds(`topic=${topic}&status=pending`)).toEqual([s1]);
    expect(await admin.auditOf(key)).toEqual([
      expect.objectContaining({
        action: 'dead-letter.replay-matching',
        target: null,
        outcome: 'succeeded',
        status: 202,
        detail: '3 replayed, 1 not replayable, of 4 matching',
        request: { topic },
      }),
    ]);
  });
  it('replays the letters queued behind more unreplayable tasks than a bulk replay takes, and leaves those tasks pending', async () => {
    const topic = uniqueName('replay-clogged');
    const tasks = Array.from({ length: BULK_LIMIT + 1 }, () => notJsonTask(topic));
    const ids = await recordInOrder(...tasks, letter({ origin: topic }), letter({ origin: topic }));
    const [replayable, blocked] = [ids.slice(-2), ids.slice(0, -2)];

    const first = await admin.write('/v1/admin/dead-letters/replay', { topic });
    expect([first.status, first.body]).toEqual([202, { matched: BULK_LIMIT + 3, replayed: 2, skipped: BULK_LIMIT + 1, more: false }]);
    expect(admin.kafkaSent.filter((m) => m.topic === topic)).toHaveLength(2);
    expect((await admin.letterIds(`topic=${topic}&status=replayed`)).sort()).toEqual(replayable.sort());
    expect((await admin.letterIds(`topic=${topic}&status=pending`)).sort()).toEqual(blocked.sort());
    expect(admin.rabbitSent.filter((m) => m.topic === topic)).toEqual([]);
  });

  it('says when the limit left replayable letters pending (more: true), and the next call replays them', async () => {
    const topic = uniqueName('replay-more');
    // BULK_LIMIT letters, two it cannot replay, then one more letter: the first call stops at the limit.
    const head = Array.from({ length: BULK_LIMIT }, () => letter({ origin: topic }));
    const ids = await recordInOrder(...head, notJsonTask(topic), notJsonTask(topic), letter({ origin: topic }));
    const key = randomUUID();

    const first = await admin.write('/v1/admin/dead-letters/replay', { topic }, key);
    expect([first.status, first.body.replayed, first.body.more]).toEqual([202, BULK_LIMIT, true]);
    expect((await admin.letterIds(`topic=${topic}&status=replayed`)).sort()).toEqual(ids.slice(0, BULK_LIMIT).sort());
    expect(await admin.auditOf(key)).toEqual([expect.objectContaining({ detail: '3 replayed, 2 not replayable, of 5 matching; more remain' })]);

    const second = await admin.write('/v1/admin/dead-letters/replay', { topic });
    expect([second.status, second.body]).toEqual([202, { matched: 3, replayed: 1, skipped: 2, more: false }]);
    expect(await admin.letterIds(`topic=${topic}&status=replayed`)).toContain(ids.at(-1));
    expect(admin.kafkaSent.filter((m) => m.topic === topic)).toHaveLength(BULK_LIMIT + 1);
  });

  it('marks a letter replayable only when its replay can succeed: not a saga letter, not a task that is not JSON', async () => {
    const topic = uniqueName('replayable');
    const task = (payload: Buffer) => letter({ source: 'rabbitmq', origin: topic, payload });
    const [fact, jsonTask, binaryTask, saga] = await admin.record(
      letter({ origin: topic }),
      task(Buffer.from(JSON.stringify({ template: 'order-confirmed' }))),
      task(Buffer.from([0xff, 0x00, 0x01])),
      letter({ source: 'saga', origin: topic }),
    );
    const shown = new Map<string, boolean>(
      (await admin.get(`/v1/admin/dead-letters?topic=${topic}`)).body.items.map((l: { id: string; replayable: boolean }) => [l.id, l.replayable]),
    );
    expect(Object.fromEntries([fact, jsonTask, binaryTask, saga].map((id) => [id, shown.get(id!)]))).toEqual({
      [fact!]: true,
      [jsonTask!]: true,
      [binaryTask!]: false,
      [saga!]: false,
    });
    // What the flag says is what the replay does.
    for (const id of [binaryTask, saga]) expect((await admin.write(`/v1/admin/dead-letters/${id}/replay`)).status).toBe(409);
  });
});
