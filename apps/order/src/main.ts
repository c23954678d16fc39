// Composition root of the order service: config → database → use cases → gRPC + ops HTTP → shutdown.
import express from 'express';
import { databaseName } from '@orderflow/config';
import { createPool, databaseUrl, postgresHealthCheck } from '@orderflow/db';
import { bootMain, closeServer, createMetricsRegistry, listen, opsRoutes, waitForDependencies } from '@orderflow/platform';
import { createGrpcServer, createHealthService, HealthService, OrderServiceService, startGrpcServer, stopGrpcServer } from '@orderflow/proto';
import { loadOrderConfig } from './config';
import { createOrderRepository } from './db/order-repository';
import { createOrderService } from './grpc/order-service';
import { createOrderUseCases } from './orders';

bootMain('order', loadOrderConfig, async (config, logger) => {
  const pool = createPool(databaseUrl(config.DATABASE_URL, databaseName('order', config.RESOURCE_PREFIX)));
  const checks = [postgresHealthCheck(pool)];
  await waitForDependencies(checks, config.STARTUP_TIMEOUT_MS, logger);

  const orders = createOrderUseCases(createOrderRepository(pool));
  const health = createHealthService();
  const grpcServer = createGrpcServer({ logger });
  grpcServer.addService(OrderServiceService, createOrderService(orders));
  grpcServer.addService(HealthService, health.implementation);
  const grpcPort = await startGrpcServer(grpcServer, config.GRPC_HOST, config.GRPC_PORT);

  let accepting = true;
  const ops = express().use(opsRoutes({ checks, registry: createMetricsRegistry('order'), accepting: () => accepting }));
  const http = await listen(ops, config.HTTP_HOST, config.HTTP_PORT);
  logger.info({ grpcPort, httpPort: http.port }, 'order service ready');

  return {
    async stop() {
      accepting = false;
      health.shutdown();
      await stopGrpcServer(grpcServer, config.SHUTDOWN_TIMEOUT_MS / 2);
      await closeServer(http.server);
      await pool.end();
    },
  };
});
