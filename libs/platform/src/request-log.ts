import type { RequestHandler, Response } from 'express';
import type { Level, Logger } from 'pino';
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
 *
 * Kept cheap for the requests whose line the level drops (at `warn`, every accepted order): pino-http
 * then only makes its one request child logger, where it made four (request id, request, empty props,
 * response props) and built the line for nothing. Nothing reads `req.log`; lines carry the trace id.
 */
export function requestLog(logger: Logger): RequestHandler {
  const levelOf = (url: string | undefined, status: number, error: unknown): Level => {
    if (error || status >= 500) return 'error';
    if (/^\/(healthz|readyz|metrics)$/.test(url ?? '')) return 'debug';
    return status >= 400 ? 'warn' : 'info';
  };
  return pinoHttp({
    logger,
    customLogLevel: (req, res, error) => {
      const level = levelOf(req.url, res.statusCode, error);
      return logger.isLevelEnabled(level) ? level : 'silent';
    },
    customSuccessMessage: (req, res) => `${req.method} ${pathOf(req)} ${res.statusCode}`,
    customErrorMessage: (req, res) => `${req.method} ${pathOf(req)} ${res.statusCode}`,
    // Undefined until a handler annotates: no child logger for empty props.
    customProps: (_req, res) => (res as unknown as Response).locals?.[FIELDS] as LogFields,
    serializers: {
      req: (req: { method: string; url: string; originalUrl?: string }) => ({ method: req.method, path: pathOf(req) }),
      res: (res: { statusCode: number }) => ({ status: res.statusCode }),
    },
    wrapSerializers: false,
  }) as unknown as RequestHandler;
}
