import express, { Router } from 'express';
import type { Registry } from 'prom-client';
import { createHealthMonitor, type HealthMonitor, type HealthMonitorOptions } from './health-monitor';
import { httpMetrics } from './http-metrics';
import { closeServer, listen } from './listen';
import { appVersion } from './version';

export interface OpsOptions {
  monitor: HealthMonitor;
  registry: Registry;
}

/**
 * `/healthz` (process alive), `/readyz` (this process can do its own job now), `/status` (every
 * dependency, breaker, outbox and lag) and `/metrics`. Readiness and status answer from the health
 * monitor's last background round, so no request ever opens a connection or waits on a dependency.
 */
export function opsRoutes({ monitor, registry }: OpsOptions): Router {
  const router = Router();
  router.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });
  router.get('/readyz', (_req, res) => {
    const { ready, down } = monitor.readiness();
    res.status(ready ? 200 : 503).json({ status: ready ? 'ready' : 'unavailable', down });
  });
  router.get('/status', (_req, res) => {
    res.set('Cache-Control', 'no-store').json(monitor.status());
  });
  router.get('/metrics', async (_req, res) => {
    res.type(registry.contentType).send(await registry.metrics());
  });
  return router;
}

export interface OpsServer {
  port: number;
  monitor: HealthMonitor;
  /** `/readyz` answers 503 from now on (the first step of a drain). */
  stopAccepting(): void;
  close(): Promise<void>;
}

/** The settings every app's config has for its ops server (commonEnv and HTTP_HOST). */
export interface OpsConfig {
  HTTP_HOST: string;
  STATUS_CHECK_INTERVAL_MS: number;
  STATUS_CHECK_TIMEOUT_MS: number;
}

export interface ServeOpsOptions extends Omit<HealthMonitorOptions, 'requiredForReadiness' | 'version' | 'intervalMs' | 'timeoutMs'> {
  registry: Registry;
  config: OpsConfig;
  port: number;
  /** The env variable of the port, named when it is taken (HTTP_PORT, OPS_PORT). */
  portVariable?: string;
  /** Checks readiness needs; default `postgres`, the process's own database. */
  requiredForReadiness?: string[];
}

/**
 * The ops HTTP server of a process, called once start-up is done: runs the first round of the
 * background checks, then serves the ops routes (with request metrics) on their own port, never the
 * public one.
 */
export async function serveOps({ config, port, portVariable, requiredForReadiness = ['postgres'], ...options }: ServeOpsOptions): Promise<OpsServer> {
  const monitor = createHealthMonitor({
    ...options,
    version: appVersion,
    requiredForReadiness,
    intervalMs: config.STATUS_CHECK_INTERVAL_MS,
    timeoutMs: config.STATUS_CHECK_TIMEOUT_MS,
  });
  await monitor.start();
  const app = express()
    .disable('x-powered-by')
    .use(httpMetrics(options.registry), opsRoutes({ monitor, registry: options.registry }));
  const { server, port: bound } = await listen(app, config.HTTP_HOST, port, portVariable);
  monitor.markStarted();
  return {
    port: bound,
    monitor,
    stopAccepting: () => monitor.markDraining(),
    async close() {
      await closeServer(server);
      await monitor.stop();
    },
  };
}
