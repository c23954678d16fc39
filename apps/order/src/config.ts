import { commonEnv, drainEnv, env, parseEnv } from '@orderflow/config';

/** Everything the order service reads from env, validated once at start-up. */
export const orderEnv = {
  ...commonEnv,
  ...drainEnv,
  HTTP_HOST: env.string('0.0.0.0', 'Interface the ops HTTP server binds'),
  HTTP_PORT: env.port(8081, 'Ops HTTP port: /healthz, /readyz, /status, /metrics'),
  GRPC_HOST: env.string('0.0.0.0', 'Interface the gRPC server binds'),
  GRPC_PORT: env.port(50051, 'gRPC port of the service (OrderService, InventoryService) and grpc.health.v1'),
};

export type OrderConfig = ReturnType<typeof loadOrderConfig>;

export function loadOrderConfig(source: NodeJS.ProcessEnv = process.env) {
  return parseEnv(orderEnv, source);
}

/** Postgres connections one order replica holds at most: its pool and the health check's own connection. */
export function postgresConnections(_config: OrderConfig): { pool: number; dedicated: number } {
  return { pool: 10, dedicated: 1 };
}
