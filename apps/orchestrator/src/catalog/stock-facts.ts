import type { CloudEvent } from '@orderflow/domain';
import type { StaleProducts } from './catalog';

/** The skus a `stock.*` fact touches, and whether it changed the product itself (price, name) or only its stock. */
export function staleProducts(event: CloudEvent): StaleProducts {
  if (!event.type.startsWith('stock.')) return { skus: [], definitionChanged: false };
  const data = event.data as { sku?: unknown; items?: { sku?: unknown }[] } | null;
  const skus = [data?.sku, ...(Array.isArray(data?.items) ? data.items.map((i) => i?.sku) : [])];
  return { skus: skus.filter((s): s is string => typeof s === 'string'), definitionChanged: event.type === 'stock.adjusted' };
}
