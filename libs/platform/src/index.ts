/** Process plumbing shared by every app: logging, metrics, ops endpoints, readiness, lifecycle, trace context. */
export { createLogger, type Logger } from './logger';
export { createMetricsRegistry, cachedCollect } from './metrics';
export { httpMetrics, LATENCY_BUCKETS } from './http-metrics';
export { opsRoutes, serveOps, type OpsOptions, type OpsServer, type ServeOpsOptions, type OpsConfig } from './ops-routes';
export {
  createHealthMonitor,
  type HealthMonitor,
  type HealthMonitorOptions,
  type DependencyState,
  type StatusReport,
  type StatusSources,
  type BreakerState,
  type Readiness,
} from './health-monitor';
export { appVersion } from './version';
export { listen, closeServer } from './listen';
export { bootMain, logProcessWarnings, runApp, waitForDependencies, type RunningApp, type RunOptions } from './lifecycle';
export { checkDependencies, withTimeout, type DependencyCheck } from './readiness';
export { requestLog, annotateRequestLog } from './request-log';
export {
  withLogFields,
  logContextMixin,
  currentTraceparent,
  inRemoteTrace,
  inStoredTrace,
  inProducerSpans,
  recordingSpan,
  tracingExported,
  flushTelemetry,
  type LogFields,
  type HeaderCarrier,
  type ProducedMessage,
} from './trace-context';
export { isTransientInfrastructureError } from './transient-errors';
export { backoffMs } from './backoff';
export { createGroupCommit, type GroupCommit, type GroupCommitOptions } from './group-commit';
