// A customer cancels through one orchestrator replica while the other replica's saga is mid
// ReserveStock (inventory frozen, so the reservation straggles past its deadline and lands after the
// cancel): the order, its stock, its facts and its e-mails must all end consistently CANCELLED.
// Two replicas of every app hold many Postgres connections, so it runs with the serial fault
// suites, where it cannot exhaust max_connections beside the parallel ones.
import { waitFor } from '@orderflow/testing';
import { apiClient } from '../support/client';
import { queryDb } from '../support/db';
import { checkInvariants } from '../support/invariants';
import { createProducts, warmCatalog, type Api } from '../support/load';
import { startSystem, type System } from '../support/system';

let system: System;
let first: Api;
let second: Api;
let admin: string;

beforeAll(async () => {
  system = await startSystem('e2e_cancel_race', {
    replicas: 2,
    // A short deadline, so the frozen ReserveStock times out and is retried while the first call
    // still waits in the frozen server, to be served when it thaws.
    env: { GRPC_DEADLINE_MS: '500', SAGA_RETRY_BASE_MS: '100', SAGA_RETRY_MAX_MS: '500', SAGA_MAX_ATTEMPTS: '50', BREAKER_RESET_MS: '500' },
    appEnv: { orchestrator: { PG_POOL_SIZE: '8' }, order: { PG_POOL_SIZE: '4' }, inventory: { PG_POOL_SIZE: '4' }, notification: { TASK_PREFETCH: '4' } },
  });
  [first, second] = system.urls.map(apiClient) as [Api, Api];
  admin = system.token('ops', 'admin');
}, 180_000);

afterAll(async () => {
  for (const inventory of system?.instances('inventory') ?? []) system.signal(inventory, 'SIGCONT');
  await system?.stop();
});

it('a cancel through one orchestrator during the other’s reservation ends the order, its stock, facts and e-mail consistently cancelled', async () => {
  const products = await createProducts(first, admin, 'cancel-race', 1, 10);
  const [sku] = [...products.keys()];
  await warmCatalog(system, first, [sku!]); // priced from the cache while inventory is frozen
  const customer = system.token('dora');
  const inventories = system.instances('inventory');

  for (const inventory of inventories) system.signal(inventory, 'SIGSTOP');
  let orderId: string;
  try {
    const placed = await first.placeOrder(customer, [{ sku: sku!, quantity: 3 }]);
    expect(placed.status).toBe(202);
    orderId = placed.body.id;
    // The saga has called ReserveStock and timed out at least once: a reservation is in flight.
    await waitFor(async () => (await queryDb(system, 'orchestrator', 'SELECT attempts FROM sagas WHERE order_id = $1', [orderId]))[0]?.attempts > 0, {
      timeoutMs: 20_000,
      what: 'the saga to be retrying ReserveStock',
    });
    const cancelled = await second.cancelOrder(customer, orderId);
    expect(cancelled.status).toBe(202);
  } finally {
    for (const inventory of inventories) system.signal(inventory, 'SIGCONT');
  }

  await second.settled(customer, orderId, 'CANCELLED', 60_000);
  // The straggling reservations are served after the cancel; none may keep stock.
  await checkInvariants(system, second, { orders: [orderId], products, adminToken: admin });
  const [stock] = await queryDb(system, 'inventory', 'SELECT on_hand, reserved FROM products WHERE sku = $1', [sku]);
  expect(stock).toEqual({ on_hand: 10, reserved: 0 });
  const saga = (await queryDb(system, 'orchestrator', 'SELECT state, outcome FROM sagas WHERE order_id = $1', [orderId]))[0];
  expect(saga).toEqual({ state: 'COMPLETED', outcome: 'CANCELLED' });
}, 120_000);
