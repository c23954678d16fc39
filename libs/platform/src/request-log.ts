import type { RequestHandler, Response } from 'express';
import type { Logger } from 'pino';
import { pinoHttp } from 'pino-http';
import type { LogFields } from './trace-context';

const FIELDS = 'orderflowLogFields';

// Routers rewrite req.url while routing; the log line shows the whole path (no query: it may hold cursors).
const pathOf = (req: { url?: string; originalUrl?: string }) => (req.originalUrl ?? req.url ?? '').split('?')[0];

/** Adds fields (e.g. `orderId`) to the request's log line, once a handler knows them. */
export function annotateRequestLog(res: Response, fields: LogFields): void {
  res.locals[FIELDS] = { ...(res.locals[FIELDS] as LogFields | undefined), ...fields };
}

/**
 * One JSON log line per HTTP request (pino-http) with method, path, status and duration, plus what
 * handlers added with `annotateRequestLog`. Only safe fields are logged: never headers, so tokens and
 * keys stay out of the logs. Probes log at debug.
 */
export function requestLog(logger: Logger): RequestHandler {
  return pinoHttp({
    logger,
    quietReqLogger: true,
    customLogLevel: (req, res, error) => {
      if (error || res.statusCode >= 500) return 'error';
      if (/^\/(healthz|readyz|metrics)$/.test(req.url ?? '')) return 'debug';
      return res.statusCode >= 400 ? 'warn' : 'info';
    },
    customSuccessMessage: (req, res) => `${req.method} ${pathOf(req)} ${res.statusCode}`,
    customErrorMessage: (req, res) => `${req.method} ${pathOf(req)} ${res.statusCode}`,
    customProps: (_req, res) => ((res as unknown as Response).locals?.[FIELDS] as LogFields | undefined) ?? {},
    serializers: {
      req: (req: { method: string; url: string; originalUrl?: string }) => ({ method: req.method, path: pathOf(req) }),
      res: (res: { statusCode: number }) => ({ status: res.statusCode }),
    },
    wrapSerializers: false,
  }) as unknown as RequestHandler;
}
