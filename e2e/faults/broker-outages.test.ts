// Fault tests: the shared Kafka and RabbitMQ brokers go away mid-load. They stop and start brokers
// every suite uses, so `make test-faults` (`node scripts/run-tests.mjs faults`) runs them alone.
import { waitFor } from '@orderflow/testing';
import { apiClient, collectFacts } from '../support/client';
import { consumerCaughtUp, kafkaBroker, rabbitBroker, withBrokerDown } from '../support/faults';
import { waitForExclusiveBrokers } from '../support/freeze';
import { expectEveryOrderConfirmed } from '../support/invariants';
import { createProducts, deadline, orderLoad, type Api } from '../support/load';
import { startSystem, type System } from '../support/system';

let system: System;
let api: Api;
let admin: string;

beforeAll(async () => {
  await waitForExclusiveBrokers(); // a manual run must not stop brokers under someone else's tests
  system = await startSystem('faults_brokers', {
    // Sagas are started by order.placed facts; while Kafka is away the watchdog resumes them instead.
    env: { SAGA_WATCHDOG_MS: '3000', SAGA_RETRY_MAX_MS: '1000' },
  });
  api = apiClient(system.url);
  admin = system.token('ops', 'admin');
}, 16 * 60_000);

afterAll(async () => {
  // A failed test may have left a broker down; the next suites need it.
  for (const broker of [kafkaBroker, rabbitBroker]) if (!(await broker.reachable())) await broker.start();
  await system?.stop();
});

it('accepts orders while Kafka is down for 15 s, then delivers every fact once it is back, with nothing lost or doubled', async () => {
  const products = await createProducts(api, admin, 'kafka-down', 3, 500);
  const load = orderLoad(system, api, [...products.keys()]);
  await load.place(10);
  await withBrokerDown(kafkaBroker, async () => {
    await load.keepPlacing({ until: deadline(15_000), lanes: 2, everyMs: 250 });
    expect(load.refused).toEqual([]);
  });
  await load.place(10);

  await expectEveryOrderConfirmed(system, api, load, { products, adminToken: admin, atLeast: 50 });

  // On the topics, every order has each of its facts once (by event id; a re-sent batch may repeat a message).
  const facts = await collectFacts([system.topics.orderEvents, system.topics.inventoryEvents]);
  try {
    const factTypes = (id: string) => [...new Map(facts.of(id).map((f) => [f.event.id, f.event.type])).values()].sort();
    await waitFor(() => load.ids().every((id) => factTypes(id).length === 3), { timeoutMs: 30_000, what: 'every order’s facts on Kafka' });
    expect(load.ids().filter((id) => factTypes(id).join() !== 'order.confirmed,order.placed,stock.reserved')).toEqual([]);
  } finally {
    await facts.stop();
  }
  // And the orchestrator's consumers came back and consumed them.
  await waitFor(() => consumerCaughtUp(`${system.prefix}orchestrator.saga`, system.topics.orderEvents), {
    timeoutMs: 30_000,
    what: 'the saga consumer to catch up',
  });
  await waitFor(() => consumerCaughtUp(`${system.prefix}orchestrator.catalog`, system.topics.inventoryEvents), {
    timeoutMs: 30_000,
    what: 'the catalog consumer to catch up',
  });
}, 150_000);

it('sends every e-mail exactly once when RabbitMQ restarts mid-load', async () => {
  const products = await createProducts(api, admin, 'rabbit-restart', 3, 500);
  const load = orderLoad(system, api, [...products.keys()]);
  let restarted = false;
  const placing = load.keepPlacing({ until: () => restarted, lanes: 2, everyMs: 100 });
  try {
    await waitFor(() => load.accepted.length >= 20, { what: '20 orders before the restart' });
    await withBrokerDown(rabbitBroker, () => waitFor(() => load.accepted.length >= 40, { what: '20 orders while RabbitMQ is down' }));
    await waitFor(() => load.accepted.length >= 60, { what: '20 orders after the restart' });
  } finally {
    restarted = true;
    await placing;
  }

  await expectEveryOrderConfirmed(system, api, load, { products, adminToken: admin });
}, 150_000);
