import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import jwt from 'jsonwebtoken';
import { Kafka, logLevel } from 'kafkajs';
import { databaseName, repoRoot } from '@orderflow/config';
import { dropDatabase, migrate, SERVICES } from '@orderflow/db';
import { TASK_QUEUES, taskTopology, topicNames } from '@orderflow/domain';
import { freePort, testInfra, uniqueName, waitFor } from '@orderflow/testing';
import amqp from 'amqplib';

export const APPS = ['order', 'inventory', 'notification', 'orchestrator'] as const;
export type AppName = (typeof APPS)[number];
/** One running copy of an app: `order` is its first replica (the only one by default), `order#2` its second. */
export type Instance = AppName | `${AppName}#${number}`;

const JWT_SECRET = 'e2e-secret-0123456789abcdef0123456789';

/**
 * The flags every launch path gives an app (Makefile, scripts/up.sh, Dockerfile too): a 160 MiB old
 * space makes V8 collect before garbage piles up under load (live heap is about 64 MiB), which keeps
 * each process well under 256 MiB resident; a 16 MiB semi-space (Node 24 defaults to 64 MiB) cut the
 * orchestrator's CPU per saga to a third under load (docs/benchmarks.md, "Cutting the cost per saga").
 */
export const APP_NODE_FLAGS = ['--max-old-space-size=160', '--max-semi-space-size=16'];

export interface SystemOptions {
  /** Extra node flags for every app, e.g. `--cpu-prof` (the bench's BENCH_PROFILE). */
  nodeArgs?: string[];
  /** Extra env for every app, or per app. */
  env?: Record<string, string>;
  appEnv?: Partial<Record<AppName, Record<string, string>>>;
  /**
   * Copies of every app (default 1), each on its own ports, sharing one prefix (databases, topics,
   * consumer groups, queues); the orchestrators reach the order and inventory replicas round-robin.
   */
  replicas?: number;
  /**
   * Where the built apps are (default `dist/` of this checkout): the bench compares a baseline build this
   * way. Its checkout's `db/` beside it, if there is one, holds the schema its databases are migrated to.
   */
  distDir?: string;
}

/**
 * The whole system for one test file: the four built apps as real processes (dist/, from `make
 * build`), on free ports, with their own databases, topics, queues and Redis keys (a unique prefix),
 * against the real Postgres, Redis, RabbitMQ and Kafka. `stop()` ends them and removes what they made.
 */
