// The benchmark's floor: the whole order in one process and ONE Postgres transaction per request, on
// plain node:http. No saga, no broker, no outbox: what orderflow's order costs at the least, with the
// same API checks (token, body schema, Idempotency-Key) and the same durability (stock constraints,
// an e-mail per order written once, fsynced). Its one tuning: the pool size (PG_POOL_SIZE, default 16).
import { randomUUID } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import pino, { type Logger } from 'pino';
import type { Pool, PoolClient } from 'pg';
import { z } from 'zod';
import { ConfigError, env, parseEnv } from '@orderflow/config';
import { createPool, prepared, rollbackTransaction } from '@orderflow/db';
import { orderTotal, type NotificationTask, type Order, type OrderItem } from '@orderflow/domain';
import { createTokenVerifier } from '../../../../apps/orchestrator/src/http/auth';
import type { Caller } from '../../../../apps/orchestrator/src/domain/caller';
import { HttpProblem } from '../../../../apps/orchestrator/src/http/problem';
import { parse, placeOrderBody } from '../../../../apps/orchestrator/src/http/schemas';
import { requestFingerprint } from '../../../../apps/orchestrator/src/idempotency/fingerprint';
import { emailOf, requireIdempotencyKey, upsertProduct } from '../peer-api';
import { peerEnv, postgresUrl } from '../peer-config';
import { headerOf, json, jsonBody, listenOnLoopback, problemAnswer, problemOf, type Answer } from '../peer-http';
import { createMailWriter } from './mail-writer';
import { SCHEMA_SQL } from './schema';

const floorEnv = {
  PORT: z
    .string({ error: 'is required' })
    .regex(/^\d{1,5}$/, 'expected a port number 0-65535')
    .transform(Number)
    .refine((port) => port <= 65535, 'expected a port number 0-65535')
    .describe('HTTP port'),
  DATABASE_URL: postgresUrl('URL of the floor’s own database (created by the adapter)'),
  PG_POOL_SIZE: env.int(16, 1, 1_000, 'Postgres connections: the floor’s one documented tuning'),
  ...peerEnv,
};
type FloorConfig = z.infer<z.ZodObject<typeof floorEnv>>;

const MAIL_BATCH = 64;
const MAIL_POLL_MS = 1_000;
const SHUTDOWN_TIMEOUT_MS = 10_000;
const PROBLEM_CONTENT_TYPE = 'application/problem+json; charset=utf-8'; // as express sends the orchestrator's
// Advisory-lock space of the idempotency claim (two int4 keys: hashtext(caller), hashtext(key)).
const CLAIM_SQL = `
  WITH l AS (SELECT pg_try_advisory_xact_lock(hashtext($1), hashtext($2)) AS got),
       ins AS (INSERT INTO idempotency_keys (caller, key, fingerprint, order_id)
                 SELECT $1, $2, $3, $4 FROM l WHERE got ON CONFLICT (caller, key) DO NOTHING RETURNING 1)
  SELECT got, EXISTS (SELECT 1 FROM ins) AS claimed FROM l`;

/** One reservation line per sku, in sku order (the lock order), as orderflow's inventory merges them. */
function mergeLines(items: { sku: string; quantity: number }[]) {
  const merged = new Map<string, number>();
  for (const { sku, quantity } of items) merged.set(sku, (merged.get(sku) ?? 0) + quantity);
  return [...merged].map(([sku, quantity]) => ({ sku, quantity })).sort((a, b) => (a.sku < b.sku ? -1 : a.sku > b.sku ? 1 : 0));
}

