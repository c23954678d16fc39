import { commonEnv, drainEnv, env, parseEnv } from '@orderflow/config';

/** Everything the order service reads from env, validated once at start-up. */
export const orderEnv = {
  ...commonEnv,
  ...drainEnv,
  HTTP_HOST: env.string('0.0.0.0', 'Interface the ops HTTP server binds'),
  HTTP_PORT: env.port(8081, 'Ops HTTP port: /healthz, /readyz, /status, /metrics'),
  PG_POOL_SIZE: env.int(10, 1, 1_000, 'Connections in the Postgres pool of each replica (the README budget: replicas × connections must fit max_connections)'),
  GRPC_HOST: env.string('0.0.0.0', 'Interface the gRPC server binds'),
  GRPC_PORT: env.port(50051, 'gRPC port of the service (OrderService, InventoryService) and grpc.health.v1'),
};

export type OrderConfig = ReturnType<typeof loadOrderConfig>;

export function loadOrderConfig(source: NodeJS.ProcessEnv = process.env) {
  return parseEnv(orderEnv, source);
}

/** Postgres connections one order replica holds at most: its pool and the health check's own connection. */
export function postgresConnections(config: Pick<OrderConfig, 'PG_POOL_SIZE'>): { pool: number; dedicated: number } {
  return { pool: config.PG_POOL_SIZE, dedicated: 1 };
}
