// The benchmark's DBOS Transact peer: the same order as a durable workflow (record → reserve stock →
// confirm or reject → one e-mail), each step a DBOS transaction on its own database, the workflow's state
// in the DBOS system database, on plain node:http with the same API checks as orderflow (token, body
// schema, Idempotency-Key). The workflow id is caller + Idempotency-Key: a retry finds the same workflow.
// Its one tuning: the Postgres pool size (PG_POOL_SIZE, default 16), for its app pool and DBOS's system pool.
import { mkdir } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { DBOS, Error as DBOSErrors } from '@dbos-inc/dbos-sdk';
import pino, { type Logger } from 'pino';
import type { Pool } from 'pg';
import { z } from 'zod';
import { ConfigError, env, parseEnv, postgresEnv } from '@orderflow/config';
import { createPool } from '@orderflow/db';
import { orderTotal, type OrderItem } from '@orderflow/domain';
import type { Caller, Role } from '../../../../apps/orchestrator/src/domain/caller';
import { createTokenVerifier } from '../../../../apps/orchestrator/src/http/auth';
import { HttpProblem, problemBody } from '../../../../apps/orchestrator/src/http/problem';
import { parse, placeOrderBody, skuParam, upsertProductBody } from '../../../../apps/orchestrator/src/http/schemas';
import { parseIdempotencyKey } from '../../../../apps/orchestrator/src/idempotency/fingerprint';
import { createFileMailer } from '../../../../apps/notification/src/mail/file-mailer';
import { createPgDataSource } from './pg-datasource';
import { SCHEMA_SQL } from './schema';
import { orderIdOf, registerOrderWorkflow, workflowIdOf, type PlaceOrder } from './workflow';

