/** Postgres plumbing: pools, per-service databases, migrations. */
export {
  createPool,
  DEFAULT_POOL_TIMEOUTS,
  inTransaction,
  postgresHealthCheck,
  prepared,
  requiredSchemaVersion,
  rollbackTransaction,
  schemaCheck,
  type PoolTimeouts,
} from './pool';
export { ensureDatabase, dropDatabase, databaseUrl } from './databases';
export { migrate, SERVICES, type Service, type MigrateOptions } from './migrate';
/** Bounded life for tables that grow with traffic: batched purges, one replica at a time. */
export {
  createRetentionJob,
  purgeByAge,
  type RetentionJob,
  type RetentionJobOptions,
  type RetentionPolicy,
  type RetentionRound,
  type Queryable,
} from './retention';
