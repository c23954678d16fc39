// The parts of orderflow's API both benchmark peers answer alike: the product upsert (the same
// `products` table, peer-schema.ts), the Idempotency-Key check and a customer's e-mail address.
import type { Pool } from 'pg';
import type { Caller } from '../../../apps/orchestrator/src/domain/caller';
import { HttpProblem } from '../../../apps/orchestrator/src/http/problem';
import { parse, skuParam, upsertProductBody } from '../../../apps/orchestrator/src/http/schemas';
import { parseIdempotencyKey } from '../../../apps/orchestrator/src/idempotency/fingerprint';
import { json, type Answer } from './peer-http';

/** Where a customer's e-mails go: as the orchestrator's `emailOf` (apps/orchestrator/src/orders/orders.ts). */
export function emailOf(caller: Caller): string {
  return caller.email ?? `${caller.id.replace(/[^A-Za-z0-9._-]/g, '-').slice(0, 64) || 'customer'}@customers.orderflow.local`;
}

/** The Idempotency-Key of a write, or the orchestrator's 400 for a missing or invalid one. */
export function requireIdempotencyKey(rawKey: string | undefined): string {
  const parsedKey = parseIdempotencyKey(rawKey);
  if (!parsedKey.ok) {
    throw parsedKey.missing
      ? new HttpProblem('idempotency-key-missing', 'send an Idempotency-Key header (1-255 printable ASCII characters) with every write')
      : new HttpProblem('idempotency-key-invalid', 'Idempotency-Key must be 1-255 printable ASCII characters');
  }
  return parsedKey.key;
}

/** PUT /v1/admin/products/:sku: 201 created, 200 updated, 409 for stock below what is reserved. */
export async function upsertProduct(pool: Pool, rawSku: string, body: unknown): Promise<Answer> {
  const sku = parse(skuParam, rawSku, 'path');
  const p = parse(upsertProductBody, body, 'body');
  try {
    const { rows } = await pool.query(
      `INSERT INTO products (sku, name, price_cents, on_hand) VALUES ($1, $2, $3, $4)
       ON CONFLICT (sku) DO UPDATE SET name = EXCLUDED.name, price_cents = EXCLUDED.price_cents, on_hand = EXCLUDED.on_hand, updated_at = now()
       RETURNING sku, name, price_cents, on_hand - reserved AS available, (xmax = 0) AS created`,
      [sku, p.name, p.priceCents, p.stock],
    );
    const r = rows[0];
    // price_cents is a bigint: a number already (libs/db's int8 parser); Number() keeps it one whatever the pool.
    return json(r.created ? 201 : 200, { sku: r.sku, name: r.name, priceCents: Number(r.price_cents), available: r.available });
  } catch (error) {
    // 23514: the products CHECK (reserved <= on_hand)
    if ((error as { code?: string }).code === '23514') throw new HttpProblem('conflict', `stock of ${sku} cannot be set below what is already reserved`);
    throw error;
  }
}
