import type { Redis } from 'ioredis';
import { createGroupCommit } from '@orderflow/platform';
import type { Logger } from 'pino';
import { AppError, type OrderItem } from '@orderflow/domain';
import type { RedisGuard } from '../clients/breakers';
import type { InventoryPort, Product } from '../clients/downstream';

export interface CatalogOptions {
  keyPrefix: string;
  /** Upper bound on staleness if an invalidation is ever missed. */
  ttlSeconds: number;
  logger: Logger;
  /** Runs each Redis call: the Redis circuit breaker bounds it and fails it at once while open. */
  guard?: RedisGuard;
  /** How often invalidations Redis did not take are tried again. */
  retryInvalidationMs?: number;
}

/** Which cached views a `stock.*` fact makes stale. */
export interface StaleProducts {
  skus: string[];
  /** Price or name may have changed (an admin write), not only the stock. */
  definitionChanged: boolean;
}

type View = 'product' | 'price';

/**
 * The product catalog, cache-aside over the inventory service: reads try Redis first and fill it on a
 * miss. Two views per sku: the whole product (with stock), dropped by every `stock.*` fact, and its
 * price, dropped only when the product itself changes (`stock.adjusted`, admin writes) — so pricing an
 * order stays a cache hit while reservations move the stock. Redis failing only costs speed, never answers.
 */
