import { checkKafkaEnv, commonEnv, drainEnv, env, kafkaEnv, outboxRetentionEnv, parseEnv, retentionEnv } from '@orderflow/config';

/** Everything the inventory service reads from env, validated once at start-up. */
export const inventoryEnv = {
  ...commonEnv,
  ...drainEnv,
  ...kafkaEnv,
  HTTP_HOST: env.string('0.0.0.0', 'Interface the ops HTTP server binds'),
  HTTP_PORT: env.port(8082, 'Ops HTTP port: /healthz, /readyz, /status, /metrics'),
  GRPC_HOST: env.string('0.0.0.0', 'Interface the gRPC server binds'),
  GRPC_PORT: env.port(50052, 'gRPC port of orderflow.inventory.v1.InventoryService'),
  ...retentionEnv,
  ...outboxRetentionEnv,
};

export type InventoryConfig = ReturnType<typeof loadInventoryConfig>;

export function loadInventoryConfig(source: NodeJS.ProcessEnv = process.env) {
  const config = parseEnv(inventoryEnv, source);
  checkKafkaEnv(config);
  return config;
}

/** Postgres connections one inventory replica holds at most: its pool, the outbox relay's LISTEN client and the health check's own connection. */
export function postgresConnections(_config: InventoryConfig): { pool: number; dedicated: number } {
  return { pool: 10, dedicated: 2 };
}
