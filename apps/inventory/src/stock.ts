import { AppError, createEvent, type FactType } from '@orderflow/domain';
import { factMessage, type OutboxMessage } from '@orderflow/messaging';
import { storedOutcome, type ReservationOutcome, type StockRepository } from './db/stock-repository';

const SOURCE = '/orderflow/inventory';
const CHECK_VIOLATION = '23514';

/** Merges repeated lines of one sku, so reservations see one quantity per product. */
function mergeLines(items: { sku: string; quantity: number }[]) {
  const merged = new Map<string, number>();
  for (const { sku, quantity } of items) merged.set(sku, (merged.get(sku) ?? 0) + quantity);
  return [...merged].map(([sku, quantity]) => ({ sku, quantity })).sort((a, b) => a.sku.localeCompare(b.sku));
}

/** The inventory service's use cases; every stock movement records a `stock.*` fact with it. */
export function createStockUseCases(repo: StockRepository, options: { topic: string }) {
  const fact = (type: FactType, key: string, data: unknown, traceparent?: string): OutboxMessage =>
    factMessage(options.topic, createEvent({ type, source: SOURCE, subject: key, data, traceparent }));

  return {
    getProducts: (skus: string[]) => repo.getProducts(skus),

    async upsertProduct(input: { sku: string; name: string; priceCents: number; stock: number }, traceparent?: string) {
      try {
        return await repo.upsertProduct(input, (product) => [
          fact(
            'stock.adjusted',
            product.sku,
            { sku: product.sku, onHand: product.onHand, available: product.available, priceCents: product.priceCents },
            traceparent,
          ),
        ]);
      } catch (error) {
        if ((error as { code?: string }).code === CHECK_VIOLATION) {
          throw new AppError('STOCK_BELOW_RESERVED', `stock of ${input.sku} cannot be set below what is already reserved`);
        }
        throw error;
      }
    },

    /** All-or-nothing; the same order again answers what the first call decided. */
    async reserveStock(orderId: string, items: { sku: string; quantity: number }[], traceparent?: string): Promise<ReservationOutcome> {
      const lines = mergeLines(items);
      const outcome = await repo.reserve(orderId, lines, () => [fact('stock.reserved', orderId, { orderId, items: lines }, traceparent)]);
      if (outcome !== 'duplicate') return outcome;
      const stored = await repo.findReservation(orderId);
      return stored ? storedOutcome(stored) : { reserved: true };
    },

    /**
     * reserveStock for many orders in one transaction, decided in request order (each all-or-nothing);
     * outcomes in request order. Each reserved order's fact carries that order's own traceparent.
     */
    reserveStockBatch: (reservations: { orderId: string; items: { sku: string; quantity: number }[]; traceparent?: string }[]): Promise<ReservationOutcome[]> =>
      repo.reserveBatch(
        reservations.map(({ orderId, items, traceparent }) => {
          const lines = mergeLines(items);
          return { orderId, items: lines, facts: () => [fact('stock.reserved', orderId, { orderId, items: lines }, traceparent)] };
        }),
      ),

    /** Returns the order's stock at most once. */
    releaseStock: (orderId: string, traceparent?: string) =>
      repo.release(orderId, (items) => [fact('stock.released', orderId, { orderId, items }, traceparent)]),
  };
}

export type StockUseCases = ReturnType<typeof createStockUseCases>;
