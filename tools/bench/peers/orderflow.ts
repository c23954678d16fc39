// orderflow as the benchmark drives it: the four built apps (dist/) with their own databases, topics and
// queues, started by the e2e harness; or, for `make bench`, a system that is already running.
import { databaseName } from '@orderflow/config';
import { createPool, databaseUrl, SERVICES } from '@orderflow/db';
import { startSystem, type System } from '../../../e2e/support/system';
import { findAppPids } from '../processes';
import type { BenchTarget, OrderLine, OrderTiming, RunningTarget, StockRow } from './target';

/** orderflow's four databases under `prefix`: the commits a bench counts as the system's. */
export const orderflowDatabases = (prefix: string) => SERVICES.map((service) => databaseName(service, prefix));

/** The read side every system offers the invariant checks, here from orderflow's four databases. */
export type OrderflowQueries = Pick<RunningTarget, 'timings' | 'orderLines' | 'stock' | 'emailsPerOrder' | 'idempotencyKeys'> & { close(): Promise<void> };

export function orderflowQueries(serverUrl: string, prefix: string): OrderflowQueries {
  const db = (service: string) => createPool(databaseUrl(serverUrl, databaseName(service, prefix)), 2);
  const pools = { orchestrator: db('orchestrator'), order: db('order'), inventory: db('inventory'), notification: db('notification') };
  return {
    async timings(ids): Promise<OrderTiming[]> {
      const { rows } = await pools.orchestrator.query('SELECT order_id, created_at, finished_at, outcome FROM sagas WHERE order_id = ANY($1)', [ids]);
      return rows.map((r) => ({ id: r.order_id, placedAt: r.created_at, finishedAt: r.finished_at, outcome: r.finished_at ? r.outcome : null }));
    },
    async orderLines(ids): Promise<OrderLine[]> {
      const { rows } = await pools.order.query(
        'SELECT o.id, o.status, i.sku, i.quantity FROM orders o JOIN order_items i ON i.order_id = o.id WHERE o.id = ANY($1)',
        [ids],
      );
      return rows;
    },
    async stock(skus): Promise<StockRow[]> {
      const { rows } = await pools.inventory.query('SELECT sku, on_hand, reserved FROM products WHERE sku = ANY($1)', [skus]);
      return rows.map((r) => ({ sku: r.sku, onHand: r.on_hand, reserved: r.reserved }));
    },
    async emailsPerOrder(ids) {
      const { rows } = await pools.notification.query('SELECT order_id, count(*)::int AS n FROM emails WHERE order_id = ANY($1) GROUP BY order_id', [ids]);
      return new Map(rows.map((r) => [r.order_id as string, r.n as number]));
    },
    async idempotencyKeys(callerPrefix) {
      const { rows } = await pools.orchestrator.query(
        `SELECT count(*)::int AS keys, count(DISTINCT resource_id)::int AS orders FROM idempotency_keys WHERE caller LIKE $1 AND resource_id IS NOT NULL`,
        [`${callerPrefix}%`],
      );
      return { keys: rows[0].keys, distinctOrders: rows[0].orders };
    },
    close: async () => void (await Promise.all(Object.values(pools).map((p) => p.end()))),
  };
}

/** `system` as a benchmark target; `system.stop()` is left to `cleanup` (it also removes everything). */
export function asRunningTarget(system: System, serverUrl: string): RunningTarget {
  const queries = orderflowQueries(serverUrl, system.prefix);
  let pids = findAppPids(system.prefix);
  const apps = system.instances();
  return {
    url: system.url,
    databases: orderflowDatabases(system.prefix),
    sign: (sub, role) => system.token(sub, role),
    appPids: () => pids,
    async killAndRestart() {
      // Every app at once, as a power cut of the application tier would.
      await Promise.all(apps.map((instance) => system.kill(instance, 'SIGKILL')));
      for (const instance of apps) await system.start(instance);
      await system.ready();
      pids = findAppPids(system.prefix);
    },
    async stop() {
      await queries.close();
      await Promise.all(apps.map((instance) => system.kill(instance)));
    },
    cleanup: () => system.stop(),
    timings: queries.timings,
    orderLines: queries.orderLines,
    stock: queries.stock,
    emailsPerOrder: queries.emailsPerOrder,
    idempotencyKeys: queries.idempotencyKeys,
  };
}

/** orderflow built into `distDir` (default this checkout's dist/), as the target `name`; `nodeArgs` go to each app's node. */
export function orderflowBuild(name: string, description: string, distDir?: string, nodeArgs?: string[]): BenchTarget {
  return {
    name,
    description,
    infrastructure: ['kafka', 'rabbitmq', 'redis'],
    async start({ label, env }) {
      const system = await startSystem(label, { env, ...(distDir ? { distDir } : {}), ...(nodeArgs?.length ? { nodeArgs } : {}) });
      return asRunningTarget(system, process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres');
    },
  };
}

// BENCH_NODE_ARGS: extra node flags for orderflow's apps (not the baseline's), e.g. to measure a GC setting.
const extraNodeArgs = (process.env.BENCH_NODE_ARGS ?? '').split(' ').filter(Boolean);
export const orderflowTarget = orderflowBuild(
  'orderflow',
  `the four apps as built (orchestrator, order, inventory, notification) with Kafka, RabbitMQ, Redis and Postgres; production defaults${extraNodeArgs.length ? `, node ${extraNodeArgs.join(' ')}` : ''}`,
  undefined,
  extraNodeArgs,
);
