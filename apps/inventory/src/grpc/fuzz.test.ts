// Garbage in over gRPC: every InventoryService method answers OK or a client error (never INTERNAL
// or UNKNOWN), and the server keeps serving even after undecodable bytes.
import { status, type Server } from '@grpc/grpc-js';
import fc from 'fast-check';
import type { Pool } from 'pg';
import { createPool } from '@orderflow/db';
import {
  createGrpcServer,
  InventoryServiceService,
  GetProductsRequest,
  ReleaseStockRequest,
  ReserveStockBatchRequest,
  ReserveStockRequest,
  UpsertProductRequest,
  startGrpcServer,
  stopGrpcServer,
} from '@orderflow/proto';
import { CLIENT_STATUSES, createTestDatabase, fuzzInt64, fuzzText, rawGrpcClient, type TestDatabase } from '@orderflow/testing';
import { createStockRepository } from '../db/stock-repository';
import { createStockUseCases } from '../stock';
import { createInventoryService } from './inventory-service';

let db: TestDatabase;
let pool: Pool;
let server: Server;
let client: ReturnType<typeof rawGrpcClient>;

beforeAll(async () => {
  db = await createTestDatabase('inventory', 'fuzz_inventory');
  pool = createPool(db.url);
  server = createGrpcServer();
  server.addService(InventoryServiceService, createInventoryService(createStockUseCases(createStockRepository(pool), { topic: 'inventory-events' })));
  client = rawGrpcClient(`127.0.0.1:${await startGrpcServer(server, '127.0.0.1', 0)}`);
});

afterAll(async () => {
  client.close();
  await stopGrpcServer(server, 1_000);
  await pool.end();
  await db.drop();
});

const path = (method: string) => `/orderflow.inventory.v1.InventoryService/${method}`;
const methods: [string, fc.Arbitrary<Uint8Array>][] = [
  ['GetProducts', fc.array(fuzzText, { maxLength: 600 }).map((skus) => GetProductsRequest.encode({ skus }).finish())],
  ['UpsertProduct', fc.record({ sku: fuzzText, name: fuzzText, priceCents: fuzzInt64, stock: fuzzInt64 }).map((r) => UpsertProductRequest.encode(r).finish())],
  [
    'ReserveStock',
    fc
      .record({ orderId: fuzzText, items: fc.array(fc.record({ sku: fuzzText, quantity: fuzzInt64 }), { maxLength: 120 }) })
      .map((r) => ReserveStockRequest.encode(r).finish()),
  ],
  ['ReleaseStock', fc.record({ orderId: fuzzText }).map((r) => ReleaseStockRequest.encode(r).finish())],
  [
    'ReserveStockBatch',
    fc
      .array(fc.record({ orderId: fuzzText, items: fc.array(fc.record({ sku: fuzzText, quantity: fuzzInt64 }), { maxLength: 8 }), traceparent: fuzzText }), {
        maxLength: 300,
      })
      .map((reservations) => ReserveStockBatchRequest.encode({ reservations }).finish()),
  ],
];

describe('InventoryService under generated garbage', () => {
  it.each(methods)(
    '%s answers every generated request with OK or a client error',
    async (method, request) => {
      await fc.assert(
        fc.asyncProperty(request, async (bytes) => {
          expect(CLIENT_STATUSES.has(await client.call(path(method), bytes))).toBe(true);
        }),
        { numRuns: 300 },
      );
    },
    120_000,
  );

  it('keeps serving after undecodable bytes', async () => {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ maxLength: 200 }), fc.constantFrom(...methods.map(([m]) => m)), async (bytes, method) => {
        await client.call(path(method), bytes); // the protobuf decoder may refuse it; the process must live on
      }),
      { numRuns: 300 },
    );
    expect(await client.call(path('GetProducts'), new Uint8Array())).toBe(status.OK);
  }, 120_000);
});
