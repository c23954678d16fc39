// Composition root of the orchestrator: config → clients (Postgres, Redis, Kafka, RabbitMQ, gRPC) →
// use cases and saga runner → HTTP API, consumers, outbox relays, purge job → shutdown in reverse.
import { setTimeout as delay } from 'node:timers/promises';
import { databaseName } from '@orderflow/config';
import { consumerGroup, taskTopology, topicNames, WEBHOOK_DELIVER } from '@orderflow/domain';
import { createPool, createRetentionJob, databaseUrl, inTransaction, postgresHealthCheck, requiredSchemaVersion, schemaCheck } from '@orderflow/db';
import {
  amqpHealthCheck,
  createEventConsumer,
  createIdempotentProducer,
  createKafka,
  kafkaConnection,
  createOutboxRelay,
  createOutboxWriter,
  createRabbitPublisher,
  ensureTopics,
  kafkaHealthCheck,
  kafkaOutboxPublisher,
  outboxStatus,
  registerConsumerLagMetrics,
  registerOutboxMetrics,
} from '@orderflow/messaging';
import {
  bootMain,
  closeServer,
  createMetricsRegistry,
  httpMetrics,
  listen,
  requestLog,
  serveOps,
  waitForDependencies,
  type DependencyCheck,
  type HealthMonitor,
  type LogFields,
} from '@orderflow/platform';
import { grpcHealthCheck } from '@orderflow/proto';
import { createAuditLog } from './audit/audit-log';
import { createCatalog } from './catalog/catalog';
import { createBreakers } from './clients/breakers';
import { createDeadLetterCollector } from './dead-letters/collector';
import { createDeadLetterRepository } from './dead-letters/dead-letter-repository';
import { createReplay } from './dead-letters/replay';
import { collectStats } from './stats';
import { createDownstreamClients } from './clients/downstream';
import { createRedisClient } from './clients/redis';
import { downstreamSettings, loadOrchestratorConfig, postgresConnections, trustProxySetting } from './config';
import { createHttpApp } from './http/app';
import { createRateLimits } from './http/rate-limit';
import { createApiKeyStore } from './partners/api-keys';
import { createIdempotencyStore } from './idempotency/idempotency-store';
import { createOrchestratorMetrics } from './metrics';
import { staleProducts } from './catalog/stock-facts';
import { createOrderUseCases, type OrderUseCases } from './orders/orders';
import { createOrphanSweeper } from './orders/orphans';
import { retentionPolicies } from './retention';
import { createSagaOperations } from './saga/saga-operations';
import { createSagaRepository } from './saga/saga-repository';
import { createSagaRunner } from './saga/saga-runner';
import { createDeliveryWorker } from './webhooks/delivery-worker';
import { createWebhookDispatcher } from './webhooks/dispatcher';
import { createWebhookRepository } from './webhooks/webhook-repository';