const required = (description: string) => z.string({ required_error: 'is required' }).min(1, 'is required').describe(description);
const postgresUrl = (description: string) => required(description).refine((v) => /^postgres(ql)?:\/\//.test(v), 'expected a postgres:// URL');

const dbosEnv = {
  PORT: env.port(8080, 'HTTP port'),
  DATABASE_URL: postgresUrl('URL of the peer’s application database (created by the adapter)'),
  DBOS_SYSTEM_DATABASE_URL: postgresUrl('URL of the DBOS system database (created by the adapter, migrated by DBOS)'),
  JWT_SECRET: required('HS256 secret of the bearer tokens'),
  MAIL_DIR: required('Directory the .eml files are written to'),
  LOG_LEVEL: env.logLevel().default('warn'),
  PG_POOL_SIZE: env.int(16, 1, 1_000, 'Postgres connections of the app pool and of DBOS’s system pool: the peer’s one documented tuning'),
  MAIL_FROM: env.string('orderflow <orders@orderflow.local>', 'From address of every e-mail'),
  SHUTDOWN_TIMEOUT_MS: env.int(10_000, 100, 120_000, 'How long SIGTERM waits for running workflows before shutting DBOS down'),
  ...postgresEnv,
};
type DbosPeerConfig = z.infer<z.ZodObject<typeof dbosEnv>>;

const BODY_LIMIT = 64 * 1024; // express.json({ limit: '64kb' }) in the orchestrator
// DBOS's logger knows error, warn, info and debug.
const DBOS_LOG_LEVEL: Record<DbosPeerConfig['LOG_LEVEL'], string> = { fatal: 'error', error: 'error', warn: 'warn', info: 'info', debug: 'debug', trace: 'debug', silent: 'error' };

interface Answer {
  status: number;
  headers: Record<string, string>;
  body: string;
}

const json = (status: number, value: unknown, headers: Record<string, string> = {}): Answer => ({
  status,
  headers: { 'Content-Type': 'application/json; charset=utf-8', ...headers },
  body: JSON.stringify(value),
});

/** The 202 of POST /v1/orders, shaped as the orchestrator's (apps/orchestrator/src/http/routes/orders.ts): the order as placed. */
function accepted(input: PlaceOrder, headers: Record<string, string> = {}): Answer {
  const { orderId: id, customerId, items, totalCents, placedAt } = input;
  return json(202, { id, customerId, status: 'PENDING', items, totalCents, createdAt: placedAt, updatedAt: placedAt }, { Location: `/v1/orders/${id}`, ...headers });
}

/** Where a customer's e-mails go: as the orchestrator's `emailOf` (apps/orchestrator/src/orders/orders.ts). */
function emailOf(caller: Caller): string {
  return caller.email ?? `${caller.id.replace(/[^A-Za-z0-9._-]/g, '-').slice(0, 64) || 'customer'}@customers.orderflow.local`;
}

// As the orchestrator's JSON parser: no key that could reach Object.prototype.
const FORBIDDEN_KEYS = new Set(['__proto__', 'constructor', 'prototype']);
function rejectPollution(key: string, value: unknown): unknown {
  if (FORBIDDEN_KEYS.has(key)) throw new SyntaxError(`forbidden key ${key}`);
  return value;
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= BODY_LIMIT) return void chunks.push(chunk);
      req.removeAllListeners('data');
      req.resume();
      reject(new HttpProblem('payload-too-large', 'the body limit is 64 KiB'));
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

/** The body as the orchestrator's express.json sees it: undefined without one, 415/400 for what it refuses. */
async function jsonBody(req: IncomingMessage): Promise<unknown> {
  const hasBody = Number(req.headers['content-length'] ?? 0) > 0 || req.headers['transfer-encoding'] !== undefined;
  if (!hasBody) return undefined;
  if (!/^application\/json\s*(;|$)/i.test(req.headers['content-type'] ?? '')) throw new HttpProblem('unsupported-media-type');
  const text = await readBody(req);
  if (!/^\s*[{[]/.test(text)) throw new HttpProblem('malformed-json'); // strict: an object or an array at the top
  try {
    return JSON.parse(text, rejectPollution);
  } catch {
    throw new HttpProblem('malformed-json');
  }
}

export function createDbosPeer(config: DbosPeerConfig, pool: Pool, logger: Logger) {
  const verify = createTokenVerifier({ JWT_SECRET: config.JWT_SECRET });
  const ds = createPgDataSource('app', pool);
  const mailer = createFileMailer(config.MAIL_DIR);
  const placeOrderWorkflow = registerOrderWorkflow({ ds, mailer, from: config.MAIL_FROM });
  let launched = false;

  function authorize(req: IncomingMessage, role: Role): Caller {
    const caller = verify(req.headers.authorization);
    if (caller.role !== role) throw new HttpProblem('forbidden', `requires role ${role}`);
    return caller;
  }

  async function upsertProduct(rawSku: string, body: unknown): Promise<Answer> {
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
      return json(r.created ? 201 : 200, { sku: r.sku, name: r.name, priceCents: Number(r.price_cents), available: r.available });
    } catch (error) {
      if ((error as { code?: string }).code === '23514') throw new HttpProblem('conflict', `stock of ${sku} cannot be set below what is already reserved`);
      throw error;
    }
  }

  /**
   * Prices the lines (unknown sku → 422, as the orchestrator's catalog), then starts the workflow under
   * caller + key. DBOS.startWorkflow returns once the workflow's row and input are committed in the
   * system database (initWorkflowStatus, before the workflow runs), so the 202 is durable: a crash
   * afterwards leaves a PENDING workflow that the next start of this executor recovers. A retry with
   * the same key starts nothing and answers what the first request answered.
   */
  async function placeOrder(caller: Caller, rawKey: string | undefined, body: unknown): Promise<Answer> {
    const parsedKey = parseIdempotencyKey(rawKey);
    if (!parsedKey.ok) {
      throw parsedKey.missing
        ? new HttpProblem('idempotency-key-missing', 'send an Idempotency-Key header (1-255 printable ASCII characters) with every write')
        : new HttpProblem('idempotency-key-invalid', 'Idempotency-Key must be 1-255 printable ASCII characters');
    }
    const { items } = parse(placeOrderBody, body, 'body');
    const skus = [...new Set(items.map((i) => i.sku))];
    const { rows } = await pool.query<{ sku: string; price_cents: string }>('SELECT sku, price_cents FROM products WHERE sku = ANY($1::text[])', [skus]);
    const prices = new Map(rows.map((r) => [r.sku, Number(r.price_cents)]));
    const unknown = skus.filter((sku) => !prices.has(sku));
    if (unknown.length) throw new HttpProblem('unknown-sku', `unknown sku: ${unknown.join(', ')}`);

    const workflowID = workflowIdOf(caller.id, parsedKey.key);
    const orderItems: OrderItem[] = items.map((i) => ({ sku: i.sku, quantity: i.quantity, unitPriceCents: prices.get(i.sku)! }));
    const placedAt = new Date().toISOString();
    let input: PlaceOrder = { orderId: orderIdOf(workflowID), customerId: caller.id, email: emailOf(caller), items: orderItems, totalCents: orderTotal(orderItems), placedAt };
    try {
      await DBOS.startWorkflow(placeOrderWorkflow, { workflowID, workflowIDReusePolicy: 'reject' })(input);
    } catch (error) {
      if (!(error instanceof DBOSErrors.DBOSWorkflowIDInUseError)) throw error;
      // A retry: 'reject' rolled our insert back and left the first request's workflow as it was. Its
      // stored input rebuilds the first answer (as the orchestrator replays a key's stored response).
      const first = await DBOS.getWorkflowStatus(workflowID);
      if (!first?.input) throw error;
      input = first.input[0] as PlaceOrder;
      return accepted(input, { 'Idempotent-Replayed': 'true' });
    }
    return accepted(input);
  }

  async function route(req: IncomingMessage): Promise<Answer> {
    const path = (req.url ?? '/').split('?')[0]!;
    if (path === '/readyz' && req.method === 'GET') return launched ? json(200, { status: 'ready' }) : json(503, { status: 'starting' });
    if (!path.startsWith('/v1/')) throw new HttpProblem('not-found', 'no such endpoint');
    if (!launched) throw new HttpProblem('unavailable', 'DBOS is not launched yet');
    const product = /^\/v1\/admin\/products\/([^/]+)$/.exec(path);
    if (product && req.method === 'PUT') {
      authorize(req, 'admin');
      return upsertProduct(decodeURIComponent(product[1]!), await jsonBody(req));
    }
    if (path === '/v1/orders' && req.method === 'POST') {
      const caller = authorize(req, 'customer');
      const key = req.headers['idempotency-key'];
      return placeOrder(caller, Array.isArray(key) ? key.join(', ') : key, await jsonBody(req));
    }
    throw new HttpProblem('not-found', 'no such endpoint');
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    let answer: Answer;
    try {
      answer = await route(req);
    } catch (error) {
      const known = error instanceof HttpProblem;
      if (!known) logger.error({ err: error, method: req.method, url: req.url }, 'request failed');
      const body = known ? problemBody(error.problem, error.detail, error.extra, req.url) : problemBody('internal', undefined, {}, req.url);
      const headers: Record<string, string> = { 'Content-Type': 'application/problem+json' };
      if (known && error.problem === 'unavailable') headers['Retry-After'] = '1';
      answer = { status: body.status, headers, body: JSON.stringify(body) };
    }
    if (!req.complete) req.resume(); // drain an unread body so the connection can be reused
    res.writeHead(answer.status, answer.headers).end(answer.body);
  }

  return {
    handle,
    async launch(): Promise<void> {
      DBOS.setConfig({
        name: 'orderflow-bench-dbos',
        systemDatabaseUrl: config.DBOS_SYSTEM_DATABASE_URL,
        systemDatabasePoolSize: config.PG_POOL_SIZE,
        logLevel: DBOS_LOG_LEVEL[config.LOG_LEVEL],
        enableOTLP: false,
        tracingEnabled: false,
        // Recovery on launch re-runs the PENDING workflows of this executor id whose application version is
        // this one. Both are fixed here, so a restarted process (same bundle, same config) recovers them all;
        // the default version would be a hash of the workflow source, which is the same for the same bundle.
        executorID: 'bench-dbos',
        applicationVersion: 'bench-dbos-1',
      });
      await DBOS.launch();
      launched = true;
    },
    /** Waits up to `timeoutMs` for the workflows running here; any still running stay PENDING, for the next launch to recover. */
    async shutdown(timeoutMs: number): Promise<void> {
      launched = false;
      await DBOS.shutdown({ workflowCompletionTimeoutMS: timeoutMs });
      mailer.close();
    },
  };
}

async function main(): Promise<void> {
  const config = parseEnv(dbosEnv);
  const logger = pino({ level: config.LOG_LEVEL, base: { app: 'bench-dbos' } });
  const pool = createPool(config.DATABASE_URL, config.PG_POOL_SIZE, config);
  await pool.query(SCHEMA_SQL);
  await mkdir(config.MAIL_DIR, { recursive: true });

  const peer = createDbosPeer(config, pool, logger);
  const server = createServer((req, res) => void peer.handle(req, res));
  server.keepAliveTimeout = 65_000;
  await new Promise<void>((resolve, reject) => server.once('error', reject).listen(config.PORT, '127.0.0.1', resolve));
  await peer.launch();
  logger.info({ port: config.PORT }, 'bench-dbos ready');

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down');
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    server.closeIdleConnections();
    const timer = setTimeout(() => server.closeAllConnections(), config.SHUTDOWN_TIMEOUT_MS).unref();
    await closed;
    await peer.shutdown(config.SHUTDOWN_TIMEOUT_MS);
    clearTimeout(timer);
    await pool.end();
    process.exit(0);
  };
  process.once('SIGTERM', () => void stop('SIGTERM'));
  process.once('SIGINT', () => void stop('SIGINT'));
}

if (require.main === module) {
  main().catch((error: unknown) => {
    process.stderr.write(`bench-dbos: ${error instanceof ConfigError ? error.message : error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exit(1);
  });
}
