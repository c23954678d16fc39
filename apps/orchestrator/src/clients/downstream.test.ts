// Per-downstream deadlines and breakers, from env to the clients. The downstream is a socket that
// accepts and never answers (a hung service: the one fault a real server would not play for us).
import { status as GrpcStatus } from '@grpc/grpc-js';
import pino from 'pino';
import { failureOf, startSilentServer, type SilentServer } from '@orderflow/testing';
import { loadOrchestratorConfig, downstreamSettings } from '../config';
import { createBreakers } from './breakers';
import { createDownstreamClients } from './downstream';

const secret = 'a-real-secret-of-at-least-32-characters!';
const config = (env: NodeJS.ProcessEnv) => loadOrchestratorConfig({ JWT_SECRET: secret, ...env });

describe('per-downstream settings', () => {
  let hung: SilentServer;
  beforeAll(async () => void (hung = await startSilentServer()));
  afterAll(() => hung.close());

  it('give the inventory client INVENTORY_GRPC_DEADLINE_MS while the order client keeps the shared GRPC_DEADLINE_MS', async () => {
    const { address } = hung;
    const settings = downstreamSettings(config({ GRPC_DEADLINE_MS: '1500', INVENTORY_GRPC_DEADLINE_MS: '200' }));
    const clients = createDownstreamClients({ orderAddress: address, inventoryAddress: address, deadlineMs: settings.deadlineMs });
    try {
      const [inventory, order] = await Promise.all([failureOf(clients.inventory.getProducts(['V60'])), failureOf(clients.orders.getOrder('o-1'))]);
      expect(inventory.error.code).toBe('UNAVAILABLE');
      expect(inventory.ms).toBeGreaterThanOrEqual(150);
      expect(inventory.ms).toBeLessThan(1_000);
      expect(order.error.code).toBe('UNAVAILABLE');
      expect(order.ms).toBeGreaterThanOrEqual(1_400);
    } finally {
      clients.close();
    }
  });

  it('give each breaker its own thresholds, falling back to the shared BREAKER_* ones', async () => {
    const settings = downstreamSettings(config({ BREAKER_VOLUME_THRESHOLD: '10', INVENTORY_BREAKER_VOLUME_THRESHOLD: '1', ORDER_BREAKER_RESET_MS: '9000' }));
    expect(settings.breakers.order).toEqual({ errorThresholdPercentage: 50, resetTimeoutMs: 9_000, volumeThreshold: 10 });
    expect(settings.breakers.inventory).toEqual({ errorThresholdPercentage: 50, resetTimeoutMs: 3_000, volumeThreshold: 1 });

    const breakers = createBreakers(settings.breakers, pino({ level: 'silent' }));
    const unavailable = () => Promise.reject(Object.assign(new Error('connection refused'), { code: GrpcStatus.UNAVAILABLE }));
    try {
      await expect(breakers.wrap('inventory', unavailable)).rejects.toThrow('connection refused');
      await expect(breakers.wrap('order', unavailable)).rejects.toThrow('connection refused');
      // One failure opens inventory (threshold 1); order needs ten calls before it may open.
      await expect(breakers.wrap('inventory', unavailable)).rejects.toMatchObject({ code: 'UNAVAILABLE', details: { circuitOpen: true } });
      expect(breakers.states().filter((s) => s.name !== 'redis')).toEqual([
        { name: 'order', state: 'closed' },
        { name: 'inventory', state: 'open' },
      ]);
    } finally {
      breakers.shutdown();
    }
  });

  it('are refused at start-up when out of range, naming the variable', () => {
    expect(() => config({ INVENTORY_GRPC_DEADLINE_MS: '0' })).toThrow(/INVENTORY_GRPC_DEADLINE_MS: expected an integer 50-60000/);
    expect(() => config({ ORDER_BREAKER_ERROR_PERCENT: 'half' })).toThrow(/ORDER_BREAKER_ERROR_PERCENT: expected a number/);
    expect(downstreamSettings(config({ ORDER_GRPC_DEADLINE_MS: '' })).deadlineMs).toEqual({ order: 3_000, inventory: 3_000 });
  });
});
