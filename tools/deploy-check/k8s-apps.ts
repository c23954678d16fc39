import { appReads, APPS, isAppCommand, isAppName, opsPort, portNumber, TOOL_ENVS, toolOf, type AppName, type DeployedConfig } from './apps';
import { configEndpoints, isLoopback, type Endpoint } from './endpoints';
import { envSources, resolveEnv, type EnvSources } from './k8s-env';
import { autoscalersOf, quantity, resolvePort, templateLabels, type Cluster } from './k8s-model';
import { podSpecOf, type K8sObject } from './kustomize';
import { checkConnectionBudget, isPostgresImage, maxConnectionsOf, type ConnectionUse } from './postgres-budget';
import { Problems } from './problems';
import { isObject, type Json, type JsonObject } from './yaml';

/**
 * Each app's Deployment against the app's own config schema and loader: the env it gets (resolved
 * from its ConfigMaps and Secrets) parses, names only variables it reads, and agrees with its ports,
 * probes, drain time, start-up wait and the Services it calls. Plus the migration Job.
 */
export function checkAppWorkloads(c: Cluster, problems: Problems, externalSecrets: K8sObject[], migrateCommand: string[]): void {
  const sources = envSources(c.rendered.objects, c.rendered.namespace, externalSecrets);
  const deployments = c.workloads.filter((o) => o.kind === 'Deployment' && isAppName(templateLabels(o)['app.kubernetes.io/name']));
  for (const app of Object.keys(APPS) as AppName[]) {
    const found = deployments.filter((d) => templateLabels(d)['app.kubernetes.io/name'] === app);
    if (found.length !== 1) problems.add(c.rendered.dir, `expected one Deployment for ${app}, found ${found.length}`);
  }
  const uses: ConnectionUse[] = [];
  for (const deployment of deployments) {
    const app = templateLabels(deployment)['app.kubernetes.io/name'] as AppName;
    const config = checkAppDeployment(c, problems, sources, deployment, app);
    if (config) uses.push(connectionUse(c, deployment, app, config));
  }

  const migrations = c.workloads.filter((o) => o.kind === 'Job' && mainContainer(o) && toolOf(commandOf(mainContainer(o)!)) === 'migrate');
  if (problems.check(migrations.length === 1, c.rendered.dir, `expected one migration Job (${migrateCommand.join(' ')}), found ${migrations.length}`)) {
    checkMigrationJob(c, problems, sources, migrations[0]!, migrateCommand);
  }
  // An overlay that runs its own Postgres (dev) must fit every replica's connections in it; one whose
  // Postgres is external (prod) is sized by the operator, with the README's budget.
  const postgres = c.workloads.find((o) => isPostgresImage(mainContainer(o)?.image));
  if (postgres) {
    const migration = migrations.map((job) => ({ what: `${job.metadata.name} 1`, replicas: 1, perReplica: 1 }));
    checkConnectionBudget(problems, c.where(postgres), maxConnectionsOf(commandOf(mainContainer(postgres)!)), [...uses, ...migration]);
  }
}

/** A Deployment's share of Postgres connections: as many replicas as its autoscaler (HPA or ScaledObject) may start (else its replicas). */
function connectionUse(c: Cluster, deployment: K8sObject, app: AppName, config: DeployedConfig): ConnectionUse {
  const spec = isObject(deployment.spec) ? deployment.spec : {};
  const autoscaler = autoscalersOf(c, deployment)[0];
  const max = autoscaler?.max;
  const replicas = max ?? (typeof spec.replicas === 'number' ? spec.replicas : 1);
  const perReplica = APPS[app].postgresConnections(config);
  const by = autoscaler?.object.kind === 'ScaledObject' ? 'ScaledObject max ' : 'HPA max ';
  return { what: `${app} ${max !== undefined ? by : ''}${replicas} × ${perReplica}`, replicas, perReplica };
}

function mainContainer(object: K8sObject): JsonObject | undefined {
  const containers = ((podSpecOf(object)?.containers ?? []) as Json[]).filter(isObject);
  return containers.length === 1 ? containers[0] : undefined;
}

function commandOf(container: JsonObject): string[] {
  return [...((container.command ?? []) as Json[]), ...((container.args ?? []) as Json[])].map(String);
}

