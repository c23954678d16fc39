import type { Pool } from 'pg';
import { prepared } from '@orderflow/db';
import type { Order, OrderItem, OrderStatus } from '@orderflow/domain';

export interface NewOrder {
  id: string;
  customerId: string;
  items: OrderItem[];
  totalCents: number;
}

export interface OrderPage {
  orders: Order[];
  next?: { createdAt: string; id: string };
}

/** Orders in the order service database. Writes are single statements or one short transaction. */
export interface OrderRepository {
  /**
   * Inserts, as PENDING and with their lines, those of `orders` whose id does not exist yet, in one
   * statement; returns the stored order of every requested id, new or not. An order inserted by a
   * transaction still uncommitted when the statement began is not returned (the caller reads it).
   */
  insertAll(orders: NewOrder[]): Promise<Order[]>;
  get(id: string): Promise<Order | undefined>;
  /** Newest first; `after` continues a previous page. */
  list(filter: { customerId?: string; limit: number; after?: { createdAt: string; id: string } }): Promise<OrderPage>;
  /** Moves the order to `to` only if it is currently in one of `from`; returns the order as it is afterwards. */
  transition(id: string, from: readonly OrderStatus[], to: OrderStatus, reason?: string): Promise<{ changed: boolean; order?: Order }>;
  /**
   * transition for many orders in one statement: every one of `ids` in one of `from` moves to `to`;
   * returns every existing one of them as it is afterwards, `changed` when this statement moved it.
   */
  transitionAll(ids: string[], from: readonly OrderStatus[], to: OrderStatus): Promise<{ changed: boolean; order: Order }[]>;
}

const ORDER_COLUMNS = `o.id, o.customer_id, o.status, o.reason, o.total_cents, o.created_at, o.updated_at,
  COALESCE((SELECT json_agg(json_build_object('sku', i.sku, 'quantity', i.quantity, 'unitPriceCents', i.unit_price_cents) ORDER BY i.line)
              FROM order_items i WHERE i.order_id = o.id), '[]') AS items`;

interface OrderRow {
  id: string;
  customer_id: string;
  status: OrderStatus;
  reason: string | null;
  total_cents: number;
  created_at: Date;
  updated_at: Date;
  items: OrderItem[];
}

function toOrder(row: OrderRow): Order {
  return {
    id: row.id,
    customerId: row.customer_id,
    status: row.status,
    items: row.items,
    totalCents: row.total_cents,
    ...(row.reason ? { reason: row.reason } : {}),
    createdAt: row.created_at.toISOString(),
    updatedAt: row.updated_at.toISOString(),
  };
}

export function createOrderRepository(pool: Pool): OrderRepository {
  async function get(id: string): Promise<Order | undefined> {
    const { rows } = await pool.query<OrderRow>(`SELECT ${ORDER_COLUMNS} FROM orders o WHERE o.id = $1`, [id]);
    return rows[0] && toOrder(rows[0]);
  }

  return {
    get,
    // One statement (one round trip, one implicit transaction): the new orders and their lines, and the
    // stored rows answered without a read-back. All parts of a statement share one snapshot, so the
    // SELECT of existing orders cannot see the rows inserted here: those come from RETURNING instead.
    async insertAll(orders) {
      if (!orders.length) return [];
      const lines = orders.flatMap((o) => o.items.map((item, line) => ({ orderId: o.id, line, ...item })));
      const { rows } = await pool.query<OrderRow>(
        prepared(
          `WITH new AS (INSERT INTO orders (id, customer_id, status, total_cents)
                        SELECT t.id, t.customer_id, 'PENDING', t.total_cents FROM unnest($1::uuid[], $2::text[], $3::bigint[]) AS t(id, customer_id, total_cents)
                        ON CONFLICT (id) DO NOTHING
                        RETURNING id, customer_id, status, reason, total_cents, created_at, updated_at),
                lines AS (INSERT INTO order_items (order_id, line, sku, quantity, unit_price_cents)
                          SELECT t.* FROM unnest($4::uuid[], $5::int[], $6::text[], $7::int[], $8::bigint[]) AS t(order_id, line, sku, quantity, price)
                           WHERE t.order_id IN (SELECT id FROM new)
                          RETURNING order_id, line, sku, quantity, unit_price_cents)
           SELECT n.*, COALESCE(l.items, '[]') AS items
             FROM new n
             LEFT JOIN (SELECT order_id, json_agg(json_build_object('sku', sku, 'quantity', quantity, 'unitPriceCents', unit_price_cents) ORDER BY line) AS items
                          FROM lines GROUP BY order_id) l ON l.order_id = n.id
           UNION ALL
           SELECT ${ORDER_COLUMNS} FROM orders o WHERE o.id = ANY($1::uuid[])`,
          [
            orders.map((o) => o.id),
            orders.map((o) => o.customerId),
            orders.map((o) => o.totalCents),
            lines.map((l) => l.orderId),
            lines.map((l) => l.line),
            lines.map((l) => l.sku),
            lines.map((l) => l.quantity),
            lines.map((l) => l.unitPriceCents),
          ],
        ),
      );
      return rows.map(toOrder);
    },
    async list({ customerId, limit, after }) {
      const params: unknown[] = [limit + 1];
      const where: string[] = [];
      if (customerId) where.push(`o.customer_id = $${params.push(customerId)}`);
      if (after) where.push(`(o.created_at, o.id) < ($${params.push(after.createdAt)}::timestamptz, $${params.push(after.id)}::uuid)`);
      const { rows } = await pool.query<OrderRow>(
        `SELECT ${ORDER_COLUMNS} FROM orders o ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
          ORDER BY o.created_at DESC, o.id DESC LIMIT $1`,
        params,
      );
      const orders = rows.slice(0, limit).map(toOrder);
      const last = rows.length > limit ? rows[limit - 1] : undefined;
      return { orders, ...(last ? { next: { createdAt: last.created_at.toISOString(), id: last.id } } : {}) };
    },
    async transition(id, from, to, reason) {
      const { rows } = await pool.query<OrderRow>(
        `UPDATE orders o SET status = $2, reason = COALESCE($4, reason), updated_at = now() WHERE id = $1 AND status = ANY($3::text[]) RETURNING ${ORDER_COLUMNS}`,
        [id, to, from, reason ?? null],
      );
      // Not changed (a repeat, or a forbidden move): the caller decides from the order as it is.
      return rows[0] ? { changed: true, order: toOrder(rows[0]) } : { changed: false, order: await get(id) };
    },
    // The unchanged ones are read in the same statement, from its snapshot: as they were when it began.
    async transitionAll(ids, from, to) {
      if (!ids.length) return [];
      const { rows } = await pool.query<OrderRow & { changed: boolean }>(
        prepared(
          `WITH moved AS (UPDATE orders o SET status = $2, updated_at = now() WHERE o.id = ANY($1::uuid[]) AND o.status = ANY($3::text[]) RETURNING ${ORDER_COLUMNS})
           SELECT true AS changed, moved.* FROM moved
           UNION ALL
           SELECT false AS changed, ${ORDER_COLUMNS} FROM orders o WHERE o.id = ANY($1::uuid[]) AND o.id NOT IN (SELECT id FROM moved)`,
          [ids, to, from],
        ),
      );
      return rows.map((row) => ({ changed: row.changed, order: toOrder(row) }));
    },
  };
}