export function createCatalog(inventory: InventoryPort, redis: Redis, options: CatalogOptions) {
  const key = (view: View, sku: string) => `${options.keyPrefix}${view}:${sku}`;
  const guard: RedisGuard = options.guard ?? ((call) => call());
  const retryMs = options.retryInvalidationMs ?? 1_000;

  // While the circuit is open the breaker has said so once; a line per call on top would flood.
  const level = (error: unknown) => ((error as { code?: string }).code === 'EOPENBREAKER' ? 'debug' : 'warn');

  // Keys an invalidation could not delete (Redis down, frozen, circuit open). Throwing instead would
  // have the consumer retry the fact for a few seconds and then dead-letter it, leaving the stale
  // price to be served until its TTL. So the fact is taken, and these keys are never read from the
  // cache here (this replica prices from inventory) and deleted again until Redis takes the delete.
  // Other replicas reading Redis in between, or a crash before then, are bounded by the TTL.
  const undeleted = new Set<string>();
  // Of those, the ones no DEL under way covers yet. Invalidations arriving while a DEL is under way
  // join the next one (one DEL for many facts instead of one per fact); until then their keys are
  // bypassed like any other undeleted key, so the caller need not wait for Redis.
  const toDelete = new Set<string>();
  let retrying: NodeJS.Timeout | undefined;
  let deleting: Promise<void> | undefined;

  async function deleteRounds(): Promise<void> {
    while (toDelete.size && !retrying) {
      const pending = [...toDelete];
      toDelete.clear();
      try {
        await guard(() => redis.del(...pending));
        // A key invalidated again meanwhile stays bypassed until its own DEL.
        for (const k of pending) if (!toDelete.has(k)) undeleted.delete(k);
      } catch (error) {
        for (const k of pending) toDelete.add(k);
        options.logger[level(error)]({ err: error, keys: toDelete.size }, 'product cache invalidation failed; its entries are bypassed and retried');
        retrying = setTimeout(() => {
          retrying = undefined;
          void deleteKeys([]);
        }, retryMs).unref();
      }
    }
  }

  /** Bypasses `keys` here at once and deletes them from Redis soon (see `toDelete`); never fails. */
  function deleteKeys(keys: string[]): Promise<void> {
    for (const k of keys) {
      undeleted.add(k);
      toDelete.add(k);
    }
    return (deleting ??= deleteRounds().finally(() => (deleting = undefined)));
  }

  // Reads of concurrent requests share one MGET (group commit): pricing is on every placement.
  const reads = createGroupCommit<string[], (string | null)[]>({
    maxBatch: 64,
    maxConcurrent: 2,
    async run(requests) {
      const keys = [...new Set(requests.flat())];
      const values = await guard(() => redis.mget(...keys));
      const byKey = new Map(keys.map((k, i) => [k, values[i] ?? null]));
      return requests.map((wanted) => wanted.map((k) => byKey.get(k) ?? null));
    },
  });

  /** Cached entries of `skus`; pricing also accepts a whole-product entry, which holds the price too. */
  async function cached(view: View, skus: string[]): Promise<Map<string, Product>> {
    const found = new Map<string, Product>();
    if (skus.length === 0) return found;
    const views: View[] = view === 'price' ? ['price', 'product'] : ['product'];
    const keys = views.flatMap((v) => skus.map((sku) => key(v, sku)));
    try {
      const values = await reads.add(keys);
      values.forEach(
        (v, i) => v && !undeleted.has(keys[i]!) && !found.has(skus[i % skus.length]!) && found.set(skus[i % skus.length]!, JSON.parse(v) as Product),
      );
    } catch (error) {
      options.logger[level(error)]({ err: error }, 'product cache read failed; reading from inventory');
    }
    return found;
  }

  /** Stores freshly loaded products in both views. */
  async function fill(products: Product[]): Promise<void> {
    if (products.length === 0) return;
    try {
      await guard(() => {
        const tx = redis.multi();
        for (const p of products) for (const view of ['product', 'price'] as const) tx.set(key(view, p.sku), JSON.stringify(p), 'EX', options.ttlSeconds);
        return tx.exec();
      });
    } catch (error) {
      options.logger[level(error)]({ err: error }, 'product cache write failed');
    }
  }

  async function getMany(view: View, skus: string[]): Promise<Map<string, Product>> {
    const unique = [...new Set(skus)];
    const found = await cached(view, unique);
    const missing = unique.filter((sku) => !found.has(sku));
    if (missing.length) {
      const loaded = await inventory.getProducts(missing);
      await fill(loaded);
      for (const p of loaded) found.set(p.sku, p);
    }
    return found;
  }

  return {
    async getProduct(sku: string): Promise<Product> {
      const product = (await getMany('product', [sku])).get(sku);
      if (!product) throw new AppError('NOT_FOUND', `no product with sku ${sku}`);
      return product;
    },
    /** The whole catalog, straight from inventory (listing is rare; single products are the hot path). */
    listProducts: () => inventory.getProducts([]),
    /** Prices order lines at today's prices; an unknown sku is UNKNOWN_SKU (422 at the edge). */
    async price(lines: { sku: string; quantity: number }[]): Promise<OrderItem[]> {
      const products = await getMany(
        'price',
        lines.map((l) => l.sku),
      );
      const unknown = lines.filter((l) => !products.has(l.sku)).map((l) => l.sku);
      if (unknown.length) throw new AppError('UNKNOWN_SKU', `unknown sku: ${[...new Set(unknown)].join(', ')}`, { details: { skus: unknown } });
      return lines.map((l) => ({ sku: l.sku, quantity: l.quantity, unitPriceCents: products.get(l.sku)!.priceCents }));
    },
    /**
     * Drops the views a fact made stale: at once on this replica (it reads them from inventory from
     * now on), and in Redis with the next DEL, which covers the invalidations of every fact that came
     * meanwhile. Resolves once Redis took the delete or it was put aside for a retry; never fails.
     * A caller that does not wait leaves other replicas bounded by the TTL until then, as a crash would.
     */
    async invalidate({ skus, definitionChanged }: StaleProducts): Promise<void> {
      if (skus.length === 0) return;
      const views: View[] = definitionChanged ? ['product', 'price'] : ['product'];
      await deleteKeys(views.flatMap((view) => skus.map((sku) => key(view, sku))));
    },
  };
}

export type Catalog = ReturnType<typeof createCatalog>;