/** Checks one app's Deployment; returns the config its env gives the app, when the app would start with it. */
function checkAppDeployment(c: Cluster, problems: Problems, sources: EnvSources, deployment: K8sObject, app: AppName): DeployedConfig | undefined {
  const where = c.where(deployment);
  const pod = podSpecOf(deployment)!;
  const container = mainContainer(deployment);
  if (!container) return void problems.add(where, 'expected exactly one container');
  const spec = APPS[app];
  checkImage(c, problems, where, container, app);
  const command = commandOf(container);
  problems.check(command.length === 0 || isAppCommand(app, command), where, `command ${command.join(' ')} does not start dist/${app}/main.js`);

  const env = resolveEnv(container, sources);
  for (const message of env.problems) problems.add(where, message);
  for (const name of env.names) problems.check(appReads(app, name), where, `env ${name} is not a variable ${app} reads (apps/${app}/src/config.ts)`);
  let config: DeployedConfig;
  try {
    config = spec.load(env.values);
  } catch (error) {
    problems.add(where, `${app} would refuse to start with this env: ${(error as Error).message.replace(/\s+/g, ' ')}`);
    return undefined;
  }

  const ports = ((container.ports ?? []) as Json[]).filter(isObject);
  const expected: Record<string, number> = Object.fromEntries(spec.ports.map((p) => [p.name, portNumber(config, p)]));
  problems.check(
    ports.length === Object.keys(expected).length && ports.every((p) => expected[String(p.name)] === p.containerPort),
    where,
    `container ports ${JSON.stringify(ports.map((p) => `${String(p.name)}:${String(p.containerPort)}`))} do not match the app's config ${JSON.stringify(Object.entries(expected).map(([n, p]) => `${n}:${p}`))}`,
  );
  const ops = { variable: opsPort(app).variable, port: portNumber(config, opsPort(app)) };
  checkProbes(problems, where, deployment, container, ops);
  checkReadinessWindow(problems, where, container, config);
  checkScrapeAnnotations(problems, where, deployment, ops);
  checkHardening(problems, where, pod, container);
  checkMounts(problems, where, pod, container, app === 'notification' ? ['/tmp', String(config.MAIL_DIR)] : ['/tmp']);

  const preStop = isObject(container.lifecycle) && isObject(container.lifecycle.preStop) ? container.lifecycle.preStop : undefined;
  const pause = isObject(preStop?.exec) ? Number(commandOf({ command: preStop.exec.command ?? [] }).find((arg) => /^\d+$/.test(arg)) ?? 0) : 0;
  const grace = typeof pod.terminationGracePeriodSeconds === 'number' ? pod.terminationGracePeriodSeconds : 30;
  problems.check(
    grace >= pause + config.SHUTDOWN_TIMEOUT_MS / 1000 + 1,
    where,
    `terminationGracePeriodSeconds ${grace} is shorter than the preStop pause (${pause} s) + SHUTDOWN_TIMEOUT_MS (${config.SHUTDOWN_TIMEOUT_MS} ms) + 1 s: pods would be killed mid-drain`,
  );
  const startup = isObject(container.startupProbe) ? container.startupProbe : undefined;
  const budget = startup ? Number(startup.initialDelaySeconds ?? 0) + Number(startup.periodSeconds ?? 10) * Number(startup.failureThreshold ?? 3) : 0;
  problems.check(
    budget >= config.STARTUP_TIMEOUT_MS / 1000 + 30,
    where,
    `the startupProbe allows ${budget} s, less than STARTUP_TIMEOUT_MS (${config.STARTUP_TIMEOUT_MS} ms) + 30 s: a pod waiting for its dependencies would be killed first`,
  );
  for (const { name, endpoint } of configEndpoints(config)) checkEndpoint(c, problems, where, name, endpoint);
  return config;
}

