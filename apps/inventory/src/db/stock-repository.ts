import type { Pool, PoolClient } from 'pg';
import { prepared } from '@orderflow/db';
import { notifyingOutboxWriter, type OutboxMessage, type OutboxWriter } from '@orderflow/messaging';

export interface Product {
  sku: string;
  name: string;
  priceCents: number;
  onHand: number;
  available: number;
}

export interface Shortage {
  sku: string;
  requested: number;
  available: number;
}

export type ReservationOutcome = { reserved: true } | { reserved: false; shortages: Shortage[] };

/** One order of a batch: its merged lines (one per sku), and its fact if it reserves. */
export interface BatchReservation {
  orderId: string;
  items: { sku: string; quantity: number }[];
  facts: () => OutboxMessage[];
}

type Tx = Pick<PoolClient, 'query'>;

/** What a stored reservation answers to a repeated request, as a reservation: see reserveStock in stock.ts. */
export function storedOutcome(stored: { status: string; shortages: Shortage[] | null }): ReservationOutcome {
  if (stored.status === 'REJECTED') return { reserved: false, shortages: stored.shortages ?? [] };
  // RESERVED, or RELEASED since (or released before it could happen): either way no stock moves now.
  return { reserved: true };
}

/** The lines `available` stock cannot cover (an unknown sku has none): a reservation is all or nothing. */
function shortagesOf(items: { sku: string; quantity: number }[], available: Map<string, number>): Shortage[] {
  return items
    .filter((i) => (available.get(i.sku) ?? 0) < i.quantity)
    .map((i) => ({ sku: i.sku, requested: i.quantity, available: available.get(i.sku) ?? 0 }));
}

const PRODUCT_COLUMNS = 'sku, name, price_cents, on_hand, on_hand - reserved AS available';
const toProduct = (r: { sku: string; name: string; price_cents: number; on_hand: number; available: number }): Product => ({
  sku: r.sku,
  name: r.name,
  priceCents: r.price_cents,
  onHand: r.on_hand,
  available: r.available,
});

// The reserve and the release of one order each take this lock first, in a statement of its own, so
// they run one after the other and each later statement (READ COMMITTED: a snapshot per statement)
// sees what the other committed. Without it a release could miss a reservation inserted but not yet
// committed and leave it RESERVED for good, and a repeated reserve holding product locks could
// deadlock with a release. Two int4 keys: a space apart from the outbox relay's one-key locks.
const ORDER_LOCK_SPACE = 0x570c;
const lockOrder = (tx: Tx, orderId: string) => tx.query(`SELECT pg_advisory_xact_lock(${ORDER_LOCK_SPACE}, hashtext($1))`, [orderId]);

/** Runs `work` in one transaction; facts it returns go to the outbox in that same transaction. */
function withFacts<T>(pool: Pool, outbox: OutboxWriter, work: (tx: Tx) => Promise<{ result: T; facts: OutboxMessage[] }>): Promise<T> {
  return outbox.transaction(pool, async (tx, messages) => {
    const { result, facts } = await work(tx);
    await messages.enqueue(facts);
    return result;
  });
}

