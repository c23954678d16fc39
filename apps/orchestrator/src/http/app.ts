import express, { type RequestHandler } from 'express';
import helmet from 'helmet';
import type { Logger } from 'pino';
import type { Catalog } from '../catalog/catalog';
import { consoleRoutes } from '../console/routes';
import type { AuditLog } from '../audit/audit-log';
import type { ApiKeyStore } from '../partners/api-keys';
import type { DeadLetterRepository } from '../dead-letters/dead-letter-repository';
import type { Replay } from '../dead-letters/replay';
import type { InventoryPort } from '../clients/downstream';
import type { IdempotencyStore } from '../idempotency/idempotency-store';
import type { OrderUseCases } from '../orders/orders';
import type { SagaOperations } from '../saga/saga-operations';
import type { SagaRepository } from '../saga/saga-repository';
import type { AdminWriteDeps } from './admin-write';
import { authenticate, createJwksTokenVerifier, createTokenVerifier, requireRole, requireScope, type ApiKeyAuthenticator, type AuthConfig } from './auth';
import { docsRoutes } from './docs';
import { errorHandler, HttpProblem, PROBLEM_PAGES, sendProblem } from './problem';
import { problemPageRoutes } from './problem-pages';
import { adminApiKeyRoutes } from './routes/api-keys';
import { adminAuditRoutes, adminDeadLetterRoutes, adminSagaRoutes, adminStatsRoutes } from './routes/admin';
import { adminWebhookRoutes } from './routes/webhooks';
import type { WebhookRepository } from '../webhooks/webhook-repository';
import { orderRoutes } from './routes/orders';
import { adminProductRoutes, productRoutes } from './routes/products';
import type { RateLimits } from './rate-limit';

export interface HttpAppDeps {
  auth: AuthConfig;
  /** Partner API keys (`X-API-Key`); without it only bearer tokens authenticate. */
  apiKeys?: ApiKeyAuthenticator;
  /** Express's `trust proxy` (TRUST_PROXY): whether X-Forwarded-For names the client address. */
  trustProxy?: boolean | number | string[];
  /** The layered rate limits (createRateLimits); without them requests are not limited (component tests). */
  rateLimits?: RateLimits;
  orders: OrderUseCases;
  catalog: Catalog;
  inventory: InventoryPort;
  sagas: SagaRepository;
  idempotency: IdempotencyStore;
  /** What the admin API works with beyond the customer API's parts. */
  admin: {
    sagaOperations: SagaOperations;
    /** Runs a saga from its last commit (the saga runner's `resume`). */
    resume: (orderId: string) => Promise<void>;
    deadLetters: DeadLetterRepository;
    replay: Replay;
    audit: AuditLog;
    apiKeys: ApiKeyStore;
    webhooks: WebhookRepository;
    /** WEBHOOK_ALLOW_PRIVATE: subscriptions may name http URLs and private addresses (local receivers). */
    webhooksAllowPrivate: boolean;
    /** One orchestrator-database transaction: an admin write commits its change, audit row and stored response in it. */
    transaction: AdminWriteDeps['transaction'];
    stats: () => Promise<unknown>;
  };
  requestLog: RequestHandler;
  /** Request duration histogram (mounted first, so it sees every request). */
  httpMetrics?: RequestHandler;
  /** Whether the background health checks currently find this process's database down (see `failFastWhileDatabaseDown`). */
  databaseDown?: () => boolean;
  logger: Logger;
}

/**
 * Order writes while the database is known to be down (the health monitor's last rounds failed)
 * answer 503 with Retry-After at once, instead of each waiting out the pool's connect or query timeout
 * (up to PG_QUERY_TIMEOUT_MS when the server stalls). Reads pass: some are served without it.
 */
export function failFastWhileDatabaseDown(databaseDown: () => boolean): RequestHandler {
  return (req, _res, next) =>
    next(
      req.method !== 'GET' && req.method !== 'HEAD' && databaseDown()
        ? new HttpProblem('unavailable', 'the database is unreachable; retry later with the same Idempotency-Key')
        : undefined,
    );
}

// Keys that could reach Object.prototype through a careless merge; no request ever needs them.
const FORBIDDEN_KEYS = new Set(['__proto__', 'constructor', 'prototype']);
function rejectPollution(key: string, value: unknown): unknown {
  if (FORBIDDEN_KEYS.has(key)) throw new SyntaxError(`forbidden key ${key}`);
  return value;
}

/** A body that is not JSON is 415; a write without a body (cancel) needs no content type. */
const requireJsonBody: RequestHandler = (req, _res, next) => {
  const hasBody = Number(req.get('content-length') ?? 0) > 0 || req.get('transfer-encoding') !== undefined;
  next(hasBody && !req.is('application/json') ? new HttpProblem('unsupported-media-type') : undefined);
};

/** The public HTTP API: `/v1/…`, `/openapi.json`, `/docs` and `/problems/<type>`, with one error handler at the end. Ops routes have their own port. */
export function createHttpApp(deps: HttpAppDeps): express.Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', deps.trustProxy ?? false);
  if (deps.httpMetrics) app.use(deps.httpMetrics);
  app.use(helmet());
  app.use(deps.requestLog);
  app.set('query parser', 'simple');
  app.use(docsRoutes());
  app.use('/console', consoleRoutes());
  app.use(PROBLEM_PAGES, problemPageRoutes());

  const v1 = express.Router();
  const tokens = deps.auth.JWT_JWKS_URL ? createJwksTokenVerifier(deps.auth) : createTokenVerifier(deps.auth);
  const limits = deps.rateLimits;
  if (limits) v1.use(limits.beforeAuthentication);
  v1.use(authenticate(tokens, deps.apiKeys));
  if (limits) v1.use(limits.afterFailedAuthentication, limits.byCaller);
  v1.use(requireScope, requireJsonBody, express.json({ limit: '64kb', strict: true, reviver: rejectPollution }));
  v1.use('/orders', failFastWhileDatabaseDown(deps.databaseDown ?? (() => false)), orderRoutes(deps.orders, deps.idempotency));
  v1.use('/products', productRoutes(deps.catalog));
  v1.use('/admin', requireRole('admin'));
  const { admin } = deps;
  const writes: AdminWriteDeps = { keys: deps.idempotency, audit: admin.audit, transaction: admin.transaction };
  v1.use('/admin/products', adminProductRoutes(deps.inventory, deps.catalog, writes));
  v1.use(
    '/admin/sagas',
    adminSagaRoutes({ sagas: deps.sagas, operations: admin.sagaOperations, deadLetters: admin.deadLetters, resume: admin.resume, writes }),
  );
  v1.use('/admin/dead-letters', adminDeadLetterRoutes(admin.deadLetters, admin.replay, writes));
  v1.use('/admin/audit', adminAuditRoutes(admin.audit));
  v1.use('/admin/api-keys', adminApiKeyRoutes(admin.apiKeys, writes));
  v1.use('/admin/webhooks', adminWebhookRoutes({ repo: admin.webhooks, writes, allowPrivate: admin.webhooksAllowPrivate }));
  v1.use('/admin/stats', adminStatsRoutes(admin.stats));
  app.use('/v1', v1);

  app.use((_req, res) => sendProblem(res, 'not-found', 'no such endpoint'));
  app.use(errorHandler(deps.logger));
  return app;
}
