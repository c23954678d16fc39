// Fault injection and observation for the fault suites: stopping and starting the shared brokers,
// reading Prometheus metrics, and telling when a consumer group has caught up.
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import amqp from 'amqplib';
import pg from 'pg';
import { AssignerProtocol, Kafka, logLevel } from 'kafkajs';
import { repoRoot } from '@orderflow/config';
import { testInfra, waitFor } from '@orderflow/testing';

const sh = promisify(execFile);

/**
 * A shared broker the fault suites stop and start. The commands default to this machine's local
 * brokers and can be replaced by env (e.g. `docker stop …` in CI):
 * FAULTS_KAFKA_STOP / FAULTS_KAFKA_START, FAULTS_RABBITMQ_STOP / FAULTS_RABBITMQ_START.
 */
export interface Broker {
  name: string;
  /** Stops it and waits until clients can no longer reach it. */
  stop(): Promise<void>;
  /** Starts it and waits until clients can use it again. */
  start(): Promise<void>;
  reachable(): Promise<boolean>;
}

function broker(name: string, commands: { stop: string; start: string }, reachable: () => Promise<boolean>): Broker {
  const run = (command: string) => sh('bash', ['-c', command], { cwd: repoRoot(), timeout: 120_000 });
  return {
    name,
    reachable,
    async stop() {
      await run(commands.stop);
      await waitFor(async () => !(await reachable()), { timeoutMs: 30_000, intervalMs: 200, what: `${name} to be down after \`${commands.stop}\`` });
    },
    async start() {
      await run(commands.start);
      await waitFor(reachable, { timeoutMs: 60_000, intervalMs: 200, what: `${name} to be back after \`${commands.start}\`` });
    },
  };
}

const kafkaScript = join(repoRoot(), 'scripts', 'infra', 'kafka.sh');

export const kafkaBroker = broker(
  'Kafka',
  { stop: process.env.FAULTS_KAFKA_STOP ?? `bash ${kafkaScript} stop`, start: process.env.FAULTS_KAFKA_START ?? `bash ${kafkaScript} start` },
  async () => {
    const admin = new Kafka({
      brokers: testInfra().kafkaBrokers,
      clientId: 'e2e-faults-probe',
      connectionTimeout: 1_000,
      requestTimeout: 2_000,
      retry: { retries: 0 },
      logLevel: logLevel.NOTHING,
    }).admin();
    try {
      await admin.connect();
      await admin.describeCluster();
      return true;
    } catch {
      return false;
    } finally {
      await admin.disconnect().catch(() => undefined);
    }
  },
);

export const rabbitBroker = broker(
  'RabbitMQ',
  { stop: process.env.FAULTS_RABBITMQ_STOP ?? 'rabbitmqctl stop_app', start: process.env.FAULTS_RABBITMQ_START ?? 'rabbitmqctl start_app' },
  async () => {
    try {
      const connection = await amqp.connect(testInfra().amqpUrl, { timeout: 2_000 });
      await connection.close();
      return true;
    } catch {
      return false;
    }
  },
);

/** Runs `during` with `broker` down, and always brings the broker back, even when `during` fails. */
export async function withBrokerDown<T>(target: Broker, during: () => Promise<T>): Promise<T> {
  await target.stop();
  try {
    return await during();
  } finally {
    await target.start();
  }
}

/** The sum of a metric's samples whose labels include `labels`, from a Prometheus /metrics page (0 when absent). */
export async function metricValue(port: number, name: string, labels: Record<string, string> = {}): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  let sum = 0;
  for (const line of text.split('\n')) {
    const match = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!match || match[1] !== name) continue;
    const sample = Object.fromEntries([...(match[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((m) => [m[1], m[2]]));
    if (Object.entries(labels).every(([k, v]) => sample[k] === v)) sum += Number(match[3]);
  }
  return sum;
}

/** Whether consumer group `groupId` has committed the end offset of every partition of `topic`. */
export async function consumerCaughtUp(groupId: string, topic: string): Promise<boolean> {
  const admin = new Kafka({ brokers: testInfra().kafkaBrokers, clientId: 'e2e-faults-lag', logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  try {
    const [committed] = await admin.fetchOffsets({ groupId, topics: [topic] });
    const ends = await admin.fetchTopicOffsets(topic);
    return ends.every((end) => end.offset === '0' || committed!.partitions.find((p) => p.partition === end.partition)?.offset === end.offset);
  } finally {
    await admin.disconnect();
  }
}

/** The partitions of `topic` each member of consumer group `groupId` holds, one list per member; undefined while the group is not stable. */
export async function groupAssignment(groupId: string, topic: string): Promise<number[][] | undefined> {
  const admin = new Kafka({ brokers: testInfra().kafkaBrokers, clientId: 'e2e-faults-group', logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  try {
    const [group] = (await admin.describeGroups([groupId])).groups;
    if (group?.state !== 'Stable') return undefined;
    return group.members.map((m) => AssignerProtocol.MemberAssignment.decode(m.memberAssignment)?.assignment[topic] ?? []);
  } finally {
    await admin.disconnect();
  }
}

/**
 * The shared Postgres server, which the database fault suites crash, restart and stop. By default the
 * local cluster's control command (`pg_ctlcluster`, as `make infra-up` starts it); where Postgres is a
 * container, FAULTS_POSTGRES_STOP / _START / _CRASH replace it (e.g. `docker stop`, `docker start`,
 * `docker kill`).
 */
export interface PostgresServer extends Broker {
  /** An immediate stop (no checkpoint, crash recovery on the next start) and waits until clients cannot connect. */
  crash(): Promise<void>;
}

const PG_CLUSTER = `pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | sort -V | tail -1)" main`;

async function postgresReachable(): Promise<boolean> {
  const client = new pg.Client({ connectionString: testInfra().databaseUrl, connectionTimeoutMillis: 1_000, query_timeout: 2_000 });
  client.on('error', () => undefined);
  try {
    await client.connect();
    await client.query('SELECT 1');
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => undefined);
  }
}

export const postgresServer: PostgresServer = (() => {
  const commands = {
    stop: process.env.FAULTS_POSTGRES_STOP ?? `${PG_CLUSTER} stop -m fast`,
    start: process.env.FAULTS_POSTGRES_START ?? `${PG_CLUSTER} start`,
    crash: process.env.FAULTS_POSTGRES_CRASH ?? `${PG_CLUSTER} stop -m immediate`,
  };
  const control = broker('Postgres', commands, postgresReachable);
  return {
    ...control,
    async crash() {
      await sh('bash', ['-c', commands.crash], { cwd: repoRoot(), timeout: 120_000 });
      await waitFor(async () => !(await postgresReachable()), { timeoutMs: 30_000, intervalMs: 200, what: `Postgres to be down after \`${commands.crash}\`` });
    },
  };
})();
