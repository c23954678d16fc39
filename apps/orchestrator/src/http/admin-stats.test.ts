// The admin API's stats: orders by status, sagas in flight, dead letters, the outbox backlog, throughput
// by minute and the dependencies' health.
import { randomUUID } from 'node:crypto';
import { uniqueName } from '@orderflow/testing';
import { letter, startAdminApp, type AdminApp } from './admin-test-app';

let admin: AdminApp;
beforeAll(async () => {
  admin = await startAdminApp('http_admin_stats');
});
afterAll(() => admin?.stop());

describe('stats', () => {
  it('counts the sagas that just completed in the current minute of a 60-minute throughput, and reports dependencies', async () => {
    const customer = uniqueName('stats');
    const ids = [await admin.place(customer), await admin.place(customer)];
    const ended = await Promise.all(ids.map((id) => admin.sagaWhen(id, (s) => s.state === 'COMPLETED')));

    const asked = Date.now();
    const res = await admin.get('/v1/admin/stats');
    const answered = Date.now();
    expect(res.status).toBe(200);
    const { throughput } = res.body as { throughput: { minute: string; completed: number; failed: number }[] };
    expect(throughput).toHaveLength(60);
    const minutes = throughput.map((t) => Date.parse(t.minute));
    expect(minutes.slice(1).every((m, i) => m - minutes[i]! === 60_000)).toBe(true);
    expect([asked, answered].map((t) => Math.floor(t / 60_000) * 60_000)).toContain(minutes.at(-1));
    for (const minute of new Set(ended.map((s) => Math.floor(Date.parse(s.finishedAt) / 60_000) * 60_000))) {
      const { rows } = await admin.pool.query(
        `SELECT count(*) FILTER (WHERE state = 'COMPLETED')::int AS completed, count(*) FILTER (WHERE state = 'FAILED')::int AS failed
           FROM sagas WHERE finished_at >= $1 AND finished_at < $1::timestamptz + interval '1 minute'`,
        [new Date(minute).toISOString()],
      );
      const reported = throughput.find((t) => Date.parse(t.minute) === minute);
      expect(reported).toEqual({ minute: new Date(minute).toISOString(), ...rows[0] });
      expect(reported!.completed).toBeGreaterThanOrEqual(ended.filter((s) => Math.floor(Date.parse(s.finishedAt) / 60_000) * 60_000 === minute).length);
    }
    expect(res.body.dependencies).toEqual([
      { name: 'postgres', status: 'up', since: '2026-11-29T09:00:00.000Z' },
      { name: 'kafka', status: 'down', since: '2026-11-29T09:59:00.000Z' },
    ]);
  });

  it('reports exactly the orders by status, sagas in flight, pending dead letters, unpublished outbox rows and how long the oldest has waited', async () => {
    // Counted against what the database held before: this file's other test leaves its own rows behind.
    const before = (await admin.get('/v1/admin/stats')).body;
    const customer = uniqueName('stats-seeded');
    // Sagas written by hand, so none runs: four ended two hours ago (outside the throughput), three in flight.
    const sagas: [state: string, outcome: string | null, waiting: boolean][] = [
      ['COMPLETED', 'CONFIRMED', false],
      ['COMPLETED', 'CONFIRMED', false],
      ['FAILED', 'REJECTED', false],
      ['COMPLETED', 'CANCELLED', false],
      ['RUNNING', null, false],
      ['RUNNING', null, true],
      ['COMPENSATING', null, false],
    ];
    for (const [state, outcome, waiting] of sagas)
      await admin.pool.query(
        `INSERT INTO sagas (order_id, customer_id, state, step, data, outcome, waiting, finished_at)
         VALUES ($1, $2, $3, 'RESERVE_STOCK', '{}', $4, $5, CASE WHEN $4::text IS NULL THEN NULL ELSE now() - interval '2 hours' END)`,
        [randomUUID(), customer, state, outcome, waiting],
      );
    // Pending: two Kafka letters, a task, a saga's; one replayed and one discarded are not counted.
    const [replayed, discarded] = await admin.record(letter(), letter(), letter(), letter(), letter({ source: 'rabbitmq' }), letter({ source: 'saga' }));
    await admin.pool.query('UPDATE dead_letters SET replayed_at = now() WHERE id = $1', [replayed]);
    await admin.pool.query(`UPDATE dead_letters SET discarded_at = now(), discard_reason = 'test' WHERE id = $1`, [discarded]);
    // Three rows waiting, the oldest written an hour ago (before anything else in this database); one published.
    const seeded = Date.now();
    await admin.pool.query(
      `INSERT INTO outbox (destination, topic, message_key, message_id, payload, created_at)
       SELECT 'kafka', 'order-events', $1, gen_random_uuid(), '{}', now() - age
         FROM (VALUES (interval '1 hour'), (interval '1 minute'), (interval '0'), (interval '2 hours')) AS r(age)`,
      [customer],
    );
    // The two-hour-old one was published: no longer pending.
    await admin.pool.query(
      `DELETE FROM outbox_pending p USING outbox o WHERE p.id = o.id AND o.message_key = $1 AND o.created_at < now() - interval '90 minutes'`,
      [customer],
    );

    const res = await admin.get('/v1/admin/stats');
    const answered = Date.now();
    expect(res.status).toBe(200);
    const was = before.ordersByStatus;
    expect(res.body.ordersByStatus).toEqual({
      PENDING: was.PENDING + 3,
      CONFIRMED: was.CONFIRMED + 2,
      REJECTED: was.REJECTED + 1,
      CANCELLED: was.CANCELLED + 1,
    });
    expect(res.body.sagasInFlight).toBe(before.sagasInFlight + 3);
    const letters = before.deadLetters;
    expect(res.body.deadLetters).toEqual({
      total: letters.total + 4,
      bySource: { kafka: letters.bySource.kafka + 2, rabbitmq: letters.bySource.rabbitmq + 1, saga: letters.bySource.saga + 1 },
    });
    expect(res.body.outbox.unpublished).toBe(before.outbox.unpublished + 3);
    // An hour, plus at most the time between writing the row and the answer.
    expect(res.body.outbox.oldestAgeSeconds).toBeGreaterThanOrEqual(3_600);
    expect(res.body.outbox.oldestAgeSeconds).toBeLessThanOrEqual(3_600 + (answered - seeded) / 1_000);
  });
});
