import { createHash } from 'node:crypto';
import { DBOS } from '@dbos-inc/dbos-sdk';
import type { NotificationTask, OrderItem } from '@orderflow/domain';
import type { Mailer } from '../../../../apps/notification/src/mail/mailer';
import { renderEmail } from '../../../../apps/notification/src/templates';
import type { PgDataSource } from './pg-datasource';

/** The workflow's input, fixed by the POST: a retry of the same key finds the workflow with the first one's input. */
export interface PlaceOrder {
  orderId: string;
  customerId: string;
  email: string;
  items: OrderItem[];
  totalCents: number;
  /** ISO time of the POST. */
  placedAt: string;
}

export type Outcome = { status: 'CONFIRMED' } | { status: 'REJECTED'; reason: 'OUT_OF_STOCK' };

/**
 * The workflow id of a caller's Idempotency-Key. It starts with the caller id (idempotencyKeys counts by
 * caller prefix); a tab cannot occur in a key (printable ASCII), so the last one splits the two unambiguously.
 */
export const workflowIdOf = (callerId: string, key: string) => `${callerId}\t${key}`;

/** The order id a workflow creates: a name-based UUID (RFC 9562 v5) of the workflow id, so every retry names the same order. */
export function orderIdOf(workflowId: string): string {
  const bytes = createHash('sha1').update('orderflow-bench-dbos/order\0').update(workflowId).digest().subarray(0, 16);
  bytes[6] = (bytes[6]! & 0x0f) | 0x50;
  bytes[8] = (bytes[8]! & 0x3f) | 0x80;
  const hex = bytes.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/**
 * Registers the order workflow with DBOS (before launch) and returns the function to start. Each step is a
 * DBOS transaction on the application database: it commits with its checkpoint, so after a crash the
 * recovered workflow skips what committed and runs the rest, each step exactly once.
 */
export function registerOrderWorkflow(deps: { ds: PgDataSource; mailer: Mailer; from: string }) {
  const { ds, mailer } = deps;
  const sql = () => ds.client();

  async function recordOrder(order: PlaceOrder): Promise<void> {
    await sql().query(
      `WITH o AS (
         INSERT INTO orders (id, workflow_id, customer_id, status, total_cents, placed_at) VALUES ($1, $2, $3, 'PENDING', $4, $5)
       )
       INSERT INTO order_items (order_id, line, sku, quantity, unit_price_cents)
       SELECT $1, l.n - 1, l.sku, l.quantity, l.price FROM unnest($6::text[], $7::int[], $8::bigint[]) WITH ORDINALITY AS l(sku, quantity, price, n)`,
      [
        order.orderId,
        DBOS.workflowID,
        order.customerId,
        order.totalCents,
        order.placedAt,
        order.items.map((i) => i.sku),
        order.items.map((i) => i.quantity),
        order.items.map((i) => i.unitPriceCents),
      ],
    );
  }

  /**
   * The order's first step records it (PENDING) and reserves its stock, all lines or none, as orderflow's
   * inventory: the rows are locked in sku order (no deadlock between orders), then checked, then reserved.
   */
  async function recordAndReserve(order: PlaceOrder): Promise<string[]> {
    await recordOrder(order);
    const items = order.items;
    const wanted = new Map<string, number>();
    for (const { sku, quantity } of items) wanted.set(sku, (wanted.get(sku) ?? 0) + quantity);
    const skus = [...wanted.keys()].sort();
    const { rows } = await sql().query<{ sku: string; available: number }>(
      'SELECT sku, on_hand - reserved AS available FROM products WHERE sku = ANY($1) ORDER BY sku FOR UPDATE',
      [skus],
    );
    const available = new Map(rows.map((r) => [r.sku, r.available]));
    const shortages = skus.filter((sku) => (available.get(sku) ?? 0) < wanted.get(sku)!);
    if (shortages.length) return shortages;
    await sql().query(
      'UPDATE products p SET reserved = p.reserved + w.quantity, updated_at = now() FROM unnest($1::text[], $2::int[]) AS w(sku, quantity) WHERE p.sku = w.sku',
      [skus, skus.map((sku) => wanted.get(sku))],
    );
    return [];
  }

  async function finishOrder(orderId: string, outcome: Outcome): Promise<void> {
    await sql().query(`UPDATE orders SET status = $2, reason = $3, finished_at = now() WHERE id = $1 AND status = 'PENDING'`, [
      orderId,
      outcome.status,
      outcome.status === 'REJECTED' ? outcome.reason : null,
    ]);
  }

  /**
   * The e-mail file (temp file, fsync, rename: orderflow's file mailer) is on disk before its row commits
   * with the step's checkpoint. A crash in between runs the step again, which renames the same
   * `<orderId>.eml` over itself: the same e-mail again, never a second one.
   */
  async function sendEmail(order: PlaceOrder, outcome: Outcome): Promise<void> {
    const task: NotificationTask = {
      template: outcome.status === 'CONFIRMED' ? 'order-confirmed' : 'order-rejected',
      to: order.email,
      order: {
        id: order.orderId,
        customerId: order.customerId,
        status: outcome.status,
        items: order.items,
        totalCents: order.totalCents,
        ...(outcome.status === 'REJECTED' ? { reason: outcome.reason } : {}),
      },
    };
    await mailer.send({ messageId: order.orderId, to: order.email, from: deps.from, ...renderEmail(task) });
    await sql().query('INSERT INTO emails (order_id) VALUES ($1) ON CONFLICT (order_id) DO NOTHING', [order.orderId]);
  }

  async function placeOrder(order: PlaceOrder): Promise<Outcome['status']> {
    // Three steps, as the benchmark's brief has them: reserve (with the order's record), confirm or reject, e-mail.
    const shortages = await ds.transaction('reserveStock', () => recordAndReserve(order));
    const outcome: Outcome = shortages.length ? { status: 'REJECTED', reason: 'OUT_OF_STOCK' } : { status: 'CONFIRMED' };
    await ds.transaction('finishOrder', () => finishOrder(order.orderId, outcome));
    await ds.transaction('sendEmail', () => sendEmail(order, outcome));
    return outcome.status;
  }

  return DBOS.registerWorkflow(placeOrder, { name: 'placeOrder' });
}
