import type { Logger } from 'pino';
import { z } from 'zod';
import { ORDER_LIMITS, orderLineSchema, skuSchema as sku } from '@orderflow/domain';
import { unaryHandler as unary, type InventoryServiceServer } from '@orderflow/proto';
import type { StockUseCases } from '../stock';

const orderId = z.string().uuid('order_id must be a UUID');
const schemas = {
  getProducts: z.object({ skus: z.array(sku).max(500) }),
  upsertProduct: z.object({
    sku,
    name: z.string().trim().min(1, 'name is required').max(200),
    priceCents: z.number().int().min(0).max(1e11),
    stock: z.number().int().min(0).max(1e9),
  }),
  reserveStock: z.object({ orderId, items: z.array(orderLineSchema).min(1).max(ORDER_LIMITS.maxLines) }),
  releaseStock: z.object({ orderId }),
};

/** The gRPC InventoryService: a thin edge over the stock use cases; stock movements log one line each. */
export function createInventoryService(stock: StockUseCases, logger?: Logger): InventoryServiceServer {
  return {
    getProducts: unary(schemas.getProducts, async (r) => ({ products: await stock.getProducts(r.skus) })),
    upsertProduct: unary(schemas.upsertProduct, async (r, { traceparent }) => stock.upsertProduct(r, traceparent)),
    reserveStock: unary(schemas.reserveStock, async (r, { traceparent }) => {
      const outcome = await stock.reserveStock(r.orderId, r.items, traceparent);
      logger?.info({ orderId: r.orderId, reserved: outcome.reserved }, outcome.reserved ? 'stock reserved' : 'stock reservation refused: not enough stock');
      return { reserved: outcome.reserved, orderId: r.orderId, shortages: outcome.reserved ? [] : outcome.shortages };
    }),
    releaseStock: unary(schemas.releaseStock, async (r, { traceparent }) => {
      const released = await stock.releaseStock(r.orderId, traceparent);
      logger?.info({ orderId: r.orderId, released }, released ? 'stock released' : 'stock release: nothing to release');
      return { released };
    }),
  };
}