export function createFloor(config: FloorConfig, pool: Pool, logger: Logger) {
  const verify = createTokenVerifier({ JWT_SECRET: config.JWT_SECRET });
  const mail = createMailWriter({ pool, dir: config.MAIL_DIR, from: config.MAIL_FROM, logger, batch: MAIL_BATCH, pollMs: MAIL_POLL_MS });

  /** The key's stored answer after a lost claim: the replay, 422 for another body, 409 while it runs. */
  async function storedAnswer(client: PoolClient, caller: string, key: string, fingerprint: string, got: boolean): Promise<Answer> {
    if (!got) throw new HttpProblem('idempotency-key-in-use', 'retry when the first request has finished');
    const { rows } = await client.query(
      'SELECT fingerprint, response_status, response_headers, response_body FROM idempotency_keys WHERE caller = $1 AND key = $2',
      [caller, key],
    );
    const row = rows[0];
    if (row && row.fingerprint !== fingerprint) throw new HttpProblem('idempotency-key-reused', 'this key was used for a different request; use a new key');
    // A committed key always holds its response (same transaction); none means another claim is running.
    if (!row?.response_status) throw new HttpProblem('idempotency-key-in-use', 'retry when the first request has finished');
    return { status: row.response_status, headers: { ...row.response_headers, 'Idempotent-Replayed': 'true' }, body: row.response_body };
  }

  /**
   * POST /v1/orders in one transaction: claim the key, lock and check the stock, then one statement
   * writes the reservation, the order, its lines, its e-mail and the stored response; commit.
   */
  async function placeOrder(caller: Caller, rawKey: string | undefined, body: unknown): Promise<Answer> {
    const key = requireIdempotencyKey(rawKey);
    const fingerprint = requestFingerprint('POST', '/v1/orders', body);
    const orderId = randomUUID();
    const client = await pool.connect();
    let broken: Error | undefined;
    let answer: Answer;
    try {
      await client.query('BEGIN');
      // The try-lock answers a request whose twin is still running at once (409, as the orchestrator)
      // instead of queueing behind its uncommitted key; a lock is never waited for, so no deadlock.
      // Prepared, as orderflow's hot statements are (libs/db prepared), so the yardstick pays no planning either.
      const claim = await client.query(prepared(CLAIM_SQL, [caller.id, key, fingerprint, orderId]));
      const { got, claimed } = claim.rows[0] as { got: boolean; claimed: boolean };
      if (!claimed) {
        await client.query('ROLLBACK');
        return await storedAnswer(client, caller.id, key, fingerprint, got);
      }
      // Validated after the claim, as the orchestrator does: a reused key answers 422 whatever the body.
      const { items } = parse(placeOrderBody, body, 'body');
      const lines = mergeLines(items);
      const { rows } = await client.query<{ sku: string; price_cents: number; available: number }>(
        prepared('SELECT sku, price_cents, on_hand - reserved AS available FROM products WHERE sku = ANY($1::text[]) ORDER BY sku FOR UPDATE', [
          lines.map((l) => l.sku),
        ]),
      );
      const products = new Map(rows.map((r) => [r.sku, r]));
      const unknown = [...new Set(items.filter((i) => !products.has(i.sku)).map((i) => i.sku))];
      if (unknown.length) throw new HttpProblem('unknown-sku', `unknown sku: ${unknown.join(', ')}`);
      const covered = lines.every((l) => products.get(l.sku)!.available >= l.quantity);

      const orderItems: OrderItem[] = items.map((i) => ({ sku: i.sku, quantity: i.quantity, unitPriceCents: products.get(i.sku)!.price_cents }));
      const createdAt = new Date().toISOString();
      const order: Order = {
        id: orderId,
        customerId: caller.id,
        status: covered ? 'CONFIRMED' : 'REJECTED',
        items: orderItems,
        totalCents: orderTotal(orderItems),
        ...(covered ? {} : { reason: 'OUT_OF_STOCK' }),
        createdAt,
        updatedAt: createdAt,
      };
      const task: NotificationTask = {
        template: covered ? 'order-confirmed' : 'order-rejected',
        to: emailOf(caller),
        order: {
          id: order.id,
          customerId: order.customerId,
          status: order.status,
          items: orderItems,
          totalCents: order.totalCents,
          ...(order.reason ? { reason: order.reason } : {}),
        },
      };
      const { id, customerId, status, totalCents, reason, updatedAt } = order;
      answer = json(
        202,
        { id, customerId, status, items: orderItems, totalCents, ...(reason ? { reason } : {}), createdAt, updatedAt },
        { Location: `/v1/orders/${orderId}` },
      );
      await client.query(
        prepared(
          `WITH p AS (UPDATE products p SET reserved = p.reserved + t.quantity, updated_at = now()
                        FROM unnest($2::text[], $3::int[]) AS t(sku, quantity) WHERE $4::boolean AND p.sku = t.sku),
                o AS (INSERT INTO orders (id, customer_id, status, reason, total_cents, created_at) VALUES ($1, $5, $6, $7, $8, $9)),
                i AS (INSERT INTO order_items (order_id, line, sku, quantity, unit_price_cents)
                        SELECT $1, t.n - 1, t.sku, t.quantity, t.price FROM unnest($10::text[], $11::int[], $12::bigint[]) WITH ORDINALITY AS t(sku, quantity, price, n)),
                e AS (INSERT INTO emails (order_id, payload) VALUES ($1, $13)),
                k AS (UPDATE idempotency_keys SET response_status = $14, response_headers = $15, response_body = $16 WHERE caller = $17 AND key = $18)
           SELECT 1`,
          [
            orderId,
            lines.map((l) => l.sku),
            lines.map((l) => l.quantity),
            covered,
            caller.id,
            order.status,
            order.reason ?? null,
            order.totalCents,
            createdAt,
            orderItems.map((i) => i.sku),
            orderItems.map((i) => i.quantity),
            orderItems.map((i) => i.unitPriceCents),
            JSON.stringify(task),
            answer.status,
            JSON.stringify(answer.headers),
            answer.body,
            caller.id,
            key,
          ],
        ),
      );
      await client.query('COMMIT');
    } catch (error) {
      broken = await rollbackTransaction(client, error);
      throw error;
    } finally {
      client.release(broken);
    }
    mail.wake();
    return answer;
  }

  async function route(req: IncomingMessage, path: string): Promise<Answer> {
    if (!path.startsWith('/v1/')) throw new HttpProblem('not-found', 'no such endpoint');
    const caller = verify(req.headers.authorization);
    const body = await jsonBody(req, { emptyAsObject: true });
    if (req.method === 'POST' && path === '/v1/orders') return placeOrder(caller, headerOf(req, 'idempotency-key'), body);
    if (path.startsWith('/v1/admin/') && caller.role !== 'admin') throw new HttpProblem('forbidden', 'requires role admin');
    const product = /^\/v1\/admin\/products\/([^/]+)$/.exec(path);
    if (req.method === 'PUT' && product) {
      let sku: string;
      try {
        sku = decodeURIComponent(product[1]!);
      } catch {
        throw new HttpProblem('not-found');
      }
      return upsertProduct(pool, sku, body);
    }
    throw new HttpProblem('not-found', 'no such endpoint');
  }

  return { route, mail };
}

