import pino, { type Logger } from 'pino';

export type { Logger };

/** JSON-lines logger on stdout with the service name on every line; secrets are redacted. */
export function createLogger(service: string, level = 'info'): Logger {
  return pino({
    level,
    base: { service },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label) => ({ level: label }) },
    redact: {
      paths: ['authorization', 'password', 'token', 'secret', '*.authorization', '*.password', '*.token', '*.secret', 'req.headers.authorization', 'headers.authorization'],
      censor: '[redacted]',
    },
  });
}
