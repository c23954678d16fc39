import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { z } from 'zod';
import { commonEnv } from '@orderflow/config';
import * as inventory from '../../apps/inventory/src/config';
import * as notification from '../../apps/notification/src/config';
import * as orchestrator from '../../apps/orchestrator/src/config';
import * as order from '../../apps/order/src/config';

/** What every app's parsed config has in common, as far as deployment is concerned. */
export interface DeployedConfig {
  HTTP_PORT: number;
  OPS_PORT?: number;
  GRPC_PORT?: number;
  SHUTDOWN_TIMEOUT_MS: number;
  STARTUP_TIMEOUT_MS: number;
  STATUS_CHECK_INTERVAL_MS: number;
  STATUS_CHECK_TIMEOUT_MS: number;
  [name: string]: unknown;
}

/**
 * A port an app listens on: what it serves (`api`: the public REST API; `ops`: /healthz, /readyz,
 * /status, /metrics; `grpc`), the container port name the manifests give it, and the variable that sets it.
 */
export interface AppPort {
  role: 'api' | 'ops' | 'grpc';
  name: string;
  variable: 'HTTP_PORT' | 'OPS_PORT' | 'GRPC_PORT';
}

/** One of the four processes: its env schema and its own config loader (the one `main.ts` runs). */
export interface AppSpec {
  name: AppName;
  env: z.ZodRawShape;
  load: (env: Record<string, string | undefined>) => DeployedConfig;
  /** Every port it listens on; exactly one is its ops port. A `grpc` port needs a headless Service. */
  ports: AppPort[];
  /** Postgres connections one replica holds at most with this config (its pool and its own clients). */
  postgresConnections: (config: DeployedConfig) => number;
}

export type AppName = 'orchestrator' | 'order' | 'inventory' | 'notification';

// The orchestrator serves the public API on HTTP_PORT and its ops routes on OPS_PORT; the other apps
// serve only their ops routes over HTTP, on HTTP_PORT (container port `http`).
const GRPC: AppPort = { role: 'grpc', name: 'grpc', variable: 'GRPC_PORT' };
const OPS_ON_HTTP: AppPort = { role: 'ops', name: 'http', variable: 'HTTP_PORT' };

/** An app's own count of its Postgres connections (apps/<app>/src/config.ts), summed. */
const connections =
  <C>(count: (config: C) => { pool: number; dedicated: number }) =>
  (config: DeployedConfig): number => {
    const { pool, dedicated } = count(config as C);
    return pool + dedicated;
  };

export const APPS: Record<AppName, AppSpec> = {
  orchestrator: {
    name: 'orchestrator',
    env: orchestrator.orchestratorEnv,
    load: orchestrator.loadOrchestratorConfig,
    ports: [
      { role: 'api', name: 'http', variable: 'HTTP_PORT' },
      { role: 'ops', name: 'ops', variable: 'OPS_PORT' },
    ],
    postgresConnections: connections(orchestrator.postgresConnections),
  },
  order: {
    name: 'order',
    env: order.orderEnv,
    load: order.loadOrderConfig,
    ports: [GRPC, OPS_ON_HTTP],
    postgresConnections: connections(order.postgresConnections),
  },
  inventory: {
    name: 'inventory',
    env: inventory.inventoryEnv,
    load: inventory.loadInventoryConfig,
    ports: [GRPC, OPS_ON_HTTP],
    postgresConnections: connections(inventory.postgresConnections),
  },
  notification: {
    name: 'notification',
    env: notification.notificationEnv,
    load: notification.loadNotificationConfig,
    ports: [OPS_ON_HTTP],
    postgresConnections: connections(notification.postgresConnections),
  },
};

export const APP_NAMES = Object.keys(APPS) as AppName[];

export function isAppName(name: unknown): name is AppName {
  return typeof name === 'string' && name in APPS;
}

/** The port of `app` that serves `role`, if it has one. */
export function appPort(app: AppName, role: AppPort['role']): AppPort | undefined {
  return APPS[app].ports.find((p) => p.role === role);
}

/** Where probes, healthchecks and Prometheus go: the app's ops port. */
export function opsPort(app: AppName): AppPort {
  return appPort(app, 'ops')!;
}

/** The number a port has in a parsed config (or in the schema's defaults). */
export function portNumber(config: Partial<Record<AppPort['variable'], unknown>>, port: AppPort): number {
  return Number(config[port.variable]);
}

/** The command that starts an app, as the image's CMD runs it (flags to node allowed before the file). */
export function isAppCommand(app: AppName, command: string[]): boolean {
  return command[0] === 'node' && command.at(-1) === `dist/${app}/main.js` && command.slice(1, -1).every((arg) => arg.startsWith('--'));
}

/** One-shot commands of dist/tools/main.js that deployments run: the env each reads, with its default. */
export const TOOL_ENVS: Record<string, Record<string, string>> = {
  migrate: { DATABASE_URL: String(commonEnv.DATABASE_URL.parse(undefined)), RESOURCE_PREFIX: '' },
  seed: { INVENTORY_GRPC_ADDRESS: '127.0.0.1:50052' }, // tools/cli/seed.ts
};

/** The tool a command runs (`node dist/tools/main.js <tool> …`), if it is one. */
export function toolOf(command: string[]): string | undefined {
  return command[0] === 'node' && command[1] === 'dist/tools/main.js' ? command[2] : undefined;
}

/**
 * Standard OpenTelemetry SDK variables (OTEL_EXPORTER_OTLP_ENDPOINT, OTEL_SERVICE_NAME, …): every app
 * reads them through dist/tracing, not through its config schema.
 */
export function isTracingEnv(name: string): boolean {
  return /^OTEL_[A-Z0-9_]+$/.test(name);
}

/** Whether `app` reads variable `name` (its config schema, or the tracing SDK). */
export function appReads(app: AppName, name: string): boolean {
  return name in APPS[app].env || isTracingEnv(name);
}

/** Every variable some app or tool reads. */
export function allKnownEnv(): Set<string> {
  return new Set([...APP_NAMES.flatMap((app) => Object.keys(APPS[app].env)), ...Object.values(TOOL_ENVS).flatMap(Object.keys), ...Object.keys(commonEnv)]);
}

/** `make migrate`'s command, read from the Makefile's recipe (without `@` and the `$(ENV)` prefix). */
export function makeMigrateCommand(root: string): string[] {
  const lines = readFileSync(join(root, 'Makefile'), 'utf8').split('\n');
  const start = lines.findIndex((line) => /^migrate:/.test(line));
  if (start < 0) throw new Error('Makefile has no migrate target');
  for (const line of lines.slice(start + 1)) {
    if (!line.startsWith('\t')) break;
    const recipe = line
      .trim()
      .replace(/^[@-]+/, '')
      .replace(/\$\(ENV\)/g, '')
      .trim();
    if (recipe.includes('dist/tools/main.js')) return recipe.split(/\s+/);
  }
  throw new Error('the Makefile migrate recipe does not run dist/tools/main.js');
}