function checkImage(c: Cluster, problems: Problems, where: string, container: JsonObject, target: string): void {
  const image = String(container.image ?? '');
  const [withTag = ''] = image.split('@');
  const name = withTag.replace(/:[^/:]*$/, '');
  problems.check(
    name === `orderflow/${target}` || name.endsWith(`/orderflow/${target}`),
    where,
    `image ${image} is not the Dockerfile's ${target} target (orderflow/${target})`,
  );
  const pinned = image.includes('@') || (/:[^/:]+$/.test(withTag) && !withTag.endsWith(':latest'));
  // The base leaves tags to the overlays; what gets applied must say which build it runs.
  if (c.rendered.namespace) problems.check(pinned, where, `image ${image} needs a pinned tag (not latest) in an overlay`);
}

/** Every probe is an HTTP GET on the ops port (the orchestrator's public port serves only the API). */
function checkProbes(problems: Problems, where: string, deployment: K8sObject, container: JsonObject, ops: { variable: string; port: number }): void {
  const wanted: Record<string, string> = { livenessProbe: '/healthz', readinessProbe: '/readyz', startupProbe: '/healthz' };
  for (const [probe, path] of Object.entries(wanted)) {
    const get =
      isObject(container[probe]) && isObject((container[probe] as JsonObject).httpGet) ? ((container[probe] as JsonObject).httpGet as JsonObject) : undefined;
    if (!get) {
      problems.add(where, `${probe} must be an httpGet on ${path}`);
      continue;
    }
    problems.check(get.path === path, where, `${probe} path ${String(get.path)} should be ${path}`);
    problems.check(
      resolvePort(deployment, get.port) === ops.port,
      where,
      `${probe} port ${String(get.port)} is not the app's ${ops.variable} ${ops.port}, its ops port`,
    );
  }
}

/**
 * /readyz reflects the process itself and answers from the last background check round, which marks
 * Postgres down after one failed check until the next round. A single failed round (or one slow answer)
 * must not take the pod out of its Services: the probe's failures must outlast one round.
 */
function checkReadinessWindow(problems: Problems, where: string, container: JsonObject, config: DeployedConfig): void {
  const probe = isObject(container.readinessProbe) ? container.readinessProbe : undefined;
  if (!probe) return;
  const window = Number(probe.periodSeconds ?? 10) * (Number(probe.failureThreshold ?? 3) - 1);
  const round = (config.STATUS_CHECK_INTERVAL_MS + config.STATUS_CHECK_TIMEOUT_MS) / 1000;
  problems.check(
    window > round,
    where,
    `the readinessProbe takes a pod out after ${window} s of failed answers, within one background check round (STATUS_CHECK_INTERVAL_MS + STATUS_CHECK_TIMEOUT_MS = ${round} s): one failed Postgres check would pull it`,
  );
}

/** Prometheus pod discovery scrapes what a scraped pod's annotations name: that must be /metrics on the ops port. */
function checkScrapeAnnotations(problems: Problems, where: string, deployment: K8sObject, ops: { variable: string; port: number }): void {
  const spec = isObject(deployment.spec) ? deployment.spec : {};
  const metadata = isObject(spec.template) && isObject(spec.template.metadata) ? spec.template.metadata : {};
  const annotations = isObject(metadata.annotations) ? metadata.annotations : {};
  if (annotations['prometheus.io/scrape'] !== 'true') return;
  problems.check(
    annotations['prometheus.io/port'] === String(ops.port),
    where,
    `prometheus.io/port ${String(annotations['prometheus.io/port'])} is not the app's ${ops.variable} ${ops.port}, where /metrics is served`,
  );
  problems.check(
    (annotations['prometheus.io/path'] ?? '/metrics') === '/metrics',
    where,
    `prometheus.io/path ${String(annotations['prometheus.io/path'])} should be /metrics`,
  );
}

