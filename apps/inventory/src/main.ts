// Composition root of the inventory service: config → database + Kafka → use cases → gRPC + ops HTTP
// → outbox relay (stock.* facts) → shutdown.
import { setTimeout as delay } from 'node:timers/promises';
import { databaseName } from '@orderflow/config';
import { topicNames } from '@orderflow/domain';
import { createPool, createRetentionJob, databaseUrl, postgresHealthCheck, requiredSchemaVersion, schemaCheck } from '@orderflow/db';
import {
  createIdempotentProducer,
  createKafka,
  kafkaConnection,
  createOutboxRelay,
  createOutboxWriter,
  ensureTopics,
  kafkaHealthCheck,
  kafkaOutboxPublisher,
  outboxStatus,
  purgePublishedOutbox,
  registerOutboxMetrics,
} from '@orderflow/messaging';
import { bootMain, createMetricsRegistry, serveOps, waitForDependencies } from '@orderflow/platform';
import { InventoryServiceService, serveGrpc } from '@orderflow/proto';
import { loadInventoryConfig, postgresConnections } from './config';
import { createStockRepository } from './db/stock-repository';
import { createInventoryService } from './grpc/inventory-service';
import { createStockUseCases } from './stock';

bootMain('inventory', loadInventoryConfig, async (config, logger) => {
  const dbUrl = databaseUrl(config.DATABASE_URL, databaseName('inventory', config.RESOURCE_PREFIX));
  const pool = createPool(dbUrl, postgresConnections(config).pool, config);
  const kafkaConn = kafkaConnection(config);
  const kafkaCheck = kafkaHealthCheck(kafkaConn, config.STATUS_CHECK_TIMEOUT_MS);
  const checks = [postgresHealthCheck(pool), kafkaCheck];
  await waitForDependencies([...checks, schemaCheck(pool, requiredSchemaVersion)], config.STARTUP_TIMEOUT_MS, logger);

  const kafka = createKafka({ ...kafkaConn, clientId: 'inventory', logger });
  await ensureTopics(kafka, Object.values(topicNames(config.RESOURCE_PREFIX)), { partitions: config.KAFKA_TOPIC_PARTITIONS });
  const producer = createIdempotentProducer(kafka);
  await producer.connect();
  const relay = createOutboxRelay({ pool, databaseUrl: dbUrl, destination: 'kafka', publish: kafkaOutboxPublisher(producer), logger });
  relay.start();

  const registry = createMetricsRegistry('inventory');
  registerOutboxMetrics(registry, pool);
  const stock = createStockUseCases(createStockRepository(pool, createOutboxWriter([relay])), { topic: topicNames(config.RESOURCE_PREFIX).inventoryEvents });
  const grpc = await serveGrpc({
    logger,
    registry,
    host: config.GRPC_HOST,
    port: config.GRPC_PORT,
    protoFiles: ['orderflow/inventory/v1/inventory.proto'],
    register: (server) => server.addService(InventoryServiceService, createInventoryService(stock, logger)),
  });

  const ops = await serveOps({
    service: 'inventory',
    checks,
    registry,
    logger,
    config,
    port: config.HTTP_PORT,
    sources: { outbox: () => outboxStatus(pool) },
  });
  const retention = createRetentionJob({
    pool,
    jobs: [{ name: 'outbox', olderThanMs: config.OUTBOX_RETENTION_HOURS * 3_600_000, purge: purgePublishedOutbox }],
    intervalMs: config.RETENTION_INTERVAL_SECONDS * 1_000,
    logger,
    registry,
  });
  retention.start();
  logger.info({ grpcPort: grpc.port, httpPort: ops.port }, 'inventory service ready');

  return {
    async stop() {
      ops.stopAccepting();
      grpc.notServing();
      await delay(config.SHUTDOWN_DRAIN_MS); // not ready meanwhile: clients' name resolution drops this instance first
      await grpc.stop(config.SHUTDOWN_TIMEOUT_MS / 2);
      await retention.stop();
      await relay.stop();
      await producer.disconnect();
      await ops.close();
      await pool.end();
    },
  };
});
