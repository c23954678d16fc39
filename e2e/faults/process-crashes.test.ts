// Fault tests: a downstream service and then the orchestrator itself die mid-load. Run one file at a
// time by `make test-faults` (`node scripts/run-tests.mjs faults`), apart from every other suite.
import { waitFor } from '@orderflow/testing';
import { apiClient } from '../support/client';
import { metricValue } from '../support/faults';
import { expectEveryOrderConfirmed } from '../support/invariants';
import { createProducts, deadline, orderLoad, warmCatalog, type Api } from '../support/load';
import { startSystem, type System } from '../support/system';

let system: System;
let api: Api;
let admin: string;

beforeAll(async () => {
  system = await startSystem('faults_crashes', {
    env: {
      // Recover within seconds: short retry backoff, a quick breaker trial, a watchdog that resumes the
      // sagas of a killed runner soon, and a key lock that lets a died request be retried after 2 s.
      SAGA_RETRY_BASE_MS: '100',
      SAGA_RETRY_MAX_MS: '1000',
      SAGA_MAX_ATTEMPTS: '10',
      SAGA_WATCHDOG_MS: '3000',
      BREAKER_RESET_MS: '1000',
      IDEMPOTENCY_LOCK_SECONDS: '2',
    },
  });
  api = apiClient(system.url);
  admin = system.token('ops', 'admin');
}, 120_000);

afterAll(async () => {
  await system?.stop();
});

it('confirms every order placed while inventory was SIGKILLed for 10 s, with step retries and the breaker opening and closing in metrics', async () => {
  const products = await createProducts(api, admin, 'inv-down', 3, 500);
  const load = orderLoad(system, api, [...products.keys()]);
  await warmCatalog(system, api, [...products.keys()]); // prices come from the cache while inventory is gone

  await system.kill('inventory', 'SIGKILL');
  try {
    await load.keepPlacing({ until: deadline(10_000), lanes: 2, everyMs: 200 });
  } finally {
    await system.start('inventory');
  }
  await load.place(10);

  await expectEveryOrderConfirmed(system, api, load, { products, adminToken: admin, atLeast: 50 });

  const port = system.opsPort('orchestrator');
  expect(await metricValue(port, 'orderflow_saga_step_retries_total', { step: 'RESERVE_STOCK' })).toBeGreaterThan(0);
  expect(await metricValue(port, 'orderflow_circuit_breaker_transitions_total', { downstream: 'inventory', state: 'open' })).toBeGreaterThan(0);
  expect(await metricValue(port, 'orderflow_circuit_breaker_transitions_total', { downstream: 'inventory', state: 'closed' })).toBeGreaterThan(0);
  expect(await metricValue(port, 'orderflow_circuit_breaker_state', { downstream: 'inventory', state: 'closed' })).toBe(1);
}, 120_000);

it('completes every order exactly once when the orchestrator is SIGKILLed mid-load, and requests that died with it succeed when retried with their key', async () => {
  const products = await createProducts(api, admin, 'orch-down', 3, 500);
  const load = orderLoad(system, api, [...products.keys()]);

  // Four customers order back to back; each stops at the first request the dying orchestrator leaves unanswered.
  const placing = load.keepPlacing({ until: deadline(60_000), lanes: 4, everyMs: 20, stopOnNoAnswer: true });
  await waitFor(() => load.accepted.length >= 25, { what: '25 orders before the crash' });
  await system.kill('orchestrator', 'SIGKILL');
  await placing;
  expect(load.unanswered).toHaveLength(4);

  await system.start('orchestrator');
  const retried = await load.retryUnanswered();
  expect(retried.map((r) => r.status)).toEqual([202, 202, 202, 202]);
  await load.place(25);

  await expectEveryOrderConfirmed(system, api, load, { products, adminToken: admin });
}, 120_000);