function checkHardening(problems: Problems, where: string, pod: JsonObject, container: JsonObject): void {
  const podSecurity = isObject(pod.securityContext) ? pod.securityContext : {};
  const security = isObject(container.securityContext) ? container.securityContext : {};
  const caps = isObject(security.capabilities) ? security.capabilities : {};
  problems.check((security.runAsNonRoot ?? podSecurity.runAsNonRoot) === true, where, 'runAsNonRoot must be true');
  problems.check(security.readOnlyRootFilesystem === true, where, 'readOnlyRootFilesystem must be true');
  problems.check(security.allowPrivilegeEscalation === false, where, 'allowPrivilegeEscalation must be false');
  problems.check(Array.isArray(caps.drop) && caps.drop.includes('ALL'), where, 'capabilities must drop ALL');
  // With the above, what the `restricted` Pod Security level (the prod namespace enforces it) requires.
  const seccomp = isObject(security.seccompProfile) ? security.seccompProfile : isObject(podSecurity.seccompProfile) ? podSecurity.seccompProfile : {};
  problems.check(seccomp.type === 'RuntimeDefault' || seccomp.type === 'Localhost', where, 'seccompProfile must be RuntimeDefault (Pod Security "restricted")');
  const resources = isObject(container.resources) ? container.resources : {};
  for (const resource of ['cpu', 'memory']) {
    const request = quantity(isObject(resources.requests) ? resources.requests[resource] : undefined);
    const limit = quantity(isObject(resources.limits) ? resources.limits[resource] : undefined);
    if (problems.check(request !== undefined && limit !== undefined, where, `resources need a ${resource} request and limit`)) {
      problems.check(request! <= limit!, where, `${resource} request is above its limit`);
    }
  }
}

/** Paths the process writes to must sit on a mounted volume: the root filesystem is read-only. */
function checkMounts(problems: Problems, where: string, pod: JsonObject, container: JsonObject, paths: string[]): void {
  const volumes = new Map(((pod.volumes ?? []) as Json[]).filter(isObject).map((v) => [String(v.name), v]));
  const mounts = ((container.volumeMounts ?? []) as Json[]).filter(isObject);
  for (const path of paths) {
    const mount = mounts.find((m) => path === m.mountPath || path.startsWith(`${String(m.mountPath)}/`));
    if (!problems.check(mount !== undefined && mount.readOnly !== true, where, `${path} is written to but is not on a writable volume mount`)) continue;
    problems.check(volumes.has(String(mount!.name)), where, `volume ${String(mount!.name)} is mounted but not defined`);
  }
}

/** An address in the config must be reachable: a Service of this rendering, or a host outside the cluster. */
function checkEndpoint(c: Cluster, problems: Problems, where: string, name: string, endpoint: Endpoint): void {
  if (!problems.check(!isLoopback(endpoint.host), where, `${name} points at ${endpoint.host}, which in a pod is the pod itself`)) return;
  const local = /^([a-z0-9-]+)(?:\.([a-z0-9-]+)\.svc(?:\.cluster\.local)?)?$/.exec(endpoint.host);
  if (!local) return; // outside the cluster (prod's managed infrastructure)
  const namespace = local[2] ?? c.rendered.namespace;
  const service = c.find('Service', local[1]!, namespace);
  if (!problems.check(service !== undefined, where, `${name} names Service ${namespace ?? ''}/${local[1]}, which this rendering does not have`)) return;
  const spec = isObject(service!.spec) ? service!.spec : {};
  const ports = ((spec.ports ?? []) as Json[]).filter(isObject);
  problems.check(
    endpoint.port === undefined || ports.some((p) => p.port === endpoint.port),
    where,
    `${name}: Service ${local[1]} has no port ${endpoint.port}`,
  );
  if (endpoint.dnsScheme)
    problems.check(spec.clusterIP === 'None', where, `${name} uses dns:/// with round_robin, so Service ${local[1]} must be headless (clusterIP: None)`);
}

function checkMigrationJob(c: Cluster, problems: Problems, sources: EnvSources, job: K8sObject, migrateCommand: string[]): void {
  const where = c.where(job);
  const container = mainContainer(job)!;
  problems.check(
    commandOf(container).join(' ') === migrateCommand.join(' '),
    where,
    `runs "${commandOf(container).join(' ')}", not make migrate's "${migrateCommand.join(' ')}"`,
  );
  checkImage(c, problems, where, container, 'tools');
  const env = resolveEnv(container, sources);
  for (const message of env.problems) problems.add(where, message);
  for (const name of env.names) problems.check(name in TOOL_ENVS.migrate!, where, `env ${name} is not read by the migrate command`);
  problems.check(env.values.DATABASE_URL !== undefined, where, 'DATABASE_URL must be set');
  for (const { name, endpoint } of configEndpoints(env.values)) checkEndpoint(c, problems, where, name, endpoint);
  checkHardening(problems, where, podSpecOf(job)!, container);
}
