import {
  amqpEnv,
  checkKafkaEnv,
  commonEnv,
  drainEnv,
  ConfigError,
  env,
  kafkaEnv,
  outboxRetentionEnv,
  parseEnv,
  redisEnv,
  retentionEnv,
} from '@orderflow/config';
import type { BreakerOptions, Downstream, RedisBreakerOptions } from './clients/breakers';

/** The development secret published in .env.example; never accepted unless ALLOW_DEV_SECRET=true. */
const DEV_SECRET = 'dev-only-secret-change-me-0123456789abcdef';

/** A gateway-style override per downstream of the shared GRPC_DEADLINE_MS and BREAKER_* settings. */
function perDownstream<P extends 'ORDER' | 'INVENTORY'>(prefix: P, service: string) {
  return {
    [`${prefix}_GRPC_DEADLINE_MS`]: env.optionalInt(50, 60_000, `Deadline of every gRPC call to ${service}; defaults to GRPC_DEADLINE_MS`),
    [`${prefix}_BREAKER_ERROR_PERCENT`]: env.optionalInt(1, 100, `BREAKER_ERROR_PERCENT for ${service}; defaults to BREAKER_ERROR_PERCENT`),
    [`${prefix}_BREAKER_RESET_MS`]: env.optionalInt(100, 600_000, `BREAKER_RESET_MS for ${service}; defaults to BREAKER_RESET_MS`),
    [`${prefix}_BREAKER_VOLUME_THRESHOLD`]: env.optionalInt(1, 10_000, `BREAKER_VOLUME_THRESHOLD for ${service}; defaults to BREAKER_VOLUME_THRESHOLD`),
  } as Record<`${P}_${'GRPC_DEADLINE_MS' | 'BREAKER_ERROR_PERCENT' | 'BREAKER_RESET_MS' | 'BREAKER_VOLUME_THRESHOLD'}`, ReturnType<typeof env.optionalInt>>;
}

