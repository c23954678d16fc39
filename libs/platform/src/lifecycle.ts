import { setTimeout as delay } from 'node:timers/promises';
import type { Logger } from 'pino';
import { redactSecrets } from '@orderflow/config';
import { checkDependencies, type DependencyCheck } from './readiness';
import { createLogger } from './logger';
import { flushTelemetry } from './trace-context';

/** What a composition root hands back: how to stop everything it started, newest first. */
export interface RunningApp {
  stop(): Promise<void>;
}

export interface RunOptions {
  logger: Logger;
  shutdownTimeoutMs: number;
}

/**
 * Process warnings (a deprecation, a negative timer delay a dependency asked for…) as lines of the
 * app's JSON log instead of Node's plain-text lines on stderr, which log pipelines cannot parse.
 * kafkajs 2.2.4 arms its throttle timer with a negative delay whenever nothing is pending (Node 22+
 * warns and waits 1 ms): known and harmless, so at debug.
 */
export function logProcessWarnings(logger: Logger): void {
  process.removeAllListeners('warning'); // Node's own printer
  process.on('warning', (warning) => {
    const known = warning.name === 'TimeoutNegativeWarning';
    logger[known ? 'debug' : 'warn']({ warning: { name: warning.name, message: warning.message } }, 'process warning');
  });
}

/**
 * Runs an app's start function and owns the process from then on: a start-up failure prints one
 * clear line and exits 1; SIGTERM/SIGINT stop the app (bounded by the timeout) and exit 0.
 */
export async function runApp(start: () => Promise<RunningApp>, { logger, shutdownTimeoutMs }: RunOptions): Promise<void> {
  logProcessWarnings(logger);
  let app: RunningApp;
  try {
    app = await start();
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    logger.fatal({ err: error }, `start-up failed: ${message}`);
    process.stderr.write(`${logger.bindings().service ?? 'app'}: start-up failed: ${message}\n`);
    process.exit(1);
  }
  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down');
    const forced = setTimeout(() => {
      logger.error({ timeoutMs: shutdownTimeoutMs }, 'shutdown timed out; exiting');
      process.exit(1);
    }, shutdownTimeoutMs);
    forced.unref();
    try {
      await app.stop();
      logger.info('stopped');
      await flushTelemetry();
      process.exit(0);
    } catch (error) {
      logger.error({ err: error }, 'shutdown failed');
      process.exit(1);
    }
  };
  process.once('SIGTERM', () => void shutdown('SIGTERM'));
  process.once('SIGINT', () => void shutdown('SIGINT'));
}

/**
 * Waits until every dependency answers, up to `timeoutMs`; then throws naming each one still down.
 * Start-up uses this so a wrong URL fails loudly instead of leaving a process that never gets ready.
 */
export async function waitForDependencies(checks: DependencyCheck[], timeoutMs: number, logger: Logger): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (let attempt = 1; ; attempt++) {
    const down = (await checkDependencies(checks)).filter((d) => !d.ok);
    if (down.length === 0) return;
    if (Date.now() >= deadline) {
      throw new Error(`cannot reach ${down.map((d) => `${d.name} (${d.error})`).join(', ')}`);
    }
    if (attempt === 1) logger.warn({ down: down.map((d) => d.name) }, 'waiting for dependencies');
    await delay(Math.min(500, Math.max(0, deadline - Date.now())));
  }
}

/**
 * The shape of every `main.ts`: parse config (a bad variable prints one clear message and exits 1),
 * build the logger, then hand over to `runApp`.
 */
export function bootMain<C extends { LOG_LEVEL: string; SHUTDOWN_TIMEOUT_MS: number }>(
  service: string,
  loadConfig: () => C,
  start: (config: C, logger: Logger) => Promise<RunningApp>,
): void {
  let config: C;
  try {
    config = loadConfig();
  } catch (error) {
    // Whatever the loader's message echoes (a mistyped URL, a cross-field check), no secret reaches the terminal.
    process.stderr.write(`${service}: ${redactSecrets(error instanceof Error ? error.message : String(error))}\n`);
    process.exit(1);
  }
  const logger = createLogger(service, config.LOG_LEVEL);
  void runApp(() => start(config, logger), { logger, shutdownTimeoutMs: config.SHUTDOWN_TIMEOUT_MS });
}
