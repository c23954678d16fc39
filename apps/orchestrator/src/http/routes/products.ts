import { Router } from 'express';
import type { Catalog } from '../../catalog/catalog';
import type { InventoryPort, Product, StockedProduct } from '../../clients/downstream';
import { adminWrite, type AdminWriteDeps } from '../admin-write';
import { parse, skuParam, upsertProductBody } from '../schemas';

const productJson = ({ sku, name, priceCents, available }: Product) => ({ sku, name, priceCents, available });

/** /v1/products: the catalog, for anyone with a token. */
export function productRoutes(catalog: Catalog): Router {
  const router = Router();
  router.get('/', async (_req, res) => {
    res.json({ items: (await catalog.listProducts()).map(productJson) });
  });
  router.get('/:sku', async (req, res) => {
    res.json(productJson(await catalog.getProduct(parse(skuParam, req.params.sku, 'path'))));
  });
  return router;
}

const stockedProductJson = ({ onHand, ...product }: StockedProduct) => ({ ...productJson(product), onHand });

/** /v1/admin/products: every product with its on-hand stock; create or update one and set its stock (an audited admin write). */
export function adminProductRoutes(inventory: InventoryPort, catalog: Catalog, writes: AdminWriteDeps): Router {
  const router = Router();
  router.get('/', async (_req, res) => {
    const products = await inventory.listStock();
    res.json({ items: products.sort((a, b) => a.sku.localeCompare(b.sku)).map(stockedProductJson) });
  });
  router.put(
    '/:sku',
    adminWrite(writes, 'product.upsert', async (req, { beginEffect }) => {
      const sku = parse(skuParam, req.params.sku, 'path');
      const body = parse(upsertProductBody, req.body, 'body');
      beginEffect();
      // The inventory service's own transaction; the audit row commits once it answered (a retry of the key repeats the idempotent upsert).
      const { product, created } = await inventory.upsertProduct({ sku, ...body });
      await catalog.invalidate({ skus: [sku], definitionChanged: true }).catch(() => undefined); // the stock.adjusted fact drops it too
      return {
        status: created ? 201 : 200,
        body: productJson(product),
        target: sku,
        detail: `${created ? 'created' : 'updated'}: ${body.name}, ${body.priceCents} cents, ${body.stock} on hand`,
      };
    }),
  );
  return router;
}