async function main(): Promise<void> {
  let config: FloorConfig;
  try {
    config = parseEnv(floorEnv);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    process.stderr.write(`bench-floor: ${error.message}\n`);
    process.exit(1);
  }
  const logger = pino({ name: 'bench-floor', level: config.LOG_LEVEL }, pino.destination(2));
  const pool = createPool(config.DATABASE_URL, config.PG_POOL_SIZE, config);
  await pool.query(SCHEMA_SQL);
  await mkdir(config.MAIL_DIR, { recursive: true });
  const floor = createFloor(config, pool, logger);
  floor.mail.start();

  let draining = false;
  const server = createServer((req, res) => void serve(req, res));
  async function serve(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const path = q < 0 ? url : url.slice(0, q);
    let answer: Answer;
    try {
      if (path === '/readyz' && req.method === 'GET') answer = draining ? json(503, { status: 'draining' }) : json(200, { status: 'ok' });
      else answer = await floor.route(req, path);
    } catch (error) {
      const problem = problemOf(error);
      if (!(error instanceof HttpProblem)) logger.error({ err: error, method: req.method, path }, 'request failed');
      answer = problemAnswer(problem, url, PROBLEM_CONTENT_TYPE);
      if (problem.problem === 'payload-too-large') answer.headers.Connection = 'close';
    }
    // While draining, every answer closes its connection, so keep-alive clients let go.
    res.writeHead(answer.status, draining ? { ...answer.headers, Connection: 'close' } : answer.headers);
    res.end(answer.body);
  }

  await listenOnLoopback(server, config.PORT);
  logger.info({ port: config.PORT, pool: config.PG_POOL_SIZE }, 'bench-floor ready');

  const shutdown = async () => {
    if (draining) return;
    draining = true;
    setTimeout(() => {
      logger.error('shutdown timed out; exiting');
      process.exit(1);
    }, SHUTDOWN_TIMEOUT_MS).unref();
    // close() stops accepting, drops idle keep-alive connections and resolves once in-flight requests answered.
    await new Promise((resolve) => server.close(resolve));
    await floor.mail.stop();
    await pool.end();
    process.exit(0);
  };
  process.once('SIGTERM', () => void shutdown());
  process.once('SIGINT', () => void shutdown());
}

if (require.main === module) {
  main().catch((error: unknown) => {
    process.stderr.write(`bench-floor: start-up failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exit(1);
  });
}
