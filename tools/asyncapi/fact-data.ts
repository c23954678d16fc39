// The `data` of each fact type, as zod schemas the AsyncAPI document is generated from. libs/domain
// types the envelope (`cloudEventSchemaOf`) and the task (`notificationTaskSchema`) but leaves `data`
// to each emitter, so the shapes are written here, built from the domain's own pieces where one
// exists; asyncapi.test.ts runs the real emitters (order saga, inventory use cases) and checks every
// fact they produce against the document.
import { z } from 'zod';
import { notificationTaskSchema, skuSchema, type FactType, type OrderStatus, type RejectionReason } from '@orderflow/domain';

/** Why an order was rejected (`RejectionReason` in libs/domain, which has no runtime list). */
const REJECTION_REASONS = ['OUT_OF_STOCK', 'PROCESSING_FAILED'] as const satisfies readonly RejectionReason[];
// Fails to compile when RejectionReason gains a value the list above lacks.
const everyReason: Record<RejectionReason, true> = { OUT_OF_STOCK: true, PROCESSING_FAILED: true };
void everyReason;

/** The order as the saga knows it (order-saga.ts `orderView`): the same object an e-mail task carries. */
const orderView = notificationTaskSchema.shape.order;
const orderIn = (status: OrderStatus) => orderView.omit({ reason: true }).extend({ status: z.literal(status).describe(`Always ${status} for this fact.`) });

const stockLine = z.object({ sku: skuSchema, quantity: z.number().int().positive().describe('Units of this sku (repeated lines of one sku merged).') });
const orderStock = (what: string) =>
  z.object({ orderId: z.guid().describe('The order (also the subject and the Kafka key).'), items: z.array(stockLine).min(1).describe(what) });

/** `data` per fact type; every FactType has an entry (the `Record` type makes a missing one a compile error). */
export const FACT_DATA: Record<FactType, z.ZodTypeAny> = {
  'order.placed': orderIn('PENDING').describe('An order was accepted; its saga starts.'),
  'order.confirmed': orderIn('CONFIRMED').describe('The order was confirmed after its stock was reserved.'),
  'order.rejected': orderIn('REJECTED')
    .extend({ reason: z.enum(REJECTION_REASONS).describe('OUT_OF_STOCK: a line could not be reserved; PROCESSING_FAILED: the saga gave up.') })
    .describe('The order was rejected; `reason` says why.'),
  'order.cancelled': orderIn('CANCELLED').describe('The order was cancelled (POST /v1/orders/{id}/cancel).'),
  'stock.reserved': orderStock('The lines reserved, one per sku, sorted by sku.').describe("An order's stock was reserved, all lines or none."),
  'stock.released': orderStock('The lines returned to available stock.').describe("An order's reservation was released (at most once per order)."),
  'stock.adjusted': z
    .object({
      sku: skuSchema,
      onHand: z.number().int().nonnegative().describe('Units in the warehouse.'),
      available: z.number().int().nonnegative().describe('On hand less reserved.'),
      priceCents: z.number().int().nonnegative().describe('Unit price in cents.'),
    })
    .describe('A product was created or its stock or price set (InventoryService.UpsertProduct).'),
};
