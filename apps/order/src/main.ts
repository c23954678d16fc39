// Composition root of the order service: config → database → use cases → gRPC + ops HTTP → shutdown.
import { setTimeout as delay } from 'node:timers/promises';
import { databaseName } from '@orderflow/config';
import { createPool, databaseUrl, postgresHealthCheck, requiredSchemaVersion, schemaCheck } from '@orderflow/db';
import { bootMain, createMetricsRegistry, serveOps, waitForDependencies } from '@orderflow/platform';
import { OrderServiceService, serveGrpc } from '@orderflow/proto';
import { loadOrderConfig, postgresConnections } from './config';
import { createOrderRepository } from './db/order-repository';
import { createOrderService } from './grpc/order-service';
import { createOrderUseCases } from './orders';

bootMain('order', loadOrderConfig, async (config, logger) => {
  const pool = createPool(databaseUrl(config.DATABASE_URL, databaseName('order', config.RESOURCE_PREFIX)), postgresConnections(config).pool, config);
  const checks = [postgresHealthCheck(pool)];
  await waitForDependencies([...checks, schemaCheck(pool, requiredSchemaVersion)], config.STARTUP_TIMEOUT_MS, logger);

  const registry = createMetricsRegistry('order');
  const orders = createOrderUseCases(createOrderRepository(pool));
  const grpc = await serveGrpc({
    logger,
    registry,
    host: config.GRPC_HOST,
    port: config.GRPC_PORT,
    protoFiles: ['orderflow/order/v1/order.proto'],
    register: (server) => server.addService(OrderServiceService, createOrderService(orders, logger)),
  });

  const ops = await serveOps({ service: 'order', checks, registry, logger, config, port: config.HTTP_PORT });
  logger.info({ grpcPort: grpc.port, httpPort: ops.port }, 'order service ready');

  return {
    async stop() {
      ops.stopAccepting();
      grpc.notServing();
      await delay(config.SHUTDOWN_DRAIN_MS); // not ready meanwhile: clients' name resolution drops this instance first
      await grpc.stop(config.SHUTDOWN_TIMEOUT_MS / 2);
      await ops.close();
      await pool.end();
    },
  };
});
