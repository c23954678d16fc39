import { Router } from 'express';
import type { Catalog } from '../../catalog/catalog';
import type { InventoryPort, Product } from '../../clients/downstream';
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

/** /v1/admin/products/{sku}: create or update a product and set its on-hand stock. */
export function adminProductRoutes(inventory: InventoryPort, catalog: Catalog): Router {
  const router = Router();
  router.put('/:sku', async (req, res) => {
    const sku = parse(skuParam, req.params.sku, 'path');
    const body = parse(upsertProductBody, req.body, 'body');
    const { product, created } = await inventory.upsertProduct({ sku, ...body });
    await catalog.invalidate({ skus: [sku], definitionChanged: true }).catch(() => undefined); // the stock.adjusted fact drops it too
    res.status(created ? 201 : 200).json(productJson(product));
  });
  return router;
}
