import { z } from 'zod';

/** A stock-keeping unit: 1-64 letters, digits, dot, dash or underscore, starting with a letter or digit. */
export const skuSchema = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, 'sku must be 1-64 letters, digits, dot, dash or underscore');

/** Bounds shared by every edge that accepts order lines (REST, gRPC). */
export const ORDER_LIMITS = { maxLines: 100, maxQuantity: 1000 } as const;

/** One order line as a customer asks for it. */
export const orderLineSchema = z.object({ sku: skuSchema, quantity: z.number().int().min(1).max(ORDER_LIMITS.maxQuantity) });
