import { z } from 'zod';

// Request schemas for the order service. A request that fails them is INVALID_ARGUMENT.
export const SKU = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, 'sku must be 1-64 letters, digits, dot, dash or underscore');
const id = z.string().uuid('order_id must be a UUID');
const customerId = z.string().min(1, 'customer_id is required').max(128);

export const createOrderRequest = z.object({
  orderId: id,
  customerId,
  items: z
    .array(z.object({ sku: SKU, quantity: z.number().int().min(1).max(1000), unitPriceCents: z.number().int().min(0).max(1e11) }))
    .min(1, 'at least one item')
    .max(100, 'at most 100 items'),
});
export const orderIdRequest = z.object({ orderId: id });
export const getOrderRequest = z.object({ orderId: id, customerId: z.string().max(128) });
export const rejectOrderRequest = z.object({ orderId: id, reason: z.string().min(1, 'reason is required').max(64) });
export const listOrdersRequest = z.object({ customerId: z.string().max(128), limit: z.number().int().min(0).max(100), cursor: z.string().max(200) });
