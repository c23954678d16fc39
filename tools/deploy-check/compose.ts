import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import Ajv from 'ajv';
import { allKnownEnv, appReads, APPS, isAppName, isTracingEnv, opsPort, portNumber, TOOL_ENVS, toolOf, type AppName, type DeployedConfig } from './apps';
import { checksOpsPort } from './dockerfile';
import { configEndpoints, isLoopback } from './endpoints';
import { checkConnectionBudget, isPostgresImage, maxConnectionsOf, type ConnectionUse } from './postgres-budget';
import { Problems } from './problems';
import { isObject, readYamlObject, type Json, type JsonObject } from './yaml';

/**
 * docker-compose.yml: valid against the Compose Specification's JSON schema (as shipped by the dclint
 * package), and consistent with the apps: each app's env parses with its own loader, its healthcheck
 * and published ports match its config, and it starts after the migration has completed and after
 * everything it talks to is healthy.
 */

let validateSchema: ReturnType<Ajv['compile']> | undefined;

function composeSchema(): ReturnType<Ajv['compile']> {
  if (!validateSchema) {
    const file = join(dirname(require.resolve('dclint/package.json')), 'schemas', 'compose.schema.json');
    // The file names its draft-07 meta-schema by an https URL that Ajv does not alias; it is draft-07.
    const { $schema: _meta, ...schema } = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
    const ajv = new Ajv({ allErrors: true, strict: false });
    validateSchema = ajv.compile(schema);
  }
  return validateSchema;
}

