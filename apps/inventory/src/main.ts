// Composition root of the inventory service: config → database + Kafka → use cases → gRPC + ops HTTP
// → outbox relay (stock.* facts) → shutdown.
import { setTimeout as delay } from 'node:timers/promises';
import express from 'express';
import { databaseName } from '@orderflow/config';
import { createPool, databaseUrl, postgresHealthCheck, requiredSchemaVersion, schemaCheck } from '@orderflow/db';
import {
  createIdempotentProducer,
  createKafka,
  kafkaConnection,
  createOutboxRelay,
  createOutboxWriter,
  ensureTopics,
  kafkaHealthCheck,
  kafkaOutboxPublisher,
  registerOutboxMetrics,
  topicNames,
} from '@orderflow/messaging';
import { bootMain, closeServer, createMetricsRegistry, httpMetrics, listen, opsRoutes, waitForDependencies } from '@orderflow/platform';
import { createGrpcServer, createHealthService, grpcServerMetrics, HealthService, InventoryServiceService, startGrpcServer, stopGrpcServer } from '@orderflow/proto';
import { loadInventoryConfig } from './config';
import { createStockRepository } from './db/stock-repository';
import { createInventoryService } from './grpc/inventory-service';
import { createStockUseCases } from './stock';

bootMain('inventory', loadInventoryConfig, async (config, logger) => {
  const dbUrl = databaseUrl(config.DATABASE_URL, databaseName('inventory', config.RESOURCE_PREFIX));
  const pool = createPool(dbUrl);
  const kafkaConn = kafkaConnection(config);
  const checks = [postgresHealthCheck(pool), kafkaHealthCheck(kafkaConn)];
  await waitForDependencies([...checks, schemaCheck(pool, requiredSchemaVersion)], config.STARTUP_TIMEOUT_MS, logger);

  const kafka = createKafka({ ...kafkaConn, clientId: 'inventory', logger });
  await ensureTopics(kafka, { prefix: config.RESOURCE_PREFIX, partitions: config.KAFKA_TOPIC_PARTITIONS });
  const producer = createIdempotentProducer(kafka);
  await producer.connect();
  const relay = createOutboxRelay({ pool, databaseUrl: dbUrl, destination: 'kafka', publish: kafkaOutboxPublisher(producer), logger });
  relay.start();

  const registry = createMetricsRegistry('inventory');
  registerOutboxMetrics(registry, pool);
  const stock = createStockUseCases(createStockRepository(pool, createOutboxWriter([relay])), { topic: topicNames(config.RESOURCE_PREFIX).inventoryEvents });
  const health = createHealthService();
  const grpcServer = createGrpcServer({ logger, interceptors: [grpcServerMetrics(registry)] });
  grpcServer.addService(InventoryServiceService, createInventoryService(stock, logger));
  grpcServer.addService(HealthService, health.implementation);
  const grpcPort = await startGrpcServer(grpcServer, config.GRPC_HOST, config.GRPC_PORT);

  let accepting = true;
  const ops = express().use(httpMetrics(registry), opsRoutes({ checks, registry, accepting: () => accepting }));
  const http = await listen(ops, config.HTTP_HOST, config.HTTP_PORT);
  logger.info({ grpcPort, httpPort: http.port }, 'inventory service ready');

  return {
    async stop() {
      accepting = false;
      health.shutdown();
      await delay(config.SHUTDOWN_DRAIN_MS); // not ready meanwhile: clients' name resolution drops this instance first
      await stopGrpcServer(grpcServer, config.SHUTDOWN_TIMEOUT_MS / 2);
      await relay.stop();
      await producer.disconnect();
      await closeServer(http.server);
      await pool.end();
    },
  };
});
