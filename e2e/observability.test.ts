// What an operator sees of a running system: metrics that move with an order, one trace id through
// the logs of all four processes, and /status following a frozen downstream while readiness holds.
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { parse } from 'yaml';
import { repoRoot } from '@orderflow/config';
import { testInfra, waitFor } from '@orderflow/testing';
import { apiClient, mails } from './support/client';
import { newTraceparent, parseLogs, scrape, type Scrape } from './support/observe';
import { APPS, startSystem, type AppName, type System } from './support/system';
import { queriedMetrics } from '../tools/deploy-check/metric-names';

let system: System;
let api: ReturnType<typeof apiClient>;
let admin: string;

beforeAll(async () => {
  system = await startSystem('e2e_observe');
  api = apiClient(system.url);
  admin = system.token('ops', 'admin');
}, 120_000);

afterAll(async () => {
  await system?.stop();
});

async function product(stock = 10): Promise<string> {
  const sku = `OBS-${randomUUID().slice(0, 8)}`.toUpperCase();
  expect((await api.putProduct(admin, sku, { name: `Coffee ${sku}`, priceCents: 900, stock })).status).toBe(201);
  return sku;
}

/** Places one order and waits until it is confirmed and its e-mail is written. */
async function confirmedOrder(headers: Record<string, string> = {}): Promise<string> {
  const customer = system.token(`obs-${randomUUID()}`);
  const placed = await api.placeOrder(customer, [{ sku: await product(), quantity: 1 }], randomUUID(), headers);
  expect(placed.status).toBe(202);
  await api.settled(customer, placed.body.id, 'CONFIRMED', 60_000);
  await waitFor(() => mails(system.mailDir).some((m) => m.text.includes(placed.body.id)), { what: 'the confirmation e-mail' });
  return placed.body.id;
}

const scrapeAll = async () =>
  Object.fromEntries(await Promise.all(APPS.map(async (app) => [app, await scrape(system.opsUrl(app))] as const))) as Record<AppName, Scrape>;

const ORDER = '/orderflow.order.v1.OrderService';
const INVENTORY = '/orderflow.inventory.v1.InventoryService';

