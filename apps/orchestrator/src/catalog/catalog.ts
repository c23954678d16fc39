import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { AppError, type OrderItem } from '@orderflow/domain';
import type { InventoryPort, Product } from '../clients/downstream';

export interface CatalogOptions {
  keyPrefix: string;
  /** Upper bound on staleness if an invalidation is ever missed. */
  ttlSeconds: number;
  logger: Logger;
}

/**
 * The product catalog, cache-aside over the inventory service: reads try Redis first and fill it on a
 * miss; `stock.*` facts (and admin writes) drop entries. Redis failing only costs speed, never answers.
 */
export function createCatalog(inventory: InventoryPort, redis: Redis, options: CatalogOptions) {
  const key = (sku: string) => `${options.keyPrefix}product:${sku}`;

  async function cached(skus: string[]): Promise<Map<string, Product>> {
    const found = new Map<string, Product>();
    if (skus.length === 0) return found;
    try {
      const values = await redis.mget(...skus.map(key));
      values.forEach((v, i) => v && found.set(skus[i]!, JSON.parse(v) as Product));
    } catch (error) {
      options.logger.warn({ err: error }, 'product cache read failed; reading from inventory');
    }
    return found;
  }

  async function fill(products: Product[]): Promise<void> {
    if (products.length === 0) return;
    try {
      const tx = redis.multi();
      for (const p of products) tx.set(key(p.sku), JSON.stringify(p), 'EX', options.ttlSeconds);
      await tx.exec();
    } catch (error) {
      options.logger.warn({ err: error }, 'product cache write failed');
    }
  }

  async function getMany(skus: string[]): Promise<Map<string, Product>> {
    const unique = [...new Set(skus)];
    const found = await cached(unique);
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
      const product = (await getMany([sku])).get(sku);
      if (!product) throw new AppError('NOT_FOUND', `no product with sku ${sku}`);
      return product;
    },
    /** The whole catalog, straight from inventory (listing is rare; single products are the hot path). */
    listProducts: () => inventory.getProducts([]),
    /** Prices order lines at today's prices; an unknown sku is UNKNOWN_SKU (422 at the edge). */
    async price(lines: { sku: string; quantity: number }[]): Promise<OrderItem[]> {
      const products = await getMany(lines.map((l) => l.sku));
      const unknown = lines.filter((l) => !products.has(l.sku)).map((l) => l.sku);
      if (unknown.length) throw new AppError('UNKNOWN_SKU', `unknown sku: ${[...new Set(unknown)].join(', ')}`, { details: { skus: unknown } });
      return lines.map((l) => ({ sku: l.sku, quantity: l.quantity, unitPriceCents: products.get(l.sku)!.priceCents }));
    },
    async invalidate(skus: string[]): Promise<void> {
      if (skus.length === 0) return;
      await redis.del(...skus.map(key));
    },
  };
}

export type Catalog = ReturnType<typeof createCatalog>;
