import { checkKafkaEnv, commonEnv, drainEnv, env, kafkaEnv, outboxRetentionEnv, parseEnv, retentionEnv } from '@orderflow/config';

/** Everything the inventory service reads from env, validated once at start-up. */
export const inventoryEnv = {
  ...commonEnv,
  ...drainEnv,
  ...kafkaEnv,
  HTTP_HOST: env.string('0.0.0.0', 'Interface the ops HTTP server binds'),
  HTTP_PORT: env.port(8082, 'Ops HTTP port: /healthz, /readyz, /status, /metrics'),
  PG_POOL_SIZE: env.int(10, 1, 1_000, 'Connections in the Postgres pool of each replica (the README budget: replicas × connections must fit max_connections)'),
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
export function postgresConnections(config: Pick<InventoryConfig, 'PG_POOL_SIZE'>): { pool: number; dedicated: number } {
  return { pool: config.PG_POOL_SIZE, dedicated: 2 };
}