/** Products, stock and reservations. Every stock movement commits together with its fact. */
export function createStockRepository(pool: Pool, outbox: OutboxWriter = notifyingOutboxWriter) {
  return {
    async getProducts(skus: string[]): Promise<Product[]> {
      const { rows } = skus.length
        ? await pool.query(`SELECT ${PRODUCT_COLUMNS} FROM products WHERE sku = ANY($1::text[]) ORDER BY sku`, [skus])
        : await pool.query(`SELECT ${PRODUCT_COLUMNS} FROM products ORDER BY sku`);
      return rows.map(toProduct);
    },

    /** Creates or updates a product, setting on-hand stock; `facts` builds the stock.adjusted fact. */
    upsertProduct: (p: { sku: string; name: string; priceCents: number; stock: number }, facts: (product: Product, created: boolean) => OutboxMessage[]) =>
      withFacts(pool, outbox, async (tx) => {
        const { rows } = await tx.query(
          `INSERT INTO products (sku, name, price_cents, on_hand) VALUES ($1, $2, $3, $4)
           ON CONFLICT (sku) DO UPDATE SET name = EXCLUDED.name, price_cents = EXCLUDED.price_cents, on_hand = EXCLUDED.on_hand, updated_at = now()
           RETURNING ${PRODUCT_COLUMNS}, (xmax = 0) AS created`,
          [p.sku, p.name, p.priceCents, p.stock],
        );
        const product = toProduct(rows[0]);
        return { result: { product, created: rows[0].created as boolean }, facts: facts(product, rows[0].created) };
      }),

    /** The stored outcome of an earlier ReserveStock for this order, if any. */
    async findReservation(orderId: string): Promise<{ status: string; shortages: Shortage[] | null } | undefined> {
      const { rows } = await pool.query('SELECT status, shortages FROM reservations WHERE order_id = $1', [orderId]);
      return rows[0];
    },

    /**
     * All-or-nothing: locks the products in sku order (so concurrent reservations cannot deadlock),
     * checks every line, then moves stock to reserved, or records the shortages and moves nothing.
     * A duplicate for the same order, or one arriving after a release, loses on the reservations primary key.
     */
    async reserve(orderId: string, items: { sku: string; quantity: number }[], facts: () => OutboxMessage[]): Promise<ReservationOutcome | 'duplicate'> {
      const outcome = await outbox.transaction(pool, async (client, out) => {
        await lockOrder(client, orderId);
        const skus = items.map((i) => i.sku);
        const quantities = items.map((i) => i.quantity);
        const { rows } = await client.query(`SELECT sku, on_hand - reserved AS available FROM products WHERE sku = ANY($1::text[]) ORDER BY sku FOR UPDATE`, [
          skus,
        ]);
        const available = new Map<string, number>(rows.map((r) => [r.sku, r.available]));
        const shortages = shortagesOf(items, available);
        const messages = shortages.length ? [] : facts();
        // The rest in one statement: the claim, and only if it is new and covered, the stock, the lines and the fact.
        const params: unknown[] = [orderId, shortages.length ? 'REJECTED' : 'RESERVED', shortages.length ? JSON.stringify(shortages) : null, skus, quantities];
        const ctes = [
          `r AS (INSERT INTO reservations (order_id, status, shortages) VALUES ($1, $2, $3) ON CONFLICT (order_id) DO NOTHING RETURNING order_id, status)`,
          `ok AS (SELECT order_id FROM r WHERE status = 'RESERVED')`,
          `p AS (UPDATE products p SET reserved = p.reserved + t.quantity, updated_at = now()
                   FROM ok, unnest($4::text[], $5::int[]) AS t(sku, quantity) WHERE p.sku = t.sku)`,
          `i AS (INSERT INTO reservation_items (order_id, sku, quantity) SELECT ok.order_id, t.* FROM ok, unnest($4::text[], $5::int[]) AS t)`,
        ];
        const claim = await out.statement(
          messages,
          params,
          'ok',
          ({ insert, select }) =>
            `WITH ${[...ctes, ...(insert ? [`o AS (${insert})`] : [])].join(',\n')} SELECT (SELECT count(*) FROM r)::int AS claimed${select}`,
        );
        return { claimed: claim.rows[0]!.claimed === 1, shortages };
      });
      if (!outcome.claimed) return 'duplicate';
      if (outcome.shortages.length) return { reserved: false, shortages: outcome.shortages };
      return { reserved: true };
    },

    /**
     * ReserveStock for many orders in one transaction, decided in request order against the stock
     * still available after the ones before. Takes the same per-order locks as reserve and release
     * (all of them, sorted by key, so two batches cannot deadlock on them), then the products in sku
     * order as reserve does. An order that already has a reservation (or appeared earlier in the
     * batch) answers from it and moves nothing. `facts` of an order is called only if it reserves.
     */
    async reserveBatch(requests: BatchReservation[]): Promise<ReservationOutcome[]> {
      if (!requests.length) return [];
      return outbox.transaction(pool, async (client, out) => {
        const orderIds = requests.map((r) => r.orderId);
        await client.query(
          prepared(
            `SELECT pg_advisory_xact_lock(${ORDER_LOCK_SPACE}, k.key)
               FROM (SELECT DISTINCT hashtext(id) AS key FROM unnest($1::text[]) AS id ORDER BY key) AS k`,
            [orderIds],
          ),
        );
        // A statement of its own after the locks, so it sees every reservation of these orders committed before.
        const skus = [...new Set(requests.flatMap((r) => r.items.map((i) => i.sku)))].sort();
        const { rows } = await client.query(
          prepared(
            `WITH locked AS MATERIALIZED (SELECT sku, on_hand - reserved AS available FROM products WHERE sku = ANY($1::text[]) ORDER BY sku FOR UPDATE)
             SELECT (SELECT coalesce(json_agg(json_build_object('sku', sku, 'available', available)), '[]') FROM locked) AS products,
                    (SELECT coalesce(json_agg(json_build_object('orderId', order_id, 'status', status, 'shortages', shortages)), '[]')
                       FROM reservations WHERE order_id = ANY($2::uuid[])) AS stored`,
            [skus, orderIds],
          ),
        );
        const available = new Map<string, number>((rows[0].products as { sku: string; available: number }[]).map((p) => [p.sku, p.available]));
        // Keyed by the lower-case id: Postgres prints uuids in lower case, a caller may not.
        const decided = new Map<string, ReservationOutcome>(
          (rows[0].stored as { orderId: string; status: string; shortages: Shortage[] | null }[]).map((r) => [r.orderId, storedOutcome(r)]),
        );

        const claims: { orderId: string; status: 'RESERVED' | 'REJECTED'; shortages: string | null }[] = [];
        const lines: { orderId: string; sku: string; quantity: number }[] = [];
        const reservedBySku = new Map<string, number>();
        const messages: OutboxMessage[] = [];
        const outcomes = requests.map(({ orderId, items, facts }) => {
          const key = orderId.toLowerCase();
          const earlier = decided.get(key);
          if (earlier) return earlier;
          const shortages = shortagesOf(items, available);
          const outcome: ReservationOutcome = shortages.length ? { reserved: false, shortages } : { reserved: true };
          decided.set(key, outcome);
          claims.push({ orderId, status: shortages.length ? 'REJECTED' : 'RESERVED', shortages: shortages.length ? JSON.stringify(shortages) : null });
          if (!shortages.length) {
            for (const { sku, quantity } of items) {
              available.set(sku, available.get(sku)! - quantity);
              reservedBySku.set(sku, (reservedBySku.get(sku) ?? 0) + quantity);
              lines.push({ orderId, sku, quantity });
            }
            messages.push(...facts());
          }
          return outcome;
        });
        if (!claims.length) return outcomes;

        // Everything new in one statement. No ON CONFLICT: the order locks make a conflict impossible,
        // and if one happened anyway the error rolls the whole batch back rather than move stock unclaimed.
        const params: unknown[] = [
          claims.map((c) => c.orderId),
          claims.map((c) => c.status),
          claims.map((c) => c.shortages),
          [...reservedBySku.keys()],
          [...reservedBySku.values()],
          lines.map((l) => l.orderId),
          lines.map((l) => l.sku),
          lines.map((l) => l.quantity),
        ];
        const ctes = [
          `r AS (INSERT INTO reservations (order_id, status, shortages) SELECT * FROM unnest($1::uuid[], $2::text[], $3::jsonb[]))`,
          `p AS (UPDATE products p SET reserved = p.reserved + t.quantity, updated_at = now() FROM unnest($4::text[], $5::int[]) AS t(sku, quantity) WHERE p.sku = t.sku)`,
          `i AS (INSERT INTO reservation_items (order_id, sku, quantity) SELECT * FROM unnest($6::uuid[], $7::text[], $8::int[]))`,
        ];
        await out.statement(messages, params, undefined, ({ insert, select }) =>
          prepared(`WITH ${[...ctes, ...(insert ? [`o AS (${insert})`] : [])].join(',\n')} SELECT 1${select}`, params),
        );
        return outcomes;
      });
    },

    /** Returns a reservation's stock once; false when it was never reserved or is already released. */
    release: (orderId: string, facts: (items: { sku: string; quantity: number }[]) => OutboxMessage[]) =>
      withFacts<boolean>(pool, outbox, async (tx) => {
        await lockOrder(tx, orderId); // a reservation of this order still in flight commits or rolls back first
        const { rowCount } = await tx.query(`UPDATE reservations SET status = 'RELEASED', released_at = now() WHERE order_id = $1 AND status = 'RESERVED'`, [
          orderId,
        ]);
        if (!rowCount) {
          // Nothing reserved: leave a RELEASED tombstone, so a reservation for this order arriving later
          // (a cancelled saga's timed-out call) can no longer take stock.
          await tx.query(`INSERT INTO reservations (order_id, status, released_at) VALUES ($1, 'RELEASED', now()) ON CONFLICT (order_id) DO NOTHING`, [
            orderId,
          ]);
          return { result: false, facts: [] };
        }
        // Lock in sku order, as reserve does, so a release and a reservation cannot deadlock.
        await tx.query('SELECT 1 FROM products WHERE sku IN (SELECT sku FROM reservation_items WHERE order_id = $1) ORDER BY sku FOR UPDATE', [orderId]);
        const { rows } = await tx.query(
          `UPDATE products p SET reserved = p.reserved - i.quantity, updated_at = now()
             FROM reservation_items i WHERE i.order_id = $1 AND p.sku = i.sku RETURNING p.sku, i.quantity`,
          [orderId],
        );
        return { result: true, facts: facts(rows.map((r) => ({ sku: r.sku, quantity: r.quantity }))) };
      }),
  };
}

export type StockRepository = ReturnType<typeof createStockRepository>;