bootMain('orchestrator', loadOrchestratorConfig, async (config, logger) => {
  const prefix = config.RESOURCE_PREFIX;
  const kafkaConn = kafkaConnection(config);
  const dbUrl = databaseUrl(config.DATABASE_URL, databaseName('orchestrator', prefix));
  const pool = createPool(dbUrl, postgresConnections(config).pool, config);
  const redis = createRedisClient(config);
  const redisCheck: DependencyCheck = { name: 'redis', check: async () => void (await redis.ping()) };
  const postgresCheck = postgresHealthCheck(pool);
  const kafkaCheck = kafkaHealthCheck(kafkaConn, config.STATUS_CHECK_TIMEOUT_MS);
  await redis.connect().catch(() => undefined);
  await waitForDependencies(
    [postgresCheck, redisCheck, kafkaCheck, amqpHealthCheck(config.AMQP_URL), schemaCheck(pool, requiredSchemaVersion)],
    config.STARTUP_TIMEOUT_MS,
    logger,
  );

  const topics = topicNames(prefix);
  const kafka = createKafka({ ...kafkaConn, clientId: 'orchestrator', logger });
  await ensureTopics(kafka, Object.values(topics), { partitions: config.KAFKA_TOPIC_PARTITIONS });
  const producer = createIdempotentProducer(kafka);
  await producer.connect();
  const rabbit = createRabbitPublisher({
    url: config.AMQP_URL,
    topology: taskTopology(prefix),
    moreTopologies: [taskTopology(prefix, WEBHOOK_DELIVER)],
    logger,
  });
  const relays = [
    createOutboxRelay({ pool, databaseUrl: dbUrl, destination: 'kafka', publish: kafkaOutboxPublisher(producer), logger }),
    createOutboxRelay({ pool, databaseUrl: dbUrl, destination: 'rabbitmq', publish: rabbit.publish, logger }),
  ];

  const outbox = createOutboxWriter(relays);
  const sagas = createSagaRepository(pool, outbox);
  const webhooks = createWebhookRepository(pool, outbox);
  const registry = createMetricsRegistry('orchestrator');
  const metrics = createOrchestratorMetrics(registry, { sagasInFlight: sagas.countInFlight });
  registerOutboxMetrics(registry, pool);
  const consumerLag = registerConsumerLagMetrics(registry, {
    ...kafkaConn,
    clientId: 'orchestrator',
    groups: [
      { groupId: consumerGroup('orchestrator.saga', prefix), topics: [topics.orderEvents] },
      { groupId: consumerGroup('orchestrator.catalog', prefix), topics: [topics.inventoryEvents] },
      { groupId: consumerGroup('orchestrator.dead-letters', prefix), topics: [topics.orderEventsDlq, topics.inventoryEventsDlq] },
      { groupId: consumerGroup('orchestrator.webhooks', prefix), topics: [topics.orderEvents, topics.inventoryEvents] },
    ],
  });
  const settings = downstreamSettings(config);
  const breakers = createBreakers(settings.breakers, logger, metrics);
  const downstream = createDownstreamClients({
    orderAddress: config.ORDER_GRPC_ADDRESS,
    inventoryAddress: config.INVENTORY_GRPC_ADDRESS,
    deadlineMs: settings.deadlineMs,
    wrap: breakers.wrap,
  });
  const catalog = createCatalog(downstream.inventory, redis, {
    keyPrefix: prefix,
    ttlSeconds: config.PRODUCT_CACHE_TTL_SECONDS,
    logger,
    guard: breakers.redis,
  });
  const runner = createSagaRunner({
    repo: sagas,
    ports: downstream,
    destinations: { orderEventsTopic: topics.orderEvents, source: '/orderflow/orchestrator' },
    retry: { maxAttempts: config.SAGA_MAX_ATTEMPTS, baseDelayMs: config.SAGA_RETRY_BASE_MS, maxDelayMs: config.SAGA_RETRY_MAX_MS },
    watchdogMs: config.SAGA_WATCHDOG_MS,
    pollIntervalMs: config.SAGA_POLL_MS,
    logger,
    metrics: {
      onRetry: (step) => metrics.sagaRetries.inc({ step }),
      onFinished: (outcome, state, startedAt) => metrics.sagaFinished(outcome, state, (Date.now() - Date.parse(startedAt)) / 1_000),
      // Counted where one is recorded: a saga closed by the orphan sweeper ends FAILED without one.
      onDeadLetter: () => metrics.deadLetters.inc({ source: 'saga' }),
    },
  });
  const idempotency = createIdempotencyStore(pool, { ttlHours: config.IDEMPOTENCY_TTL_HOURS, lockSeconds: config.IDEMPOTENCY_LOCK_SECONDS });
  const useCases = createOrderUseCases({
    catalog,
    orders: downstream.orders,
    sagas,
    runner,
    destinations: { orderEventsTopic: topics.orderEvents, source: '/orderflow/orchestrator' },
    watchdogMs: config.SAGA_WATCHDOG_MS,
  });
  // Counted here, where metrics are wired: `orderflow_orders_total{outcome="placed"}` per order accepted.
  const orders: OrderUseCases = {
    ...useCases,
    async placeOrder(...args) {
      const order = await useCases.placeOrder(...args);
      metrics.ordersByOutcome.inc({ outcome: 'placed' });
      return order;
    },
  };

  const consumers = [
    createEventConsumer({
      kafka,
      groupId: consumerGroup('orchestrator.saga', prefix),
      topics: [topics.orderEvents],
      producer,
      logger,
      logFields: (event): LogFields => (event.subject ? { orderId: event.subject } : {}),
      // The backstop for sagas this process did not start (placement starts them in-process): it can
      // wait for 64 KiB of facts (or a second) per fetch instead of fetching after every fact.
      fetchMinBytes: 64 * 1024,
      handle: async (event) => {
        if (event.type === 'order.placed' && event.subject) await runner.resumeInBackground(event.subject);
      },
    }),
    createEventConsumer({
      kafka,
      groupId: consumerGroup('orchestrator.catalog', prefix),
      topics: [topics.inventoryEvents],
      producer,
      logger,
      // Not awaited: this replica bypasses the stale keys at once, and one Redis DEL then takes the keys
      // of every fact consumed meanwhile instead of one DEL per fact (catalog.ts `invalidate`).
      handle: async (event) => void catalog.invalidate(staleProducts(event)),
    }),
    createWebhookDispatcher({
      kafka,
      producer,
      groupId: consumerGroup('orchestrator.webhooks', prefix),
      topics: [topics.orderEvents, topics.inventoryEvents],
      repo: webhooks,
      logger,
    }),
  ];
  const webhookDeliveries = createDeliveryWorker({
    amqpUrl: config.AMQP_URL,
    prefix,
    repo: webhooks,
    logger,
    concurrency: config.WEBHOOK_CONCURRENCY,
    perSubscription: config.WEBHOOK_MAX_IN_FLIGHT_PER_SUBSCRIPTION,
    timeoutMs: config.WEBHOOK_TIMEOUT_MS,
    allowPrivate: config.WEBHOOK_ALLOW_PRIVATE,
  });

  const deadLetters = createDeadLetterRepository(pool);
  const replay = createReplay({ repo: deadLetters, producer, rabbit });
  const collector = createDeadLetterCollector({
    kafka,
    dlqTopics: [topics.orderEventsDlq, topics.inventoryEventsDlq],
    groupId: consumerGroup('orchestrator.dead-letters', prefix),
    amqpUrl: config.AMQP_URL,
    prefix,
    repo: deadLetters,
    logger,
    onRecorded: (source) => metrics.deadLetters.inc({ source }),
    onUnrecordable: (source, outcome) => metrics.deadLettersUnrecordable.inc({ source, outcome }),
  });

  const apiKeys = createApiKeyStore(pool);
  const rateLimits = createRateLimits(redis, {
    perAddressPerMinute: config.RATE_LIMIT_PER_IP_PER_MINUTE,
    perCallerPerMinute: config.RATE_LIMIT_PER_MINUTE,
    perKeyPerMinute: config.API_KEY_RATE_PER_MINUTE,
    burstPerSecond: config.RATE_LIMIT_BURST_PER_SECOND,
    keyPrefix: prefix,
    logger,
    errors: metrics.rateLimiterErrors,
    guard: breakers.redis,
  });
  // The ops server (and its health monitor) starts after the API; until then the database counts as up.
  const health: { monitor?: HealthMonitor } = {};
  const app = createHttpApp({
    auth: config,
    orders,
    catalog,
    inventory: downstream.inventory,
    sagas,
    idempotency,
    admin: {
      sagaOperations: createSagaOperations(pool),
      resume: runner.resume,
      deadLetters,
      replay,
      audit: createAuditLog(pool),
      apiKeys,
      webhooks,
      webhooksAllowPrivate: config.WEBHOOK_ALLOW_PRIVATE,
      transaction: (work) => inTransaction(pool, work),
      stats: () => collectStats(pool, () => health.monitor?.status().dependencies ?? []),
    },
    apiKeys: apiKeys.authenticate,
    trustProxy: trustProxySetting(config.TRUST_PROXY),
    rateLimits,
    requestLog: requestLog(logger),
    httpMetrics: httpMetrics(registry),
    databaseDown: () => health.monitor?.readiness().down.includes(postgresCheck.name) ?? false,
    logger,
  });
  const http = await listen(app, config.HTTP_HOST, config.HTTP_PORT);
  // Ops routes as soon as the API serves (joining the consumer groups below can take ~30 s after a
  // crash). Every check runs in the background over a long-lived connection (the app's own, or one
  // of the check's), never one per request; ops.close() ends those the checks hold.
  const ops = await serveOps({
    service: 'orchestrator',
    checks: [
      postgresCheck,
      redisCheck,
      kafkaCheck,
      { name: 'rabbitmq', check: rabbit.check },
      grpcHealthCheck('grpc:order', config.ORDER_GRPC_ADDRESS),
      grpcHealthCheck('grpc:inventory', config.INVENTORY_GRPC_ADDRESS),
    ],
    registry,
    logger,
    config,
    port: config.OPS_PORT,
    portVariable: 'OPS_PORT',
    sources: { breakers: breakers.states, outbox: () => outboxStatus(pool), consumerLag: consumerLag.read },
  });
  health.monitor = ops.monitor;

  for (const relay of relays) relay.start();
  // Before the consumers: their start() waits to join the group, which after a crash takes until the
  // dead member's session expires (~30 s); sagas are durable and must resume (poller) meanwhile.
  runner.start();
  await Promise.all(consumers.map((c) => c.start()));
  await collector.start();
  await webhookDeliveries.start();
  const purge = setInterval(() => {
    idempotency.purgeExpired().then(
      (n) => n && logger.info({ purged: n }, 'expired idempotency keys purged'),
      (error: unknown) => logger.warn({ err: error }, 'idempotency purge failed'),
    );
  }, config.IDEMPOTENCY_PURGE_INTERVAL_SECONDS * 1_000);
  const retention = createRetentionJob({ pool, jobs: retentionPolicies(config), intervalMs: config.RETENTION_INTERVAL_SECONDS * 1_000, logger, registry });
  retention.start();
  const orphans = createOrphanSweeper({
    pool,
    orders: downstream.orders,
    sagas,
    runner,
    orphanAfterSeconds: config.ORPHAN_ORDER_SECONDS,
    watchdogMs: config.SAGA_WATCHDOG_MS,
    logger,
  });
  orphans.start(Math.min(60, config.ORPHAN_ORDER_SECONDS / 2) * 1_000);
  logger.info({ httpPort: http.port, opsPort: ops.port }, 'orchestrator ready');

  return {
    async stop() {
      ops.stopAccepting();
      clearInterval(purge);
      orphans.stop();
      await retention.stop();
      await delay(config.SHUTDOWN_DRAIN_MS); // /readyz answers 503 meanwhile: load balancers stop sending
      await closeServer(http.server);
      // Consumers commit what they handled and leave their groups; sagas in hand reach their next commit.
      await Promise.all([...consumers.map((c) => c.stop()), collector.stop(), webhookDeliveries.stop()]);
      await runner.stop();
      await Promise.all(relays.map((r) => r.stop()));
      await consumerLag.close();
      await producer.disconnect();
      await rabbit.close();
      downstream.close();
      breakers.shutdown();
      await ops.close();
      redis.disconnect();
      await pool.end();
    },
  };
});
