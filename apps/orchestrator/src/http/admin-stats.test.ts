// The admin API's stats: throughput by minute and the dependencies' health.
import { uniqueName } from '@orderflow/testing';
import { startAdminApp, type AdminApp } from './admin-test-app';

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
    expect(res.body).toMatchObject({
      sagasInFlight: expect.any(Number),
      deadLetters: { total: expect.any(Number) },
      outbox: { unpublished: expect.any(Number) },
    });
  });
});
