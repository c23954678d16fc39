import type { Request, RequestHandler } from 'express';
import { Histogram, type Registry } from 'prom-client';

/** Buckets for request latency in seconds: 1 ms to 10 s. */
export const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/**
 * Remembers the route pattern express matched (`/v1/orders/:id`), not the raw URL, so the label stays
 * bounded. Express sets `req.route` while `req.baseUrl` is the mounting router's, and restores
 * `baseUrl` when an error unwinds, so both are captured as they are set. A request no route matched
 * (a static file, a 401 before routing) is labelled with the first router it entered (`/v1/*`).
 */
function trackRoute(req: Request): () => string {
  let route: string | undefined;
  let firstBase = '';
  let routeValue: unknown;
  let baseValue = req.baseUrl;
  Object.defineProperty(req, 'baseUrl', {
    configurable: true,
    enumerable: true,
    get: () => baseValue,
    set(value: string) {
      baseValue = value;
      if (!firstBase && value) firstBase = value;
    },
  });
  Object.defineProperty(req, 'route', {
    configurable: true,
    enumerable: true,
    get: () => routeValue,
    set(value: { path?: unknown } | undefined) {
      routeValue = value;
      if (value && typeof value.path === 'string') route = `${baseValue}${value.path === '/' && baseValue ? '' : value.path}`;
    },
  });
  return () => route ?? (firstBase ? `${firstBase}/*` : 'unmatched');
}

const HTTP_DURATION = 'orderflow_http_request_duration_seconds';

/**
 * `orderflow_http_request_duration_seconds{method,route,status_code}` for every request the app answers. Mount
 * it first, before any router. Servers of one process (the public API and the ops port) share the
 * histogram of their registry.
 */
export function httpMetrics(registry: Registry): RequestHandler {
  const duration =
    (registry.getSingleMetric(HTTP_DURATION) as Histogram<string> | undefined) ??
    new Histogram({
      name: HTTP_DURATION,
      help: 'HTTP requests by method, route pattern and status code',
      labelNames: ['method', 'route', 'status_code'],
      buckets: LATENCY_BUCKETS,
      registers: [registry],
    });
  return (req, res, next) => {
    const stop = duration.startTimer();
    const routeOf = trackRoute(req);
    res.once('finish', () => stop({ method: req.method, route: routeOf(), status_code: String(res.statusCode) }));
    next();
  };
}
