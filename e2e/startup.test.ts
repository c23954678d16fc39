// How each process starts, reports readiness and fails: real processes, real infrastructure.
import { readdirSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { Kafka, logLevel } from 'kafkajs';
import { databaseName } from '@orderflow/config';
import { dropDatabase, ensureDatabase, migrate } from '@orderflow/db';
import { topicNames } from '@orderflow/domain';
import { freePort, testInfra, uniqueName, waitFor } from '@orderflow/testing';
import { spawnApp } from './support/process';
import { cleanup, startSystem } from './support/system';

const infra = testInfra();

async function busyPort(): Promise<{ server: Server; port: number }> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, port: (server.address() as { port: number }).port };
}

async function readyz(port: number) {
  const res = await fetch(`http://127.0.0.1:${port}/readyz`).catch(() => undefined);
  return res && { status: res.status, body: (await res.json()) as { down: string[] } };
}

/** The names of the dependencies `/status` reports down. */
async function downInStatus(port: number): Promise<string[]> {
  const status = (await (await fetch(`http://127.0.0.1:${port}/status`)).json()) as { dependencies: { name: string; ok: boolean }[] };
  return status.dependencies.filter((d) => !d.ok).map((d) => d.name);
}

describe('start-up failures', () => {
  it('stops with a message naming the variable when the config is invalid', async () => {
    const app = spawnApp('order', { HTTP_PORT: 'eighty' });
    expect(await app.exited).toBe(1);
    expect(app.output().stderr).toMatch(/HTTP_PORT: .*"eighty"/);
    expect(app.output().stderr).not.toMatch(/\n\s+at /); // one clear message, not a stack trace
  });

  it('names a mistyped DATABASE_URL without its password', async () => {
    const app = spawnApp('order', { DATABASE_URL: 'postgres://u:s3cret@host:notaport/db' });
    expect(await app.exited).toBe(1);
    expect(app.output().stderr).toMatch(/DATABASE_URL: expected a URL starting with postgres:\/\/.*postgres:\/\/u:\*\*\*@host:notaport\/db/);
    expect(app.output().stderr + app.output().stdout).not.toContain('s3cret');
  });

  it('names a mistyped AMQP_URL and echoes no secret of any variable', async () => {
    const secrets = {
      AMQP_URL: 'amqp://guest:amqp-s3cret@rabbit:notaport',
      JWT_SECRET: 'jwt-s3cret',
      KAFKA_SASL_MECHANISM: 'plain',
      KAFKA_SASL_USERNAME: 'u',
      KAFKA_SASL_PASSWORD: 'sasl-s3cret',
    };
    const app = spawnApp('orchestrator', secrets);
    expect(await app.exited).toBe(1);
    expect(app.output().stderr).toMatch(/AMQP_URL: expected a URL starting with amqp:\/\//);
    expect(app.output().stderr + app.output().stdout).not.toMatch(/s3cret/);
  });

  it('stops naming the dependency it cannot reach', async () => {
    const app = spawnApp('order', { DATABASE_URL: 'postgres://postgres@127.0.0.1:1/postgres', STARTUP_TIMEOUT_MS: '300', HTTP_PORT: '0', GRPC_PORT: '0' });
    expect(await app.exited).toBe(1);
    expect(app.output().stderr).toMatch(/order: start-up failed: cannot reach postgres/);
  });

  it('waits for its migrations, then stops saying to run them', async () => {
    const prefix = `${uniqueName('unmigrated')}_`;
    await ensureDatabase(infra.databaseUrl, databaseName('order', prefix)); // the database, no tables
    try {
      const app = spawnApp('order', { RESOURCE_PREFIX: prefix, STARTUP_TIMEOUT_MS: '500', HTTP_PORT: '0', GRPC_PORT: '0' });
      expect(await app.exited).toBe(1);
      expect(app.output().stderr).toMatch(
        /order: start-up failed: cannot reach schema \(the database is not migrated to 0001_create-orders; run `make migrate`/,
      );
    } finally {
      await dropDatabase(infra.databaseUrl, databaseName('order', prefix));
    }
  });

  it.each(['HTTP_PORT', 'GRPC_PORT'])('stops naming %s when that port is already taken', async (variable) => {
    const prefix = `${uniqueName('ports')}_`;
    await migrate({ serverUrl: infra.databaseUrl, service: 'order', databaseName: databaseName('order', prefix) });
    const { server, port } = await busyPort();
    try {
      const app = spawnApp('order', { RESOURCE_PREFIX: prefix, HTTP_PORT: '0', GRPC_PORT: '0', [variable]: String(port) });
      expect(await app.exited).toBe(1);
      expect(app.output().stderr).toContain(`${variable} ${port} is already in use`);
    } finally {
      server.close();
      await dropDatabase(infra.databaseUrl, databaseName('order', prefix));
    }
  });
});

describe('Kafka topics', () => {
  it('are created at start-up with KAFKA_TOPIC_PARTITIONS partitions each', async () => {
    const prefix = `${uniqueName('partitions')}_`;
    await migrate({ serverUrl: infra.databaseUrl, service: 'inventory', databaseName: databaseName('inventory', prefix) });
    const app = spawnApp('inventory', { RESOURCE_PREFIX: prefix, HTTP_PORT: '0', GRPC_PORT: '0', KAFKA_TOPIC_PARTITIONS: '2' });
    const admin = new Kafka({ brokers: infra.kafkaBrokers, clientId: 'e2e-partitions', logLevel: logLevel.NOTHING }).admin();
    try {
      await waitFor(() => app.output().stdout.includes('inventory service ready'), { timeoutMs: 30_000, what: 'the inventory service to start' });
      await admin.connect();
      const { topics } = await admin.fetchTopicMetadata({ topics: Object.values(topicNames(prefix)) });
      expect(topics).toHaveLength(4);
      for (const topic of topics) expect({ topic: topic.name, partitions: topic.partitions.length }).toEqual({ topic: topic.name, partitions: 2 });
    } finally {
      await admin.disconnect();
      expect(await app.stop()).toBe(0);
      await cleanup(prefix, infra);
    }
  }, 60_000);
});

describe('the e2e harness', () => {
  it('leaves no process behind when one app of a system cannot start', async () => {
    const label = `startfail${Date.now() % 100_000}`;
    await expect(startSystem(label, { appEnv: { inventory: { GRPC_PORT: 'not-a-port' } } })).rejects.toThrow(/inventory exited/);
    expect(processesWithPrefix(label)).toEqual([]);
  });
});

describe('readiness', () => {
  it('is ready while the downstream services do not answer, and /status names each until it does', async () => {
    const prefix = `${uniqueName('ready')}_`;
    for (const service of ['orchestrator', 'order'] as const)
      await migrate({ serverUrl: infra.databaseUrl, service, databaseName: databaseName(service, prefix) });
    const orderGrpc = await freePort();
    const orchestrator = spawnApp('orchestrator', {
      RESOURCE_PREFIX: prefix,
      HTTP_PORT: '0',
      ORDER_GRPC_ADDRESS: `127.0.0.1:${orderGrpc}`,
      INVENTORY_GRPC_ADDRESS: '127.0.0.1:1',
    });
    let order: ReturnType<typeof spawnApp> | undefined;
    try {
      const port = Number(
        await waitFor(() => /"opsPort":(\d+)/.exec(orchestrator.output().stdout)?.[1], { timeoutMs: 30_000, what: 'orchestrator to listen' }),
      );
      expect(await readyz(port)).toEqual({ status: 200, body: { status: 'ready', down: [] } });
      expect(await downInStatus(port)).toEqual(['grpc:order', 'grpc:inventory']);

      order = spawnApp('order', { RESOURCE_PREFIX: prefix, HTTP_PORT: '0', GRPC_PORT: String(orderGrpc) });
      await waitFor(async () => !(await downInStatus(port)).includes('grpc:order'), { timeoutMs: 20_000, what: 'grpc:order to come up' });
      expect(await downInStatus(port)).toEqual(['grpc:inventory']);
      expect((await readyz(port))?.status).toBe(200);
    } finally {
      expect(await orchestrator.stop()).toBe(0);
      if (order) expect(await order.stop()).toBe(0);
      await cleanup(prefix, infra);
    }
  }, 60_000);
});

/** Pids of app processes whose RESOURCE_PREFIX starts with `label` (what startSystem gives them). */
function processesWithPrefix(label: string): number[] {
  return readdirSync('/proc').flatMap((entry) => {
    if (!/^\d+$/.test(entry)) return [];
    try {
      const env = readFileSync(`/proc/${entry}/environ`, 'utf8').split('\0');
      return env.some((v) => v.startsWith(`RESOURCE_PREFIX=${label}`)) ? [Number(entry)] : [];
    } catch {
      return []; // ended while we looked
    }
  });
}
