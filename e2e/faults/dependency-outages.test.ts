// Fault tests: one dependency at a time goes away under load (Kafka frozen, RabbitMQ stopped, Redis
// frozen, inventory killed). Throughout, the orchestrator stays ready (readiness is about the process
// itself), GET /status names what is down within 10 s and shows it back after, POST /v1/orders keeps
// answering 202, and afterwards every accepted order ends with nothing lost or doubled. They freeze
// and stop the shared brokers, so `make test-faults` runs them alone.
import { setTimeout as delay } from 'node:timers/promises';
import { waitFor } from '@orderflow/testing';
import { apiClient } from '../support/client';
import { kafkaBroker, rabbitBroker, withBrokerDown } from '../support/faults';
import { thawEveryBroker, waitForExclusiveBrokers, whileFrozen } from '../support/freeze';
import { expectEveryOrderConfirmed } from '../support/invariants';
import { createProducts, deadline, orderLoad, warmCatalog, type Api, type OrderLoad } from '../support/load';
import { startSystem, type System } from '../support/system';

let system: System;
let api: Api;
let admin: string;

beforeAll(async () => {
  await waitForExclusiveBrokers(); // a manual run must not freeze brokers under someone else's tests
  system = await startSystem('faults_deps', {
    env: {
      // Sagas are started by order.placed facts; while Kafka is away the watchdog resumes them instead.
      SAGA_WATCHDOG_MS: '3000',
      // A saga waits out a dependency outage of this file's length instead of failing.
      SAGA_RETRY_BASE_MS: '100',
      SAGA_RETRY_MAX_MS: '1000',
      SAGA_MAX_ATTEMPTS: '100',
      BREAKER_RESET_MS: '1000',
    },
  });
  api = apiClient(system.url);
  admin = system.token('ops', 'admin');
}, 16 * 60_000);

afterAll(async () => {
  // A failed test may have left a broker frozen or down; the next suites need it.
  thawEveryBroker();
  for (const broker of [kafkaBroker, rabbitBroker]) if (!(await broker.reachable())) await broker.start();
  await system?.stop();
});

interface DependencyState {
  name: string;
  ok: boolean;
  since: string;
  error?: string;
}

async function dependency(name: string): Promise<DependencyState> {
  const res = await fetch(`${system.opsUrl('orchestrator')}/status`);
  expect(res.status).toBe(200);
  const found = ((await res.json()) as { dependencies: DependencyState[] }).dependencies.find((d) => d.name === name);
  if (!found) throw new Error(`/status does not list ${name}`);
  return found;
}

/** Probes the orchestrator's /readyz as a kubelet would (every 250 ms) and keeps every answer that was not 200. */
function watchReadiness() {
  const failures: { at: string; status: number | string }[] = [];
  let running = true;
  const probing = (async () => {
    while (running) {
      const status = await fetch(`${system.opsUrl('orchestrator')}/readyz`, { signal: AbortSignal.timeout(1_000) }).then(
        (res) => res.status,
        (error: Error) => error.name,
      );
      if (status !== 200) failures.push({ at: new Date().toISOString(), status });
      await delay(250);
    }
  })();
  return {
    async stop() {
      running = false;
      await probing;
      return failures;
    },
  };
}

/**
 * The shape every outage test shares: a warm system, the readiness probe running, orders flowing
 * while `outage` holds the dependency away; /status must name it within 10 s and show it back within
 * 30 s of the end, no order request may fail, and readiness never drops.
 */
async function throughOutage(label: string, dependencyName: string, outage: (during: () => Promise<void>) => Promise<void>, load: OrderLoad, placeFor: number) {
  await waitFor(async () => (await dependency(dependencyName)).ok, { timeoutMs: 30_000, what: `${dependencyName} to be up before the outage` });
  const readiness = watchReadiness();
  await load.place(10);
  const outageWindow = { from: 0, to: 0 };
  await outage(async () => {
    outageWindow.from = Date.now();
    const placing = load.keepPlacing({ until: deadline(placeFor), lanes: 3, everyMs: 150 });
    const down = await waitFor(async () => ((d) => !d.ok && d)(await dependency(dependencyName)), {
      timeoutMs: 10_000,
      intervalMs: 200,
      what: `/status to name ${dependencyName} down within 10 s`,
    });
    expect(down.error).toBeTruthy();
    await placing;
    outageWindow.to = Date.now();
  });
  await waitFor(async () => (await dependency(dependencyName)).ok, { timeoutMs: 30_000, intervalMs: 200, what: `/status to show ${dependencyName} back` });
  await load.place(10);
  expect({ label, notReady: await readiness.stop() }).toEqual({ label, notReady: [] });
  expect({ label, refused: load.refused, unanswered: load.unanswered }).toEqual({ label, refused: [], unanswered: [] });
  return outageWindow;
}

it('Kafka frozen for 30 s: the orchestrator stays ready, /status names kafka, orders keep being accepted and all confirm after', async () => {
  const products = await createProducts(api, admin, 'kafka-frozen', 3, 1_000);
  const load = orderLoad(system, api, [...products.keys()]);
  await throughOutage('kafka', 'kafka', (during) => whileFrozen('kafka', during), load, 30_000);
  await expectEveryOrderConfirmed(system, api, load, { products, adminToken: admin, atLeast: 50 });
}, 240_000);

it('RabbitMQ stopped: the orchestrator stays ready, /status names rabbitmq, orders keep being accepted and every e-mail goes out once after', async () => {
  const products = await createProducts(api, admin, 'rabbit-stopped', 3, 1_000);
  const load = orderLoad(system, api, [...products.keys()]);
  await throughOutage('rabbitmq', 'rabbitmq', (during) => withBrokerDown(rabbitBroker, during), load, 15_000);
  await expectEveryOrderConfirmed(system, api, load, { products, adminToken: admin, atLeast: 50 });
}, 240_000);

it('Redis frozen: the orchestrator stays ready, /status names redis, POST /v1/orders answers 202 with p99 under 1 s, and all confirm', async () => {
  const products = await createProducts(api, admin, 'redis-frozen', 3, 1_000);
  const load = orderLoad(system, api, [...products.keys()]);
  const frozen = await throughOutage('redis', 'redis', (during) => whileFrozen('redis', during), load, 20_000);
  const p99 = load.percentileMs(99, frozen.from, frozen.to);
  expect({ p99Below1s: p99 < 1_000, p99 }).toEqual({ p99Below1s: true, p99 });
  await expectEveryOrderConfirmed(system, api, load, { products, adminToken: admin, atLeast: 50 });
}, 240_000);

it('inventory killed: the orchestrator stays ready, /status names grpc:inventory, orders keep being accepted and all confirm once it is back', async () => {
  const products = await createProducts(api, admin, 'inventory-killed', 3, 1_000);
  const load = orderLoad(system, api, [...products.keys()]);
  await warmCatalog(system, api, [...products.keys()]); // prices come from the cache while inventory is gone
  await throughOutage(
    'inventory',
    'grpc:inventory',
    async (during) => {
      await system.kill('inventory', 'SIGKILL');
      try {
        await during();
      } finally {
        await system.start('inventory');
      }
    },
    load,
    15_000,
  );
  await expectEveryOrderConfirmed(system, api, load, { products, adminToken: admin, atLeast: 50 });
}, 240_000);
