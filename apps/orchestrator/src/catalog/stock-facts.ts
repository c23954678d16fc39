import type { CloudEvent } from '@orderflow/domain';

/** The skus a `stock.*` fact touches (the catalog drops their cache entries). */
export function stockFactSkus(event: CloudEvent): string[] {
  if (!event.type.startsWith('stock.')) return [];
  const data = event.data as { sku?: unknown; items?: { sku?: unknown }[] } | null;
  const skus = [data?.sku, ...(Array.isArray(data?.items) ? data.items.map((i) => i?.sku) : [])];
  return skus.filter((s): s is string => typeof s === 'string');
}
