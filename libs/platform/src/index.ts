/** Process plumbing shared by every app: logging, metrics, ops endpoints, readiness, lifecycle. */
export { createLogger, type Logger } from './logger';
export { createMetricsRegistry } from './metrics';
export { opsRoutes, type OpsOptions } from './ops-routes';
export { listen, closeServer } from './listen';
export { bootMain, runApp, waitForDependencies, type RunningApp, type RunOptions } from './lifecycle';
export { checkDependencies, withTimeout, type DependencyCheck, type DependencyStatus } from './readiness';
export { requestLog } from './request-log';