describe('metrics', () => {
  // [process, metric, labels]: counters and histogram counts that one confirmed order must move.
  const moving: [AppName, string, Record<string, string>][] = [
    ['orchestrator', 'orderflow_orders_total', { outcome: 'placed' }],
    ['orchestrator', 'orderflow_orders_total', { outcome: 'confirmed' }],
    ['orchestrator', 'orderflow_saga_duration_seconds_count', { outcome: 'confirmed', state: 'completed' }],
    ['orchestrator', 'orderflow_http_request_duration_seconds_count', { method: 'POST', route: '/v1/orders', status_code: '202' }],
    ['orchestrator', 'orderflow_http_request_duration_seconds_count', { method: 'GET', route: '/v1/orders/:id', status_code: '200' }],
    // Placements and fresh sagas go through the batched calls.
    ['order', 'orderflow_grpc_server_request_duration_seconds_count', { method: `${ORDER}/CreateOrders`, code: 'OK' }],
    ['order', 'orderflow_grpc_server_request_duration_seconds_count', { method: `${ORDER}/ConfirmOrders`, code: 'OK' }],
    ['inventory', 'orderflow_grpc_server_request_duration_seconds_count', { method: `${INVENTORY}/ReserveStockBatch`, code: 'OK' }],
    ['notification', 'orderflow_notification_emails_sent_total', { template: 'order-confirmed' }],
  ];

  it('move with an order: orders by outcome, saga duration, HTTP and gRPC request histograms, e-mails sent', async () => {
    const before = await scrapeAll();
    await confirmedOrder();
    const after = await waitFor(
      async () => {
        const now = await scrapeAll();
        return moving.every(([app, name, labels]) => now[app].sum(name, labels) > before[app].sum(name, labels)) && now;
      },
      { timeoutMs: 15_000, intervalMs: 250, what: 'the order metrics to move' },
    ).catch(async () => scrapeAll());
    for (const [app, name, labels] of moving) {
      expect({ app, name, labels, moved: after[app].sum(name, labels) > before[app].sum(name, labels) }).toEqual({ app, name, labels, moved: true });
    }
  });

  it('exist on every process: process metrics, HTTP histogram, outbox backlog, consumer lag, queue depth, breakers, retries, dead letters', async () => {
    const prefix = system.prefix;
    const expected: [AppName, string, Record<string, string>?][] = [
      ...APPS.flatMap((app): [AppName, string, Record<string, string>][] => [
        [app, 'process_resident_memory_bytes', { service: app }],
        [app, 'nodejs_eventloop_lag_seconds', { service: app }],
        [app, 'orderflow_http_request_duration_seconds_count', { route: '/metrics', method: 'GET', status_code: '200' }],
        [app, 'orderflow_dependency_up', { dependency: 'postgres' }],
      ]),
      ['orchestrator', 'orderflow_sagas_in_flight'],
      ['orchestrator', 'orderflow_outbox_backlog_messages'],
      ['orchestrator', 'orderflow_outbox_oldest_message_age_seconds'],
      ['orchestrator', 'orderflow_kafka_consumer_lag_messages', { group: `${prefix}orchestrator.saga`, topic: `${prefix}order-events` }],
      ['orchestrator', 'orderflow_kafka_consumer_lag_messages', { group: `${prefix}orchestrator.catalog`, topic: `${prefix}inventory-events` }],
      ['orchestrator', 'orderflow_circuit_breaker_state', { downstream: 'order', state: 'closed' }],
      ['orchestrator', 'orderflow_circuit_breaker_state', { downstream: 'order', state: 'open' }],
      ['inventory', 'orderflow_outbox_backlog_messages'],
      ['inventory', 'orderflow_outbox_oldest_message_age_seconds'],
      ['notification', 'orderflow_task_queue_messages', { queue: 'notification.send' }],
      ['notification', 'orderflow_task_queue_messages', { queue: 'notification.send.dlq' }],
      ['notification', 'orderflow_task_queue_consumers', { queue: 'notification.send' }],
    ];
    // Scrape twice: the first scrape is itself a request the second one counts.
    await scrapeAll();
    const now = await scrapeAll();
    for (const [app, name, labels] of expected)
      expect({ app, name, labels, present: now[app].has(name, labels) }).toEqual({ app, name, labels, present: true });
    for (const name of [
      'orderflow_saga_step_retries_total',
      'orderflow_dead_letters_total',
      'orderflow_circuit_breaker_transitions_total',
      'orderflow_rate_limiter_errors_total',
    ]) {
      expect(now.orchestrator.families.get(name)).toBe('counter');
    }
    expect(now.notification.sum('orderflow_task_queue_consumers', { queue: 'notification.send' })).toBeGreaterThanOrEqual(1);
  });

  it('report a consumer lag of exactly 0 once the saga consumer has caught up with an order’s facts', async () => {
    const saga = { group: `${system.prefix}orchestrator.saga`, topic: system.topics.orderEvents };
    await confirmedOrder();
    const kafka = new Kafka({ brokers: testInfra().kafkaBrokers, clientId: 'e2e-observe-lag', logLevel: logLevel.NOTHING }).admin();
    await kafka.connect();
    try {
      // Not an empty topic: order.placed and order.confirmed at least, so 0 means committed up to the end.
      const messages = (await kafka.fetchTopicOffsets(saga.topic)).reduce((n, p) => n + Number(p.high) - Number(p.low), 0);
      expect(messages).toBeGreaterThanOrEqual(2);
    } finally {
      await kafka.disconnect();
    }
    // A group that never commits, or a lag counted from the wrong offset, stays above 0. The gauge caches
    // its read for 5 s (registerConsumerLagMetrics), so only a scrape that long after the order counts:
    // an earlier one may still show the lag of the empty topic before it.
    const fresh = Date.now() + 5_000;
    const lag = async () => {
      const metrics = await scrape(system.opsUrl('orchestrator'));
      return metrics.has('orderflow_kafka_consumer_lag_messages', saga) ? metrics.sum('orderflow_kafka_consumer_lag_messages', saga) : undefined;
    };
    await waitFor(async () => Date.now() > fresh && (await lag()) === 0, {
      timeoutMs: 25_000,
      intervalMs: 500,
      what: 'the saga consumer lag to reach 0',
    }).catch(() => undefined);
    expect(await lag()).toBe(0);
  });

  it('cover every metric the Grafana dashboard queries', async () => {
    const dashboard = JSON.parse(readFileSync(join(repoRoot(), 'deploy/grafana/orderflow-dashboard.json'), 'utf8'));
    const exprs: string[] = (dashboard.panels as { targets?: { expr: string }[] }[]).flatMap((p) => (p.targets ?? []).map((t) => t.expr));
    expect(exprs.length).toBeGreaterThan(5);
    // Dashboard queries always select a metric with braces: `name{…}`.
    const used = new Set(exprs.flatMap((e) => [...e.matchAll(/([a-zA-Z_:][a-zA-Z0-9_:]*)\{/g)].map((m) => m[1]!)));
    const all = await scrapeAll();
    const known = new Set(Object.values(all).flatMap((s) => [...s.names()]));
    expect([...used].filter((name) => !known.has(name))).toEqual([]);
  });

  it('cover every metric the alert rules query (deploy/prometheus/alerts.yml)', async () => {
    const file = parse(readFileSync(join(repoRoot(), 'deploy/prometheus/alerts.yml'), 'utf8')) as { groups: { rules: { expr: string }[] }[] };
    const used = new Set(file.groups.flatMap((g) => g.rules.flatMap((r) => queriedMetrics(r.expr))));
    expect(used.size).toBeGreaterThan(5);
    const all = await scrapeAll();
    const known = new Set(Object.values(all).flatMap((s) => [...s.names()]));
    // A histogram's family stands for its _bucket and _count before its first observation.
    expect([...used].filter((name) => !known.has(name) && !known.has(name.replace(/_(bucket|count|sum)$/, '')))).toEqual([]);
  });
});

describe('logs', () => {
  it('carry the traceparent sent with POST /v1/orders through all four processes, as JSON lines with service, traceId, spanId and orderId', async () => {
    const { traceparent, traceId } = newTraceparent();
    const orderId = await confirmedOrder({ traceparent });
    const ofTrace = (app: AppName) => parseLogs(system.logs.get(app) ?? []).entries.filter((l) => l.traceId === traceId);
    await waitFor(() => APPS.every((app) => ofTrace(app).some((l) => l.orderId === orderId)), {
      timeoutMs: 10_000,
      what: 'a log line with the trace id and the order id in every process',
    }).catch(() => undefined);
    for (const app of APPS) {
      const lines = ofTrace(app);
      expect({ app, withOrderId: lines.some((l) => l.orderId === orderId) }).toEqual({ app, withOrderId: true });
      for (const line of lines) expect(line).toMatchObject({ service: app, traceId, spanId: expect.stringMatching(/^[0-9a-f]{16}$/) });
      // A line about this order that knows its trace carries both.
      for (const line of lines.filter((l) => JSON.stringify(l).includes(orderId))) expect(line.orderId).toBe(orderId);
    }
    for (const app of APPS) {
      const { entries, invalid } = parseLogs(system.logs.get(app) ?? []);
      expect({ app, invalid }).toEqual({ app, invalid: [] });
      expect(entries.filter((l) => l.service !== app)).toEqual([]);
    }
  });
});

describe('readiness and status', () => {
  it.each(['order', 'inventory'] as const)(
    'while %s is frozen the orchestrator stays ready and /status names grpc:%s down within 10 s, then back up',
    async (app) => {
      const ops = system.opsUrl('orchestrator');
      const grpcState = async () => {
        const status = (await (await fetch(`${ops}/status`)).json()) as { dependencies: { name: string; ok: boolean; since: string; error?: string }[] };
        return status.dependencies.find((d) => d.name === `grpc:${app}`)!;
      };
      await waitFor(async () => (await grpcState()).ok, { timeoutMs: 10_000, what: `grpc:${app} to be up first` });
      system.signal(app, 'SIGSTOP');
      try {
        const down = await waitFor(async () => ((d) => !d.ok && d)(await grpcState()), {
          timeoutMs: 10_000,
          intervalMs: 100,
          what: `/status to name grpc:${app} down`,
        });
        expect(down.error).toMatch(/did not answer its health check/);
        expect(down.error).not.toMatch(/127\.0\.0\.1/);
        expect((await fetch(`${ops}/readyz`)).status).toBe(200);
      } finally {
        system.signal(app, 'SIGCONT');
      }
      await waitFor(async () => (await grpcState()).ok, { timeoutMs: 10_000, intervalMs: 100, what: `/status to show grpc:${app} back` });
    },
  );
});
