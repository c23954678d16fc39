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
import { ConfigError, env, parseEnv } from '@orderflow/config';
import { createPool } from '@orderflow/db';
import { orderTotal, type OrderItem } from '@orderflow/domain';
import type { Caller, Role } from '../../../../apps/orchestrator/src/domain/caller';
import { createTokenVerifier } from '../../../../apps/orchestrator/src/http/auth';
import { HttpProblem } from '../../../../apps/orchestrator/src/http/problem';
import { parse, placeOrderBody } from '../../../../apps/orchestrator/src/http/schemas';
import { createFileMailer } from '../../../../apps/notification/src/mail/file-mailer';
import { emailOf, requireIdempotencyKey, upsertProduct } from '../peer-api';
import { peerEnv, postgresUrl } from '../peer-config';
import { headerOf, json, jsonBody, listenOnLoopback, problemAnswer, problemOf, type Answer } from '../peer-http';
import { createPgDataSource } from './pg-datasource';
import { SCHEMA_SQL } from './schema';
import { orderIdOf, registerOrderWorkflow, workflowIdOf, type PlaceOrder } from './workflow';

const dbosEnv = {
  PORT: env.port(8080, 'HTTP port'),
  DATABASE_URL: postgresUrl('URL of the peer’s application database (created by the adapter)'),
  DBOS_SYSTEM_DATABASE_URL: postgresUrl('URL of the DBOS system database (created by the adapter, migrated by DBOS)'),
  PG_POOL_SIZE: env.int(16, 1, 1_000, 'Postgres connections of the app pool and of DBOS’s system pool: the peer’s one documented tuning'),
  SHUTDOWN_TIMEOUT_MS: env.int(10_000, 100, 120_000, 'How long SIGTERM waits for running workflows before shutting DBOS down'),
  ...peerEnv,
};
type DbosPeerConfig = z.infer<z.ZodObject<typeof dbosEnv>>;

// DBOS's logger knows error, warn, info and debug.
const DBOS_LOG_LEVEL: Record<DbosPeerConfig['LOG_LEVEL'], string> = {
  fatal: 'error',
  error: 'error',
  warn: 'warn',
  info: 'info',
  debug: 'debug',
  trace: 'debug',
  silent: 'error',
};

/** The 202 of POST /v1/orders, shaped as the orchestrator's (apps/orchestrator/src/http/routes/orders.ts): the order as placed. */
function accepted(input: PlaceOrder, headers: Record<string, string> = {}): Answer {
  const { orderId: id, customerId, items, totalCents, placedAt } = input;
  return json(
    202,
    { id, customerId, status: 'PENDING', items, totalCents, createdAt: placedAt, updatedAt: placedAt },
    { Location: `/v1/orders/${id}`, ...headers },
  );
}

// What this peer has always answered, kept so its answers stay the same: an announced but empty body is
// malformed JSON (express.json would make it {}), and problems carry no charset parameter.
const JSON_BODY = { emptyAsObject: false };
const PROBLEM_CONTENT_TYPE = 'application/problem+json';

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

  /**
   * Prices the lines (unknown sku → 422, as the orchestrator's catalog), then starts the workflow under
   * caller + key. DBOS.startWorkflow returns once the workflow's row and input are committed in the
   * system database (initWorkflowStatus, before the workflow runs), so the 202 is durable: a crash
   * afterwards leaves a PENDING workflow that the next start of this executor recovers. A retry with
   * the same key starts nothing and answers what the first request answered.
   */
  async function placeOrder(caller: Caller, rawKey: string | undefined, body: unknown): Promise<Answer> {
    const key = requireIdempotencyKey(rawKey);
    const { items } = parse(placeOrderBody, body, 'body');
    const skus = [...new Set(items.map((i) => i.sku))];
    const { rows } = await pool.query<{ sku: string; price_cents: string }>('SELECT sku, price_cents FROM products WHERE sku = ANY($1::text[])', [skus]);
    const prices = new Map(rows.map((r) => [r.sku, Number(r.price_cents)]));
    const unknown = skus.filter((sku) => !prices.has(sku));
    if (unknown.length) throw new HttpProblem('unknown-sku', `unknown sku: ${unknown.join(', ')}`);

    const workflowID = workflowIdOf(caller.id, key);
    const orderItems: OrderItem[] = items.map((i) => ({ sku: i.sku, quantity: i.quantity, unitPriceCents: prices.get(i.sku)! }));
    const placedAt = new Date().toISOString();
    let input: PlaceOrder = {
      orderId: orderIdOf(workflowID),
      customerId: caller.id,
      email: emailOf(caller),
      items: orderItems,
      totalCents: orderTotal(orderItems),
      placedAt,
    };
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
      return upsertProduct(pool, decodeURIComponent(product[1]!), await jsonBody(req, JSON_BODY));
    }
    if (path === '/v1/orders' && req.method === 'POST') {
      const caller = authorize(req, 'customer');
      return placeOrder(caller, headerOf(req, 'idempotency-key'), await jsonBody(req, JSON_BODY));
    }
    throw new HttpProblem('not-found', 'no such endpoint');
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    let answer: Answer;
    try {
      answer = await route(req);
    } catch (error) {
      if (!(error instanceof HttpProblem)) logger.error({ err: error, method: req.method, url: req.url }, 'request failed');
      const problem = problemOf(error);
      answer = problemAnswer(problem, req.url, PROBLEM_CONTENT_TYPE);
      if (problem.problem === 'unavailable') answer.headers['Retry-After'] = '1';
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
  await listenOnLoopback(server, config.PORT);
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
    process.stderr.write(
      `bench-dbos: ${error instanceof ConfigError ? error.message : error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
    );
    process.exit(1);
  });
}
