// Garbage in over gRPC: every OrderService method answers OK or a client error (never INTERNAL or
// UNKNOWN), and the server keeps serving even after undecodable bytes.
import { status, type Server } from '@grpc/grpc-js';
import fc from 'fast-check';
import type { Pool } from 'pg';
import { createPool } from '@orderflow/db';
import {
  CancelOrderRequest,
  ConfirmOrderRequest,
  ConfirmOrdersRequest,
  createGrpcServer,
  CreateOrderRequest,
  CreateOrdersRequest,
  GetOrderRequest,
  ListOrdersRequest,
  OrderServiceService,
  RejectOrderRequest,
  startGrpcServer,
  stopGrpcServer,
} from '@orderflow/proto';
import { CLIENT_STATUSES, createTestDatabase, fuzzInt32, fuzzInt64, fuzzText, rawGrpcClient, type TestDatabase } from '@orderflow/testing';
import { createOrderRepository } from '../db/order-repository';
import { createOrderUseCases } from '../orders';
import { createOrderService } from './order-service';

let db: TestDatabase;
let pool: Pool;
let server: Server;
let client: ReturnType<typeof rawGrpcClient>;

beforeAll(async () => {
  db = await createTestDatabase('order', 'fuzz_order');
  pool = createPool(db.url);
  server = createGrpcServer();
  server.addService(OrderServiceService, createOrderService(createOrderUseCases(createOrderRepository(pool))));
  client = rawGrpcClient(`127.0.0.1:${await startGrpcServer(server, '127.0.0.1', 0)}`);
});

afterAll(async () => {
  client.close();
  await stopGrpcServer(server, 1_000);
  await pool.end();
  await db.drop();
});

const path = (method: string) => `/orderflow.order.v1.OrderService/${method}`;
const items = fc.array(fc.record({ sku: fuzzText, quantity: fuzzInt64, unitPriceCents: fuzzInt64 }), { maxLength: 120 });
const methods: [string, fc.Arbitrary<Uint8Array>][] = [
  ['CreateOrder', fc.record({ orderId: fuzzText, customerId: fuzzText, items, traceparent: fuzzText }).map((r) => CreateOrderRequest.encode(r).finish())],
  ['GetOrder', fc.record({ orderId: fuzzText, customerId: fuzzText }).map((r) => GetOrderRequest.encode(r).finish())],
  ['ListOrders', fc.record({ customerId: fuzzText, limit: fuzzInt32, cursor: fuzzText }).map((r) => ListOrdersRequest.encode(r).finish())],
  ['ConfirmOrder', fc.record({ orderId: fuzzText }).map((r) => ConfirmOrderRequest.encode(r).finish())],
  ['RejectOrder', fc.record({ orderId: fuzzText, reason: fuzzText }).map((r) => RejectOrderRequest.encode(r).finish())],
  ['CancelOrder', fc.record({ orderId: fuzzText }).map((r) => CancelOrderRequest.encode(r).finish())],
  [
    'CreateOrders',
    fc
      .array(
        fc.record({
          orderId: fuzzText,
          customerId: fuzzText,
          items: fc.array(fc.record({ sku: fuzzText, quantity: fuzzInt64, unitPriceCents: fuzzInt64 }), { maxLength: 8 }),
          traceparent: fuzzText,
        }),
        { maxLength: 300 },
      )
      .map((orders) => CreateOrdersRequest.encode({ orders }).finish()),
  ],
  [
    'ConfirmOrders',
    fc
      .record({ orderIds: fc.array(fuzzText, { maxLength: 300 }), traceparents: fc.array(fuzzText, { maxLength: 300 }) })
      .map((r) => ConfirmOrdersRequest.encode(r).finish()),
  ],
];

describe('OrderService under generated garbage', () => {
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
        await client.call(path(method), bytes);
      }),
      { numRuns: 300 },
    );
    expect(await client.call(path('ListOrders'), new Uint8Array())).toBe(status.OK);
  }, 120_000);
});
