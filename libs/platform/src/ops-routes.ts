import express, { Router } from 'express';
import { httpMetrics } from './http-metrics';
import { closeServer, listen } from './listen';
import type { Registry } from 'prom-client';
import { checkDependencies, type DependencyCheck } from './readiness';

export interface OpsOptions {
  checks: DependencyCheck[];
  registry: Registry;
  /** Answers false once shutdown begins, so load balancers stop sending before the process exits. */
  accepting?: () => boolean;
  checkTimeoutMs?: number;
}

/** `/healthz` (process alive), `/readyz` (dependencies answer) and `/metrics` (Prometheus text). */
export function opsRoutes({ checks, registry, accepting = () => true, checkTimeoutMs = 2_000 }: OpsOptions): Router {
  const router = Router();
  router.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });
  router.get('/readyz', async (_req, res) => {
    const dependencies = await checkDependencies(checks, checkTimeoutMs);
    const down = dependencies.filter((d) => !d.ok).map((d) => d.name);
    if (!accepting()) down.unshift('shutting-down');
    res.status(down.length ? 503 : 200).json({ status: down.length ? 'unavailable' : 'ready', down, dependencies });
  });
  router.get('/metrics', async (_req, res) => {
    res.type(registry.contentType).send(await registry.metrics());
  });
  return router;
}

export interface OpsServer {
  port: number;
  /** `/readyz` answers 503 from now on (the first step of a drain). */
  stopAccepting(): void;
  close(): Promise<void>;
}

/** The ops-only HTTP server of a process without an API of its own: ops routes with request metrics, listening. */
export async function serveOps(options: Omit<OpsOptions, 'accepting'> & { host: string; port: number }): Promise<OpsServer> {
  let accepting = true;
  const app = express().use(httpMetrics(options.registry), opsRoutes({ ...options, accepting: () => accepting }));
  const { server, port } = await listen(app, options.host, options.port);
  return { port, stopAccepting: () => void (accepting = false), close: () => closeServer(server) };
}
