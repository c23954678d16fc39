import type { Pool } from 'pg';
import { outboxBacklog } from '@orderflow/messaging';
import type { DependencyState } from '@orderflow/platform';

const MINUTE_MS = 60_000;
/** Minutes of `throughput` reported: the last hour. */
const THROUGHPUT_MINUTES = 60;

/**
 * Sagas ended per minute over the last hour, oldest first, every minute present (zero when none ended):
 * `completed` confirmed or cancelled, `failed` compensated after a step gave up.
 */
async function throughput(pool: Pool, now = Date.now()) {
  const { rows } = await pool.query(
    `SELECT date_trunc('minute', finished_at) AS minute, count(*) FILTER (WHERE state = 'COMPLETED')::int AS completed, count(*) FILTER (WHERE state = 'FAILED')::int AS failed
       FROM sagas WHERE finished_at >= date_trunc('minute', now()) - $1 * interval '1 minute' GROUP BY 1`,
    [THROUGHPUT_MINUTES - 1],
  );
  const byMinute = new Map(rows.map((r) => [(r.minute as Date).getTime(), r]));
  const current = Math.floor(now / MINUTE_MS) * MINUTE_MS;
  return Array.from({ length: THROUGHPUT_MINUTES }, (_, i) => {
    const minute = current - (THROUGHPUT_MINUTES - 1 - i) * MINUTE_MS;
    const row = byMinute.get(minute);
    return { minute: new Date(minute).toISOString(), completed: row?.completed ?? 0, failed: row?.failed ?? 0 };
  });
}

/** What `GET /v1/admin/stats` reports: the orchestrator's own database, and its health checks' last findings. */
export async function collectStats(pool: Pool, dependencies: () => DependencyState[] = () => []) {
  const [orders, sagas, deadLetters, outbox, ended] = await Promise.all([
    pool.query(`SELECT CASE WHEN outcome IS NOT NULL THEN outcome ELSE 'PENDING' END AS status, count(*)::int AS n FROM sagas GROUP BY 1`),
    pool.query(`SELECT count(*)::int AS in_flight FROM sagas WHERE finished_at IS NULL`),
    pool.query(`SELECT source, count(*)::int AS n FROM dead_letters WHERE replayed_at IS NULL AND discarded_at IS NULL GROUP BY source`),
    outboxBacklog(pool),
    throughput(pool),
  ]);
  const ordersByStatus: Record<string, number> = { PENDING: 0, CONFIRMED: 0, REJECTED: 0, CANCELLED: 0 };
  for (const r of orders.rows) ordersByStatus[r.status] = r.n;
  const dlq: Record<string, number> = { kafka: 0, rabbitmq: 0, saga: 0 };
  for (const r of deadLetters.rows) dlq[r.source] = r.n;
  return {
    ordersByStatus,
    sagasInFlight: sagas.rows[0].in_flight,
    deadLetters: { total: dlq.kafka! + dlq.rabbitmq! + dlq.saga!, bySource: dlq },
    outbox: { unpublished: outbox.count, oldestAgeSeconds: outbox.oldestAgeSeconds },
    throughput: ended,
    dependencies: dependencies().map((d) => ({ name: d.name, status: d.ok ? 'up' : 'down', since: d.since ?? null })),
  };
}
