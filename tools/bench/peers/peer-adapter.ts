// What both peers' adapters share besides their process (peer-process.ts): the round's mail directory
// and tokens, and the read side. Both keep orders, lines and stock in the same tables (peer-schema.ts)
// and write each e-mail as an .eml file in that directory.
import { mkdtemp, readdir, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import jwt from 'jsonwebtoken';
import type { Pool } from 'pg';
import type { OrderLine, Role, StockRow } from './target';

// The order id an .eml file is about, read from its Subject (apps/notification/src/templates.ts: "Your order <id> …"):
// counted by content rather than by file name, so a second file for one order would show as a duplicate.
const SUBJECT_ORDER = /^Subject: Your order ([0-9a-f-]{36})\b/im;

/** A fresh mail directory for `peer` in round `label`, under the OS temp directory (the adapter removes it in cleanup). */
export const createMailDir = (label: string, peer: string): Promise<string> =>
  mkdtemp(join(tmpdir(), `bench-${label.replace(/[^A-Za-z0-9_-]/g, '_')}-${peer}-`));

/** Tokens the peer accepts: HS256 with the round's secret, as the orchestrator's. */
export const tokenSigner =
  (secret: string) =>
  (sub: string, role: Role): string =>
    jwt.sign({ sub, role }, secret, { algorithm: 'HS256', expiresIn: '24h' });

export async function orderLines(pool: Pool, ids: string[]): Promise<OrderLine[]> {
  const { rows } = await pool.query(
    'SELECT o.id, o.status, i.sku, i.quantity FROM orders o JOIN order_items i ON i.order_id = o.id WHERE o.id = ANY($1::uuid[]) ORDER BY o.id, i.line',
    [ids],
  );
  return rows.map((r) => ({ id: r.id, status: r.status, sku: r.sku, quantity: r.quantity }));
}

export async function stock(pool: Pool, skus: string[]): Promise<StockRow[]> {
  const { rows } = await pool.query('SELECT sku, on_hand, reserved FROM products WHERE sku = ANY($1::text[]) ORDER BY sku', [skus]);
  return rows.map((r) => ({ sku: r.sku, onHand: r.on_hand, reserved: r.reserved }));
}

/** E-mail files per order among `ids`; only orders with at least one file are in the map (the harness waits until every id is). */
export async function emailsPerOrder(mailDir: string, ids: string[]): Promise<Map<string, number>> {
  const wanted = new Set(ids);
  const counts = new Map<string, number>();
  const files = (await readdir(mailDir)).filter((f) => f.endsWith('.eml'));
  for (const file of files) {
    const text = await readFile(join(mailDir, file), 'utf8').catch(() => ''); // gone meanwhile: not counted
    const id = SUBJECT_ORDER.exec(text)?.[1];
    if (id && wanted.has(id)) counts.set(id, (counts.get(id) ?? 0) + 1);
  }
  return counts;
}
