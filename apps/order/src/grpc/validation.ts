import { z } from 'zod';
import { ORDER_LIMITS, orderLineSchema, wireTraceparentSchema } from '@orderflow/domain';

// Request schemas for the order service. A request that fails them is INVALID_ARGUMENT.
const id = z.guid('order_id must be a UUID');
const customerId = z.string().min(1, 'customer_id is required').max(128);

export const createOrderRequest = z.object({
  orderId: id,
  customerId,
  items: z
    .array(orderLineSchema.extend({ unitPriceCents: z.number().int().min(0).max(1e11) }))
    .min(1, 'at least one item')
    .max(ORDER_LIMITS.maxLines, `at most ${ORDER_LIMITS.maxLines} items`),
  // Sent per order in CreateOrders (a single call's trace travels in metadata).
  traceparent: wireTraceparentSchema.default(''),
});
export const orderIdRequest = z.object({ orderId: id });
/** Orders per CreateOrders or ConfirmOrders call: bounds one statement's size. */
export const MAX_BATCH = 256;
export const createOrdersRequest = z.object({ orders: z.array(createOrderRequest).max(MAX_BATCH, `at most ${MAX_BATCH} orders`) });
export const confirmOrdersRequest = z
  .object({ orderIds: z.array(id).max(MAX_BATCH, `at most ${MAX_BATCH} orders`), traceparents: z.array(wireTraceparentSchema).default([]) })
  .refine((r) => r.traceparents.length === 0 || r.traceparents.length === r.orderIds.length, 'traceparents must be left out or be one per order id');
export const getOrderRequest = z.object({ orderId: id, customerId: z.string().max(128) });
export const rejectOrderRequest = z.object({ orderId: id, reason: z.string().min(1, 'reason is required').max(64) });
export const listOrdersRequest = z.object({ customerId: z.string().max(128), limit: z.number().int().min(0).max(100), cursor: z.string().max(200) });
