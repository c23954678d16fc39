import { callUnary, createGrpcClient, InventoryServiceClient } from '@orderflow/proto';

/** A small specialty-coffee catalog for demos and the quick start. */
export const DEMO_CATALOG = [
  { sku: 'ESP-BLEND-250', name: 'Espresso blend, 250 g', priceCents: 1290, stock: 200 },
  { sku: 'ETH-YIRGA-250', name: 'Ethiopia Yirgacheffe, 250 g', priceCents: 1650, stock: 120 },
  { sku: 'COL-HUILA-1K', name: 'Colombia Huila, 1 kg', priceCents: 4200, stock: 40 },
  { sku: 'V60-DRIPPER', name: 'V60 dripper, ceramic', priceCents: 2490, stock: 25 },
  { sku: 'FILTER-100', name: 'Paper filters, 100 pcs', priceCents: 590, stock: 500 },
  { sku: 'GRINDER-HAND', name: 'Hand grinder', priceCents: 8900, stock: 5 },
];

/** `seed [--reset]`: adds the demo products that are missing (with --reset, sets all back to demo stock). */
export async function seedCommand(args: string[]): Promise<void> {
  const reset = args.includes('--reset');
  const address = process.env.INVENTORY_GRPC_ADDRESS ?? '127.0.0.1:50052';
  const client = createGrpcClient(InventoryServiceClient, address);
  try {
    const existing = new Set(
      (await callUnary(client.getProducts.bind(client), { skus: DEMO_CATALOG.map((p) => p.sku) }, { timeoutMs: 5_000 })).products.map((p) => p.sku),
    );
    const todo = DEMO_CATALOG.filter((p) => reset || !existing.has(p.sku));
    for (const product of todo) await callUnary(client.upsertProduct.bind(client), product, { timeoutMs: 5_000 });
    process.stdout.write(`seed: ${todo.length} product(s) written, ${DEMO_CATALOG.length - todo.length} already there\n`);
  } catch (error) {
    throw new Error(`seed: cannot reach the inventory service at ${address} (${(error as Error).message}); is it running?`);
  } finally {
    client.close();
  }
}
