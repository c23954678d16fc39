// Composition root of the order service: config → database → use cases → gRPC + ops HTTP → shutdown.
import { setTimeout as delay } from 'node:timers/promises';
import express from 'express';
import { databaseName } from '@orderflow/config';
import { createPool, databaseUrl, postgresHealthCheck, requiredSchemaVersion, schemaCheck } from '@orderflow/db';
import { bootMain, closeServer, createMetricsRegistry, httpMetrics, listen, opsRoutes, waitForDependencies } from '@orderflow/platform';
import { createGrpcServer, createHealthService, grpcServerMetrics, HealthService, OrderServiceService, startGrpcServer, stopGrpcServer } from '@orderflow/proto';
import { loadOrderConfig } from './config';
import { createOrderRepository } from './db/order-repository';
import { createOrderService } from './grpc/order-service';
import { createOrderUseCases } from './orders';

bootMain('order', loadOrderConfig, async (config, logger) => {
  const pool = createPool(databaseUrl(config.DATABASE_URL, databaseName('order', config.RESOURCE_PREFIX)));
  const checks = [postgresHealthCheck(pool)];
  await waitForDependencies([...checks, schemaCheck(pool, requiredSchemaVersion)], config.STARTUP_TIMEOUT_MS, logger);

  const registry = createMetricsRegistry('order');
  const orders = createOrderUseCases(createOrderRepository(pool));
  const health = createHealthService();
  const grpcServer = createGrpcServer({ logger, interceptors: [grpcServerMetrics(registry)] });
  grpcServer.addService(OrderServiceService, createOrderService(orders, logger));
  grpcServer.addService(HealthService, health.implementation);
  const grpcPort = await startGrpcServer(grpcServer, config.GRPC_HOST, config.GRPC_PORT);

  let accepting = true;
  const ops = express().use(httpMetrics(registry), opsRoutes({ checks, registry, accepting: () => accepting }));
  const http = await listen(ops, config.HTTP_HOST, config.HTTP_PORT);
  logger.info({ grpcPort, httpPort: http.port }, 'order service ready');

  return {
    async stop() {
      accepting = false;
      health.shutdown();
      await delay(config.SHUTDOWN_DRAIN_MS); // not ready meanwhile: clients' name resolution drops this instance first
      await stopGrpcServer(grpcServer, config.SHUTDOWN_TIMEOUT_MS / 2);
      await closeServer(http.server);
      await pool.end();
    },
  };
});