/** Everything the orchestrator reads from env, validated once at start-up. */
export const orchestratorEnv = {
  ...commonEnv,
  ...drainEnv,
  ...kafkaEnv,
  ...amqpEnv,
  ...redisEnv,
  HTTP_HOST: env.string('0.0.0.0', 'Interface the HTTP server binds'),
  HTTP_PORT: env.port(8080, 'HTTP port: the public API on the orchestrator (/v1, /openapi.json, /docs); the ops port on the other apps'),
  OPS_PORT: env.port(8084, 'Ops HTTP port of the orchestrator: /healthz, /readyz, /status, /metrics (keep it off the public network)'),
  ORDER_GRPC_ADDRESS: env.string('127.0.0.1:50051', 'host:port (or dns:///name:port) of the order service'),
  INVENTORY_GRPC_ADDRESS: env.string('127.0.0.1:50052', 'host:port (or dns:///name:port) of the inventory service'),
  JWT_SECRET: env.optionalString('HS256 secret for bearer tokens, at least 32 characters (one of JWT_SECRET, JWT_PUBLIC_KEY or JWT_JWKS_URL is required)'),
  ALLOW_DEV_SECRET: env.string('false', 'Set to true only for local development: allows the JWT_SECRET published in .env.example'),
  JWT_PUBLIC_KEY: env.optionalString('RS256 or ES256 public key (PEM) for bearer tokens; needs JWT_ISSUER and JWT_AUDIENCE'),
  JWT_JWKS_URL: env.optionalString(
    "An identity provider's JWKS endpoint (https://…/.well-known/jwks.json): RS256 and ES256 keys chosen by the token's `kid`, cached, refetched for an unknown `kid`; needs JWT_ISSUER and JWT_AUDIENCE",
  ),
  JWT_JWKS_CACHE_SECONDS: env.int(
    600,
    1,
    86_400,
    'How long a key fetched from JWT_JWKS_URL is trusted before it is fetched again (a key removed by a rotation stops working after this)',
  ),
  JWT_ISSUER: env.optionalString('Expected `iss` claim: checked when set, required with JWT_PUBLIC_KEY or JWT_JWKS_URL'),
  JWT_AUDIENCE: env.optionalString('Expected `aud` claim: checked when set, required with JWT_PUBLIC_KEY or JWT_JWKS_URL'),
  IDEMPOTENCY_TTL_HOURS: env.number(
    24,
    0.0001,
    24 * 30,
    'How long an Idempotency-Key and its stored response are kept (hours; fractions allowed); must exceed IDEMPOTENCY_LOCK_SECONDS',
  ),
  IDEMPOTENCY_LOCK_SECONDS: env.int(10, 1, 600, 'How long a request holds its Idempotency-Key before a retry may take over (a crashed request)'),
  IDEMPOTENCY_PURGE_INTERVAL_SECONDS: env.int(300, 1, 86_400, 'How often expired Idempotency-Keys are purged'),
  PG_POOL_SIZE: env.int(20, 1, 1_000, 'Connections in the Postgres pool of each replica (the README budget: replicas × connections must fit max_connections)'),
  ORPHAN_ORDER_SECONDS: env.int(
    300,
    2,
    86_400,
    "An order whose placement died before its saga existed, and was not retried, is closed (rejected, PROCESSING_FAILED, with its fact and e-mail) this long after the request's claim lapsed",
  ),
  RATE_LIMIT_PER_MINUTE: env.int(600, 1, 1_000_000, 'Requests per minute per caller (token `sub`)'),
  API_KEY_RATE_PER_MINUTE: env.int(100, 1, 1_000_000, 'Requests per minute per partner API key, unless the key has its own (`ratePerMinute`)'),
  RATE_LIMIT_BURST_PER_SECOND: env.int(10, 1, 1_000_000, 'Requests per second per caller (token or key) at most, within its per-minute quota'),
  RATE_LIMIT_PER_IP_PER_MINUTE: env.int(
    1_000,
    1,
    100_000_000,
    'Requests per minute per client address, counting requests whose credentials are refused (so floods of bad tokens are limited too)',
  ),
  TRUST_PROXY: env.string(
    'false',
    "Whether X-Forwarded-For names the client address (the per-address limit, the logs): `false`; `true` (trust every proxy: only behind one that overwrites the header); a number of proxy hops; or a comma-separated list of proxy addresses or subnets (Express's `trust proxy`)",
  ),
  GRPC_DEADLINE_MS: env.int(
    3_000,
    50,
    60_000,
    'Deadline of every gRPC call to order and inventory (ORDER_/INVENTORY_GRPC_DEADLINE_MS override it per service)',
  ),
  SAGA_MAX_ATTEMPTS: env.int(5, 1, 100, 'Attempts of a saga step before the saga compensates'),
  SAGA_RETRY_BASE_MS: env.int(200, 1, 60_000, 'Base delay of the exponential backoff (full jitter) between step attempts'),
  SAGA_RETRY_MAX_MS: env.int(10_000, 1, 600_000, 'Cap of the backoff between step attempts'),
  SAGA_WATCHDOG_MS: env.int(30_000, 100, 3_600_000, 'A saga step under way longer than this is assumed abandoned and resumed'),
  SAGA_POLL_MS: env.int(100, 10, 60_000, 'How often the runner looks for due retries and abandoned sagas'),
  BREAKER_ERROR_PERCENT: env.int(50, 1, 100, 'Share of failing calls (percent) to a downstream that opens its circuit breaker'),
  BREAKER_RESET_MS: env.int(3_000, 100, 600_000, 'How long an open circuit waits before a trial call'),
  BREAKER_VOLUME_THRESHOLD: env.int(5, 1, 10_000, 'Calls in the window before the breaker may open'),
  ...perDownstream('ORDER', 'the order service'),
  ...perDownstream('INVENTORY', 'the inventory service'),
  REDIS_COMMAND_TIMEOUT_MS: env.int(
    500,
    1,
    60_000,
    'Longest a Redis call (rate limit, catalog cache) may take; the first that does opens the Redis circuit breaker, and the caller goes on without Redis',
  ),
  REDIS_BREAKER_RESET_MS: env.int(2_000, 100, 600_000, 'How long the open Redis circuit fails calls at once before one trial call'),
  PRODUCT_CACHE_TTL_SECONDS: env.int(300, 1, 86_400, 'Longest a product stays in the Redis cache without an invalidation'),
  ...retentionEnv,
  ...outboxRetentionEnv,
  SAGA_RETENTION_DAYS: env.number(
    30,
    0.001,
    3_650,
    'How long a finished saga and its step log are kept (days): its admin view, and the time a confirmed order can still be cancelled; a failed saga stays while its dead letter is pending',
  ),
  WEBHOOK_ALLOW_PRIVATE: env.flag(
    false,
    'Set to true only for local development: webhook URLs may be http and reach private, loopback and link-local addresses (otherwise https to public addresses only)',
  ),
  WEBHOOK_TIMEOUT_MS: env.int(
    5_000,
    100,
    60_000,
    'Longest one webhook delivery may take (connect, TLS, request, status line); longer counts as a failure and is retried',
  ),
  WEBHOOK_CONCURRENCY: env.int(32, 1, 1_000, 'Webhook deliveries in flight at once per orchestrator replica (the webhook.deliver prefetch)'),
  WEBHOOK_MAX_IN_FLIGHT_PER_SUBSCRIPTION: env.int(
    4,
    1,
    1_000,
    'Of those, at most this many to one subscription; more wait (deferred 1 s, no attempt spent), so a slow receiver never holds every slot',
  ),
  DEAD_LETTER_RETENTION_DAYS: env.number(
    30,
    0.001,
    3_650,
    'How long a dead letter is kept once replayed or discarded (days); one nobody has dealt with is never purged',
  ),
  WEBHOOK_DELIVERY_RETENTION_DAYS: env.number(
    30,
    0.001,
    3_650,
    'How long a delivered (or skipped) webhook delivery is kept (days), for GET /v1/admin/webhooks/{id}/deliveries; a failed one stays with its dead letter',
  ),
};

