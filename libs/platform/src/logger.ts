import pino, { type Logger } from 'pino';
import { logContextMixin } from './trace-context';

export type { Logger };

/**
 * JSON-lines logger on stdout with the service name on every line, and `traceId`, `spanId` and
 * `orderId` (see `withLogFields`) where the active context knows them; secrets are redacted.
 */
export function createLogger(service: string, level = 'info'): Logger {
  return pino({
    level,
    base: { service },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label) => ({ level: label }) },
    mixin: (_merge, _level, logger) => logContextMixin(logger),
    redact: {
      paths: [
        'authorization',
        'password',
        'token',
        'secret',
        '*.authorization',
        '*.password',
        '*.token',
        '*.secret',
        'req.headers.authorization',
        'headers.authorization',
      ],
      censor: '[redacted]',
    },
  });
}
