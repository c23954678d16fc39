/** Postgres plumbing: pools, per-service databases, migrations. */
export { createPool, inTransaction, postgresHealthCheck, requiredSchemaVersion, schemaCheck } from './pool';
export { ensureDatabase, dropDatabase, databaseUrl } from './databases';
export { migrate, SERVICES, type Service, type MigrateOptions } from './migrate';