export type OrchestratorConfig = ReturnType<typeof loadOrchestratorConfig>;

/**
 * Deadlines and breaker settings per downstream, as a gateway sets them per route: a service's own
 * variables where set, the shared GRPC_DEADLINE_MS and BREAKER_* otherwise. Redis has its own.
 */
export function downstreamSettings(config: OrchestratorConfig): {
  deadlineMs: Record<Downstream, number>;
  breakers: Record<Downstream, BreakerOptions> & { redis: RedisBreakerOptions };
} {
  const breaker = (p: 'ORDER' | 'INVENTORY'): BreakerOptions => ({
    errorThresholdPercentage: config[`${p}_BREAKER_ERROR_PERCENT`] ?? config.BREAKER_ERROR_PERCENT,
    resetTimeoutMs: config[`${p}_BREAKER_RESET_MS`] ?? config.BREAKER_RESET_MS,
    volumeThreshold: config[`${p}_BREAKER_VOLUME_THRESHOLD`] ?? config.BREAKER_VOLUME_THRESHOLD,
  });
  return {
    deadlineMs: { order: config.ORDER_GRPC_DEADLINE_MS ?? config.GRPC_DEADLINE_MS, inventory: config.INVENTORY_GRPC_DEADLINE_MS ?? config.GRPC_DEADLINE_MS },
    breakers: {
      order: breaker('ORDER'),
      inventory: breaker('INVENTORY'),
      redis: {
        timeoutMs: config.REDIS_COMMAND_TIMEOUT_MS,
        resetTimeoutMs: config.REDIS_BREAKER_RESET_MS,
        // A timeout opens it at once; other failures (refused, reset) by the shared rule.
        errorThresholdPercentage: config.BREAKER_ERROR_PERCENT,
        volumeThreshold: config.BREAKER_VOLUME_THRESHOLD,
      },
    },
  };
}