export async function startSystem(label: string, options: SystemOptions = {}) {
  const infra = testInfra();
  const prefix = `${uniqueName(label)}_`;
  const mailDir = mkdtempSync(join(tmpdir(), 'orderflow-mail-'));
  const replicas = options.replicas ?? 1;
  const portsOfReplica = async () => ({
    orderGrpc: await freePort(),
    inventoryGrpc: await freePort(),
    order: await freePort(),
    inventory: await freePort(),
    notification: await freePort(),
    orchestrator: await freePort(),
    orchestratorOps: await freePort(),
  });
  /** Ports by replica index (0 is the first replica). */
  const replicaPorts: Awaited<ReturnType<typeof portsOfReplica>>[] = [];
  for (let i = 0; i < replicas; i++) replicaPorts.push(await portsOfReplica());
  const ports = replicaPorts[0]!;
  // grpc-js's ipv4 resolver takes a comma-separated list, which the round_robin policy (libs/proto) spreads calls over.
  const grpcTarget = (port: 'orderGrpc' | 'inventoryGrpc') =>
    replicas === 1 ? `127.0.0.1:${ports[port]}` : `ipv4:${replicaPorts.map((p) => `127.0.0.1:${p[port]}`).join(',')}`;
  const ownSchema = options.distDir && join(options.distDir, '..', 'db');
  const migrationsRoot = ownSchema && existsSync(ownSchema) ? ownSchema : undefined;
  for (const service of SERVICES)
    await migrate({ serverUrl: infra.databaseUrl, service, databaseName: databaseName(service, prefix), ...(migrationsRoot ? { migrationsRoot } : {}) });

  const baseEnv: Record<string, string> = {
    PATH: process.env.PATH ?? '',
    DATABASE_URL: infra.databaseUrl,
    REDIS_URL: infra.redisUrl,
    AMQP_URL: infra.amqpUrl,
    KAFKA_BROKERS: infra.kafkaBrokers.join(','),
    RESOURCE_PREFIX: prefix,
    JWT_SECRET,
    // Tests poll hard as a few callers from one address; the limits themselves have their own tests.
    RATE_LIMIT_PER_MINUTE: '1000000',
    RATE_LIMIT_BURST_PER_SECOND: '1000000',
    RATE_LIMIT_PER_IP_PER_MINUTE: '100000000',
    API_KEY_RATE_PER_MINUTE: '1000000',
    LOG_LEVEL: process.env.E2E_LOG_LEVEL ?? 'info',
    MAIL_DIR: mailDir,
    HTTP_HOST: '127.0.0.1',
    GRPC_HOST: '127.0.0.1',
    ORDER_GRPC_ADDRESS: grpcTarget('orderGrpc'),
    INVENTORY_GRPC_ADDRESS: grpcTarget('inventoryGrpc'),
    ...options.env,
  };
  const appEnv = (app: AppName, p: typeof ports): Record<string, string> =>
    ({
      order: { HTTP_PORT: String(p.order), GRPC_PORT: String(p.orderGrpc) },
      inventory: { HTTP_PORT: String(p.inventory), GRPC_PORT: String(p.inventoryGrpc) },
      notification: { HTTP_PORT: String(p.notification) },
      orchestrator: { HTTP_PORT: String(p.orchestrator), OPS_PORT: String(p.orchestratorOps) },
    })[app];
  /** The app and replica index of an instance name, the name normalised (`order#1` is `order`). */
  const resolve = (instance: Instance): { app: AppName; index: number; name: Instance } => {
    const [app, n = '1'] = instance.split('#') as [AppName, string?];
    const index = Number(n) - 1;
    if (!APPS.includes(app) || !Number.isInteger(index) || index < 0 || index >= replicas)
      throw new Error(`no instance ${instance} in a system of ${replicas} replica(s)`);
    return { app, index, name: index === 0 ? app : `${app}#${index + 1}` };
  };
  /** Every instance of `app`, or of every app in start-up order: `order`, `order#2`, `inventory`… */
  const instances = (app?: AppName): Instance[] =>
    (app ? [app] : APPS).flatMap((a) => Array.from({ length: replicas }, (_, i): Instance => (i === 0 ? a : `${a}#${i + 1}`)));
  // The ops routes: the orchestrator's own port, the other apps' HTTP_PORT.
  const opsPort = (instance: Instance) => {
    const { app, index } = resolve(instance);
    return Number(app === 'orchestrator' ? replicaPorts[index]!.orchestratorOps : appEnv(app, replicaPorts[index]!).HTTP_PORT);
  };
  const processes = new Map<Instance, ChildProcess>();
  /** Output lines by instance (`logs.get('order')` is the first replica's). */
  const logs = new Map<Instance, string[]>();

  async function start(instance: Instance): Promise<void> {
    const { app, index, name } = resolve(instance);
    const lines: string[] = logs.get(name) ?? [];
    logs.set(name, lines);
    const child = spawn(
      process.execPath,
      ['--enable-source-maps', ...APP_NODE_FLAGS, ...(options.nodeArgs ?? []), join(options.distDir ?? join(repoRoot(), 'dist'), app, 'main.js')],
      {
        env: { ...baseEnv, ...appEnv(app, replicaPorts[index]!), ...options.appEnv?.[app] },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    const keep = (chunk: Buffer) => lines.push(...chunk.toString().split('\n').filter(Boolean));
    child.stdout!.on('data', keep);
    child.stderr!.on('data', keep);
    processes.set(name, child);
    // An app that exits during start-up fails the start at once (not at the wait's deadline).
    const gone = new AbortController();
    const onExit = (code: number | null, sig: string | null) => gone.abort(new Error(`${name} exited with ${code ?? sig}:\n${lines.slice(-20).join('\n')}`));
    child.once('close', onExit); // after its output is read, so the message carries its last lines
    try {
      await waitFor(async () => (await fetch(`http://127.0.0.1:${opsPort(name)}/healthz`).catch(() => undefined))?.ok, {
        timeoutMs: 30_000,
        intervalMs: 100,
        what: `${name} to start`,
        signal: gone.signal,
      });
      child.off('close', onExit);
    } catch (error) {
      await kill(name, 'SIGKILL'); // one that hangs in start-up must not outlive the test
      throw error;
    }
  }

  /** Ends a process: SIGTERM (graceful) or SIGKILL (crash); resolves with its exit code. */
  async function kill(instance: Instance, signal: NodeJS.Signals = 'SIGTERM'): Promise<number | null> {
    const child = processes.get(resolve(instance).name);
    if (!child || child.exitCode !== null || child.signalCode !== null) return child?.exitCode ?? null;
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    child.kill(signal);
    return exited;
  }

  /** Sends a signal and returns at once: SIGSTOP freezes a process (it stops answering), SIGCONT thaws it. */
  function signal(instance: Instance, sig: NodeJS.Signals): void {
    const child = processes.get(resolve(instance).name);
    if (child && child.exitCode === null && child.signalCode === null) child.kill(sig);
  }

  const orchestratorUrl = `http://127.0.0.1:${ports.orchestrator}`;
  const system = {
    prefix,
    mailDir,
    /** The first replica's ports. */
    ports,
    /** Ports of every replica, by index (0 is the first). */
    replicaPorts,
    /** The first orchestrator's API. */
    url: orchestratorUrl,
    /** Every orchestrator replica's API, by index. */
    urls: replicaPorts.map((p) => `http://127.0.0.1:${p.orchestrator}`),
    instances,
    topics: topicNames(prefix),
    logs,
    start,
    kill,
    signal,
    /** The ops HTTP port of an app instance (`/healthz`, `/readyz`, `/status`, `/metrics`). */
    opsPort,
    /** The ops HTTP base URL of an app instance. */
    opsUrl: (instance: Instance) => `http://127.0.0.1:${opsPort(instance)}`,
    isRunning: (instance: Instance) => {
      const child = processes.get(resolve(instance).name);
      return !!child && child.exitCode === null && child.signalCode === null;
    },
    token: (sub: string, role: 'customer' | 'admin' = 'customer', claims: Record<string, unknown> = {}) =>
      jwt.sign({ sub, role, ...claims }, JWT_SECRET, { algorithm: 'HS256', expiresIn: '1h' }),
    async ready(): Promise<void> {
      for (const instance of instances()) {
        await waitFor(async () => (await fetch(`http://127.0.0.1:${opsPort(instance)}/readyz`).catch(() => undefined))?.status === 200, {
          timeoutMs: 30_000,
          what: `${instance} /readyz`,
        });
      }
    },
    async stop(): Promise<void> {
      await Promise.all(instances().map((instance) => kill(instance)));
      await cleanup(prefix, infra);
      rmSync(mailDir, { recursive: true, force: true });
    },
  };
  try {
    for (const instance of instances()) await start(instance);
    await system.ready();
  } catch (error) {
    // Nothing of a system that did not come up may stay behind: its processes, databases, topics, queues.
    await Promise.all(instances().map((instance) => kill(instance, 'SIGKILL')));
    await cleanup(prefix, infra).catch(() => undefined);
    rmSync(mailDir, { recursive: true, force: true });
    throw error;
  }
  return system;
}

export type System = Awaited<ReturnType<typeof startSystem>>;

/** Removes everything a run created: its databases, topics, consumer groups, queues, exchange and Redis keys. */
export async function cleanup(prefix: string, infra: ReturnType<typeof testInfra>): Promise<void> {
  for (const service of SERVICES) await dropDatabase(infra.databaseUrl, databaseName(service, prefix));
  const admin = new Kafka({ brokers: infra.kafkaBrokers, clientId: 'e2e-cleanup', logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  try {
    const groups = (await admin.listGroups()).groups.map((g) => g.groupId).filter((g) => g.startsWith(prefix));
    if (groups.length) await admin.deleteGroups(groups).catch(() => undefined);
    // Only those that exist: kafkajs retries a missing one for half a minute before giving up.
    const existing = new Set(await admin.listTopics());
    const topics = Object.values(topicNames(prefix)).filter((t) => existing.has(t));
    if (topics.length) await admin.deleteTopics({ topics }).catch(() => undefined);
  } finally {
    await admin.disconnect();
  }
  const connection = await amqp.connect(infra.amqpUrl);
  const channel = await connection.createChannel();
  // Every task queue's ladder (e-mails and webhook deliveries): quorum queues left behind pile up in the
  // broker run after run until it runs out of file handles and stops answering.
  for (const name of TASK_QUEUES) {
    const t = taskTopology(prefix, name);
    for (const q of [t.queue, ...t.retryQueues.map((r) => r.name), t.dlq.name]) await channel.deleteQueue(q);
  }
  await channel.deleteExchange(taskTopology(prefix).exchange);
  await connection.close();
}