/** `KEY=value` lines of a compose env_file (comments and blank lines skipped, optional quotes). */
export function parseEnvFile(text: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const match = /^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*?)\s*$/.exec(line);
    if (match && !line.trim().startsWith('#')) env[match[1]!] = match[2]!.replace(/^(['"])(.*)\1$/, '$2');
  }
  return env;
}

/** A compose duration (`1m30s`, `500ms`) in milliseconds. */
export function durationMs(value: Json | undefined, fallback: number): number {
  if (typeof value !== 'string') return fallback;
  const units: Record<string, number> = { h: 3_600_000, m: 60_000, s: 1_000, ms: 1, us: 1e-3 };
  let total = 0;
  for (const [, amount, unit] of value.matchAll(/([0-9.]+)(ms|us|h|m|s)/g)) total += Number(amount) * units[unit!]!;
  return total;
}

function commandOf(service: JsonObject): string[] {
  return Array.isArray(service.command) ? service.command.map(String) : typeof service.command === 'string' ? service.command.split(/\s+/) : [];
}

export function checkCompose(root: string, file: string, dockerTargets: Set<string>, migrateCommand: string[]): Problems {
  const problems = new Problems();
  let compose: JsonObject;
  try {
    compose = readYamlObject(file);
  } catch (error) {
    problems.add('docker-compose.yml', (error as Error).message);
    return problems;
  }
  const validate = composeSchema();
  if (!validate(compose)) {
    for (const e of validate.errors ?? [])
      problems.add(
        'docker-compose.yml',
        `schema: ${e.instancePath || '/'} ${e.message ?? ''}${e.params && 'additionalProperty' in e.params ? ` (${String(e.params.additionalProperty)})` : ''}`,
      );
    return problems;
  }
  const services = (isObject(compose.services) ? compose.services : {}) as Record<string, JsonObject>;
  const oneShot = (s: JsonObject) => toolOf(commandOf(s)) !== undefined;
  const migrations = Object.keys(services).filter((name) => commandOf(services[name]!).join(' ') === migrateCommand.join(' '));
  problems.check(
    migrations.length === 1,
    'docker-compose.yml',
    `expected one service running make migrate's command (${migrateCommand.join(' ')}), found ${migrations.length}`,
  );
  const known = allKnownEnv();
  const checkedFiles = new Set<string>();
  const uses: ConnectionUse[] = [];

  for (const [name, service] of Object.entries(services)) {
    const where = `docker-compose.yml services.${name}`;
    const build = isObject(service.build) ? service.build : undefined;
    if (build)
      problems.check(
        typeof build.target === 'string' && dockerTargets.has(build.target),
        where,
        `build target ${String(build?.target)} is not a Dockerfile stage`,
      );
    const dependsOn = (isObject(service.depends_on) ? service.depends_on : {}) as Record<string, JsonObject>;
    for (const [target, dep] of Object.entries(dependsOn)) {
      const other = services[target];
      if (!problems.check(other !== undefined, where, `depends on ${target}, which is not a service`)) continue;
      if (dep.condition === 'service_healthy')
        problems.check(isObject(other!.healthcheck), where, `waits for ${target} to be healthy, but ${target} has no healthcheck`);
      if (dep.condition === 'service_completed_successfully')
        problems.check(oneShot(other!), where, `waits for ${target} to complete, but it is not a one-shot command`);
    }
    for (const volume of ((service.volumes ?? []) as Json[]).map((v) => (isObject(v) ? String(v.source ?? '') : String(v).split(':')[0]!))) {
      if (/^\.\.?\//.test(volume)) problems.check(existsSync(join(dirname(file), volume)), where, `bind mount ${volume} does not exist`);
    }
    if (oneShot(service)) problems.check(service.restart === 'no', where, 'a one-shot command must not restart');
    else problems.check(isObject(service.healthcheck) && service.healthcheck.disable !== true, where, 'has no healthcheck');

    const env: Record<string, string> = {};
    for (const envFile of (Array.isArray(service.env_file) ? service.env_file : service.env_file ? [service.env_file] : []).map(String)) {
      const path = join(dirname(file), envFile);
      if (!problems.check(existsSync(path), where, `env_file ${envFile} does not exist`)) continue;
      for (const [key, value] of Object.entries(parseEnvFile(readFileSync(path, 'utf8')))) {
        if (!checkedFiles.has(path)) problems.check(known.has(key) || isTracingEnv(key), envFile, `${key} is not a variable any app or tool reads`);
        env[key] = value;
      }
      checkedFiles.add(path);
    }
    const own = isObject(service.environment) ? Object.entries(service.environment).map(([k, v]) => [k, v === null ? '' : String(v)] as const) : [];
    for (const [key, value] of own) env[key] = value;

    const target = build && typeof build.target === 'string' ? build.target : undefined;
    const tool = toolOf(commandOf(service));
    if (isAppName(target)) {
      for (const [key] of own) problems.check(appReads(target, key), where, `environment ${key} is not a variable ${target} reads`);
      const config = checkComposeApp(problems, name, target, services, env, migrations[0]);
      const replicas = isObject(service.deploy) && typeof service.deploy.replicas === 'number' ? service.deploy.replicas : 1;
      if (config)
        uses.push({
          what: `${name} ${replicas} × ${APPS[target].postgresConnections(config)}`,
          replicas,
          perReplica: APPS[target].postgresConnections(config),
        });
    } else if (tool) {
      const defaults = TOOL_ENVS[tool] ?? {};
      for (const [key] of own) problems.check(key in defaults, where, `environment ${key} is not read by the ${tool} command`);
      const values = Object.fromEntries(Object.entries(defaults).map(([key, fallback]) => [key, env[key] || fallback]));
      for (const { name: variable, endpoint } of configEndpoints(values)) checkDependency(problems, where, services, dependsOn, variable, endpoint.host);
    }
  }
  checkNoCycle(problems, services);
  const postgres = Object.entries(services).find(([, s]) => isPostgresImage(s.image));
  if (postgres) {
    const migration = migrations.map((name) => ({ what: `${name} 1`, replicas: 1, perReplica: 1 }));
    checkConnectionBudget(problems, `docker-compose.yml services.${postgres[0]}`, maxConnectionsOf(commandOf(postgres[1])), [...uses, ...migration]);
  }
  return problems;
}

/** Checks one app's service; returns the config its env gives the app, when the app would start with it. */
function checkComposeApp(
  problems: Problems,
  name: string,
  app: AppName,
  services: Record<string, JsonObject>,
  env: Record<string, string>,
  migration: string | undefined,
): DeployedConfig | undefined {
  const where = `docker-compose.yml services.${name}`;
  const service = services[name]!;
  let config: DeployedConfig;
  try {
    config = APPS[app].load(env);
  } catch (error) {
    problems.add(where, `${app} would refuse to start with this env: ${(error as Error).message.replace(/\s+/g, ' ')}`);
    return undefined;
  }
  const dependsOn = (isObject(service.depends_on) ? service.depends_on : {}) as Record<string, JsonObject>;
  if (migration)
    problems.check(
      dependsOn[migration]?.condition === 'service_completed_successfully',
      where,
      `must wait for ${migration} with condition service_completed_successfully`,
    );
  // Healthy = ready: started, not draining, its own database answers (what depends_on waits for).
  const test = isObject(service.healthcheck) && Array.isArray(service.healthcheck.test) ? service.healthcheck.test.map(String) : [];
  const ops = { variable: opsPort(app).variable, port: portNumber(config, opsPort(app)) };
  problems.check(
    checksOpsPort(test, '/readyz', ops),
    where,
    `healthcheck ${JSON.stringify(test)} should GET /readyz on ${ops.variable} ${ops.port}, its ops port`,
  );
  const published = ((service.ports ?? []) as Json[]).map((p) =>
    Number(
      String(isObject(p) ? p.target : p)
        .split(':')
        .pop(),
    ),
  );
  for (const port of APPS[app].ports.map((p) => portNumber(config, p))) {
    problems.check(published.includes(port), where, `port ${port} (from the app's config) is not published`);
  }
  const grace = durationMs(service.stop_grace_period, 10_000);
  problems.check(
    grace >= config.SHUTDOWN_TIMEOUT_MS + 1_000,
    where,
    `stop_grace_period ${grace} ms must exceed SHUTDOWN_TIMEOUT_MS (${config.SHUTDOWN_TIMEOUT_MS} ms), or Docker kills the drain`,
  );
  for (const { name: variable, endpoint } of configEndpoints(config)) checkDependency(problems, where, services, dependsOn, variable, endpoint.host);
  return config;
}

/** An app or tool that talks to `host` must start after it is healthy. */
function dependencyOf(problems: Problems, where: string, dependsOn: Record<string, JsonObject>, variable: string, host: string): void {
  if (!problems.check(!isLoopback(host), where, `${variable} points at ${host}, which in a container is the container itself`)) return;
  problems.check(
    dependsOn[host]?.condition === 'service_healthy',
    where,
    `${variable} talks to ${host}, so it must depend on ${host} with condition service_healthy`,
  );
}

function checkDependency(
  problems: Problems,
  where: string,
  services: Record<string, JsonObject>,
  dependsOn: Record<string, JsonObject>,
  variable: string,
  host: string,
): void {
  if (problems.check(host in services || isLoopback(host), where, `${variable} names ${host}, which is not a service of this file`))
    dependencyOf(problems, where, dependsOn, variable, host);
}

function checkNoCycle(problems: Problems, services: Record<string, JsonObject>): void {
  const state = new Map<string, 'visiting' | 'done'>();
  const visit = (name: string, path: string[]): void => {
    if (state.get(name) === 'done') return;
    if (state.get(name) === 'visiting') {
      problems.add('docker-compose.yml', `depends_on cycle: ${[...path, name].join(' → ')}`);
      return;
    }
    state.set(name, 'visiting');
    const deps = services[name]?.depends_on;
    for (const dep of Object.keys(isObject(deps) ? deps : {})) visit(dep, [...path, name]);
    state.set(name, 'done');
  };
  for (const name of Object.keys(services)) visit(name, []);
}
