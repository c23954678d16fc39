import type { Pool } from 'pg';
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
  /** Inserts a PENDING order; returns false (and changes nothing) when the id already exists. */
  insert(order: NewOrder): Promise<boolean>;
  get(id: string): Promise<Order | undefined>;
  /** Newest first; `after` continues a previous page. */
  list(filter: { customerId?: string; limit: number; after?: { createdAt: string; id: string } }): Promise<OrderPage>;
  /** Moves the order to `to` only if it is currently in one of `from`; returns the order as it is afterwards. */
  transition(id: string, from: readonly OrderStatus[], to: OrderStatus, reason?: string): Promise<{ changed: boolean; order?: Order }>;
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
    // One statement (one round trip, one implicit transaction): the order and its lines, or nothing.
    async insert(order) {
      const { rows } = await pool.query(
        `WITH o AS (INSERT INTO orders (id, customer_id, status, total_cents) VALUES ($1, $2, 'PENDING', $3) ON CONFLICT (id) DO NOTHING RETURNING id),
              i AS (INSERT INTO order_items (order_id, line, sku, quantity, unit_price_cents)
                    SELECT o.id, t.line - 1, t.sku, t.quantity, t.price FROM o, unnest($4::text[], $5::int[], $6::bigint[]) WITH ORDINALITY AS t(sku, quantity, price, line))
         SELECT count(*)::int AS inserted FROM o`,
        [order.id, order.customerId, order.totalCents, order.items.map((i) => i.sku), order.items.map((i) => i.quantity), order.items.map((i) => i.unitPriceCents)],
      );
      return rows[0].inserted === 1;
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
  };
}
