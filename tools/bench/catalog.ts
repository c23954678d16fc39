// Creating a load test's catalog over the admin API, as the bench and the soak both do.
import { randomUUID } from 'node:crypto';
import { setTimeout as delay } from 'node:timers/promises';

export interface CatalogProduct {
  sku: string;
  name: string;
  stock: number;
}

/**
 * PUTs each product (500 cents) as `adminToken`. A 429 is waited out (its `Retry-After`) and the PUT
 * sent again with the same key, for up to a minute: a system run with its default limits (`make up`)
 * caps one admin at 10 requests a second. Any other refusal stops the run.
 */
export async function putCatalog(baseUrl: string, adminToken: string, products: CatalogProduct[], who: string): Promise<void> {
  for (const p of products) {
    const init = {
      method: 'PUT',
      headers: { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json', 'idempotency-key': randomUUID() },
      body: JSON.stringify({ name: p.name, priceCents: 500, stock: p.stock }),
    };
    const deadline = Date.now() + 60_000;
    let res = await fetch(`${baseUrl}/v1/admin/products/${p.sku}`, init);
    while (res.status === 429 && Date.now() < deadline) {
      await res.arrayBuffer();
      await delay(Math.max(1, Number(res.headers.get('retry-after')) || 1) * 1_000);
      res = await fetch(`${baseUrl}/v1/admin/products/${p.sku}`, init);
    }
    if (!res.ok) throw new Error(`${who}: could not create ${p.sku}: ${res.status} ${await res.text()}`);
  }
}
