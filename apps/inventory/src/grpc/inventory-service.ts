import type { Logger } from 'pino';
import { z } from 'zod';
import { ORDER_LIMITS, orderLineSchema, skuSchema as sku, wireTraceparentSchema } from '@orderflow/domain';
import { inStoredTrace } from '@orderflow/platform';
import { unaryHandler as unary, type InventoryServiceServer } from '@orderflow/proto';
import type { StockUseCases } from '../stock';

const orderId = z.guid('order_id must be a UUID');
const reserveItems = z.array(orderLineSchema).min(1).max(ORDER_LIMITS.maxLines);
/** Reservations per ReserveStockBatch call: bounds one transaction's locks and one statement's size. */
export const MAX_BATCH = 256;
const schemas = {
  getProducts: z.object({ skus: z.array(sku).max(500) }),
  upsertProduct: z.object({
    sku,
    name: z.string().trim().min(1, 'name is required').max(200),
    priceCents: z.number().int().min(0).max(1e11),
    stock: z.number().int().min(0).max(1e9),
  }),
  reserveStock: z.object({ orderId, items: reserveItems }),
  releaseStock: z.object({ orderId }),
  reserveStockBatch: z.object({
    reservations: z
      .array(
        z.object({
          orderId,
          items: reserveItems,
          // Stored in the order's stock.reserved fact, whose consumers refuse a malformed one; empty means none.
          traceparent: wireTraceparentSchema,
        }),
      )
      .max(MAX_BATCH, `at most ${MAX_BATCH} reservations`),
  }),
};

/** Runs `log` in the trace of `traceparent` (an order's own, sent with it in a batch) with its order id. */
const inOrderTrace = (traceparent: string, orderId: string, log: () => void) =>
  void inStoredTrace(traceparent || undefined, 'order', { orderId }, async () => log());

/** The gRPC InventoryService: a thin edge over the stock use cases; stock movements log one line each, in their order's trace. */
export function createInventoryService(stock: StockUseCases, logger?: Logger): InventoryServiceServer {
  return {
    getProducts: unary(schemas.getProducts, async (r) => ({ products: await stock.getProducts(r.skus) })),
    upsertProduct: unary(schemas.upsertProduct, async (r, { traceparent }) => stock.upsertProduct(r, traceparent)),
    reserveStock: unary(schemas.reserveStock, async (r, { traceparent }) => {
      const outcome = await stock.reserveStock(r.orderId, r.items, traceparent);
      logger?.info({ orderId: r.orderId, reserved: outcome.reserved }, outcome.reserved ? 'stock reserved' : 'stock reservation refused: not enough stock');
      return { reserved: outcome.reserved, orderId: r.orderId, shortages: outcome.reserved ? [] : outcome.shortages };
    }),
    reserveStockBatch: unary(schemas.reserveStockBatch, async (r) => {
      const outcomes = await stock.reserveStockBatch(
        r.reservations.map((x) => ({ orderId: x.orderId, items: x.items, traceparent: x.traceparent || undefined })),
      );
      const results = outcomes.map((outcome, n) => ({
        reserved: outcome.reserved,
        orderId: r.reservations[n]!.orderId,
        shortages: outcome.reserved ? [] : outcome.shortages,
      }));
      // Each order's line in its own trace, as a single call logs it; skipped whole below info level.
      if (logger?.isLevelEnabled('info')) {
        results.forEach((x, n) =>
          inOrderTrace(r.reservations[n]!.traceparent, x.orderId, () =>
            logger.info({ orderId: x.orderId, reserved: x.reserved }, x.reserved ? 'stock reserved' : 'stock reservation refused: not enough stock'),
          ),
        );
      }
      return { results };
    }),
    releaseStock: unary(schemas.releaseStock, async (r, { traceparent }) => {
      const released = await stock.releaseStock(r.orderId, traceparent);
      logger?.info({ orderId: r.orderId, released }, released ? 'stock released' : 'stock release: nothing to release');
      return { released };
    }),
  };
}
