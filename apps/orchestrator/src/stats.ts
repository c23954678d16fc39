import type { Pool } from 'pg';
import { outboxBacklog } from '@orderflow/messaging';

/** What `GET /v1/admin/stats` reports, from the orchestrator's own database. */
export async function collectStats(pool: Pool) {
  const [orders, sagas, deadLetters, outbox] = await Promise.all([
    pool.query(`SELECT CASE WHEN outcome IS NOT NULL THEN outcome ELSE 'PENDING' END AS status, count(*)::int AS n FROM sagas GROUP BY 1`),
    pool.query(`SELECT count(*)::int AS in_flight FROM sagas WHERE finished_at IS NULL`),
    pool.query(`SELECT source, count(*)::int AS n FROM dead_letters WHERE replayed_at IS NULL GROUP BY source`),
    outboxBacklog(pool),
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
  };
}
