import type { Pool } from 'pg';
import type { Logger } from 'pino';
import { isAppError } from '@orderflow/domain';
import type { OrderPort } from '../clients/downstream';
import { INITIAL_COMPENSATIONS, type SagaData } from '../saga/order-saga';
import type { SagaRepository } from '../saga/saga-repository';
import type { SagaRunner } from '../saga/saga-runner';
import { emailOf } from './orders';

export interface OrphanSweeperOptions {
  pool: Pool;
  orders: OrderPort;
  sagas: SagaRepository;
  runner: SagaRunner;
  /** How long after its request's claim lapsed a placement without a saga counts as abandoned. */
  orphanAfterSeconds: number;
  watchdogMs: number;
  logger: Logger;
}

/**
 * Closes orders left without a saga: a placement that created its order and then died (crash,
 * failover, pool timeout) before committing the saga, and whose client never retried. Its key stays
 * IN_FLIGHT with its lock lapsed; once that is `orphanAfterSeconds` old, the sweeper gives the order a
 * saga that starts compensating — stock released if any, the order rejected (PROCESSING_FAILED) —
 * and ends with the usual order.rejected fact and e-mail. A retry racing it is harmless: whichever
 * inserts the saga first wins (ON CONFLICT DO NOTHING), and the other carries on with that saga.
 */
export function createOrphanSweeper(options: OrphanSweeperOptions) {
  const { pool, orders, sagas, runner, logger } = options;
  let timer: NodeJS.Timeout | undefined;

  // Where the last sweep stopped: placements that died before creating their order stay candidates
  // until their key expires, and without going on from here more of them than one sweep looks at
  // would hide a real orphan behind them every time.
  let after = '00000000-0000-0000-0000-000000000000';

  async function candidates(limit: number): Promise<string[]> {
    const { rows } = await pool.query(
      `SELECT DISTINCT k.resource_id AS order_id FROM idempotency_keys k
        WHERE k.state = 'IN_FLIGHT' AND k.resource_id IS NOT NULL AND k.locked_until < now() - $1 * interval '1 second'
          AND k.resource_id > $3::uuid
          AND NOT EXISTS (SELECT 1 FROM sagas s WHERE s.order_id = k.resource_id)
        ORDER BY k.resource_id
        LIMIT $2`,
      [options.orphanAfterSeconds, limit, after],
    );
    const ids = rows.map((r) => r.order_id as string);
    // A short page reached the end: the next sweep starts from the beginning again.
    after = ids.length < limit ? '00000000-0000-0000-0000-000000000000' : ids.at(-1)!;
    return ids;
  }

  /** Closes the orphans found now; returns the order ids it gave a closing saga. */
  async function sweep(limit = 50): Promise<string[]> {
    const closed: string[] = [];
    for (const orderId of await candidates(limit)) {
      let order;
      try {
        order = await orders.getOrder(orderId);
      } catch (error) {
        if (isAppError(error) && error.code === 'NOT_FOUND') continue; // the request died before creating it
        throw error;
      }
      if (order.status !== 'PENDING') continue;
      // The token's e-mail claim died with the request; the customer's derived mailbox stands in.
      const data: SagaData = { items: order.items, totalCents: order.totalCents, email: emailOf({ id: order.customerId, role: 'customer' }) };
      const created = await sagas.create(
        {
          orderId,
          customerId: order.customerId,
          step: 'ABANDONED',
          state: 'COMPENSATING',
          compensations: INITIAL_COMPENSATIONS,
          data,
          watchdogMs: options.watchdogMs,
          log: { step: 'ABANDONED', outcome: 'CLOSING' },
        },
        [],
      );
      if (!created) continue;
      logger.warn({ orderId }, 'order left without a saga by a failed placement; closing it');
      closed.push(orderId);
      await runner.resume(orderId);
    }
    return closed;
  }

  return {
    sweep,
    start(intervalMs: number) {
      timer = setInterval(() => {
        sweep().catch((error: unknown) => logger.warn({ err: error }, 'orphan sweep failed'));
      }, intervalMs);
      timer.unref();
    },
    stop() {
      clearInterval(timer);
    },
  };
}