export function loadOrchestratorConfig(source: NodeJS.ProcessEnv = process.env) {
  const config = parseEnv(orchestratorEnv, source);
  checkKafkaEnv(config);
  if (!config.JWT_SECRET && !config.JWT_PUBLIC_KEY && !config.JWT_JWKS_URL) {
    throw new ConfigError('invalid configuration:\n  JWT_SECRET: set JWT_SECRET (HS256), JWT_PUBLIC_KEY (RS256, ES256) or JWT_JWKS_URL (it is not set)');
  }
  if ([config.JWT_SECRET, config.JWT_PUBLIC_KEY, config.JWT_JWKS_URL].filter(Boolean).length > 1) {
    throw new ConfigError('invalid configuration:\n  JWT_SECRET: set only one of JWT_SECRET, JWT_PUBLIC_KEY and JWT_JWKS_URL');
  }
  // A token from someone else's use of the same provider (or key) must not pass: who issued it and for whom are checked.
  for (const name of ['JWT_ISSUER', 'JWT_AUDIENCE'] as const) {
    if ((config.JWT_PUBLIC_KEY || config.JWT_JWKS_URL) && !config[name]) {
      throw new ConfigError(`invalid configuration:\n  ${name}: is required with JWT_PUBLIC_KEY or JWT_JWKS_URL`);
    }
  }
  if (config.JWT_JWKS_URL && !/^https?:\/\/[^\s]+$/.test(config.JWT_JWKS_URL)) {
    throw new ConfigError('invalid configuration:\n  JWT_JWKS_URL: must be an http(s) URL');
  }
  trustProxySetting(config.TRUST_PROXY);
  if (config.JWT_SECRET && config.JWT_SECRET.length < 32) {
    throw new ConfigError('invalid configuration:\n  JWT_SECRET: must be at least 32 characters');
  }
  if (config.JWT_SECRET === DEV_SECRET && config.ALLOW_DEV_SECRET !== 'true') {
    throw new ConfigError(
      'invalid configuration:\n  JWT_SECRET: is the public development secret from .env.example; set a real secret (or ALLOW_DEV_SECRET=true on a dev machine)',
    );
  }
  // A key purged while a request still holds its claim would let a retry create a second order.
  if (config.IDEMPOTENCY_TTL_HOURS * 3_600 <= config.IDEMPOTENCY_LOCK_SECONDS) {
    throw new ConfigError(
      `invalid configuration:\n  IDEMPOTENCY_TTL_HOURS: must exceed IDEMPOTENCY_LOCK_SECONDS (${config.IDEMPOTENCY_TTL_HOURS} h is not more than ${config.IDEMPOTENCY_LOCK_SECONDS} s)`,
    );
  }
  // A subscription allowed every slot would let one slow receiver hold up every other.
  if (config.WEBHOOK_MAX_IN_FLIGHT_PER_SUBSCRIPTION >= config.WEBHOOK_CONCURRENCY) {
    throw new ConfigError(
      `invalid configuration:\n  WEBHOOK_MAX_IN_FLIGHT_PER_SUBSCRIPTION: must be less than WEBHOOK_CONCURRENCY (${config.WEBHOOK_MAX_IN_FLIGHT_PER_SUBSCRIPTION} is not less than ${config.WEBHOOK_CONCURRENCY})`,
    );
  }
  // A saga purged while its Idempotency-Key is still kept: a retry resuming that request would find no saga.
  if (config.SAGA_RETENTION_DAYS * 24 < config.IDEMPOTENCY_TTL_HOURS) {
    throw new ConfigError(
      `invalid configuration:\n  SAGA_RETENTION_DAYS: must be at least IDEMPOTENCY_TTL_HOURS (${config.SAGA_RETENTION_DAYS} d is less than ${config.IDEMPOTENCY_TTL_HOURS} h)`,
    );
  }
  return config;
}

/**
 * TRUST_PROXY as Express's `trust proxy` setting: a boolean, a hop count, or a list of addresses and
 * subnets (checked by Express when the app starts). Throws a ConfigError naming the variable.
 */
export function trustProxySetting(value: string): boolean | number | string[] {
  if (value === 'true' || value === 'false') return value === 'true';
  if (/^[0-9]{1,2}$/.test(value)) return Number(value);
  const list = value.split(',').map((v) => v.trim());
  if (!list.length || list.some((v) => !/^[0-9a-fA-F.:]+(\/[0-9]{1,3})?$|^(loopback|linklocal|uniquelocal)$/.test(v))) {
    throw new ConfigError('invalid configuration:\n  TRUST_PROXY: must be true, false, a number of hops, or a comma-separated list of addresses or subnets');
  }
  return list;
}

/**
 * Postgres connections one orchestrator replica holds at most: its pool, plus one LISTEN client per
 * outbox relay (Kafka, RabbitMQ) and the health check's own connection. The budget in the README and
 * tools/deploy-check (replicas × this, against max_connections) come from here.
 */
export function postgresConnections(config: Pick<OrchestratorConfig, 'PG_POOL_SIZE'>): { pool: number; dedicated: number } {
  return { pool: config.PG_POOL_SIZE, dedicated: 3 };
}
