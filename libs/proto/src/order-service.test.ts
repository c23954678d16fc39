import { Metadata, status, type Server } from '@grpc/grpc-js';
import { callUnary, createGrpcClient } from './client';
import { OrderServiceClient, OrderServiceService, OrderStatus, type Order, type OrderServiceServer } from './gen/orderflow/order/v1/order';
import { createGrpcServer, startGrpcServer, stopGrpcServer } from './server';
import { errorCodeOf, grpcError, grpcStatusOf } from './status';

/**
 * Just enough OrderService to prove the generated stubs and the status plumbing: an in-memory map and
 * NOT_FOUND for the rest. Ownership rules live in the real service (apps/order/src/grpc/order-service.test.ts).
 */
function tinyOrderService(): OrderServiceServer {
  const orders = new Map<string, Order>();
  const unimplemented = (_call: unknown, callback: (error: Error) => void) => callback(grpcError(status.UNIMPLEMENTED, 'not in this test'));
  return {
    createOrder({ request }, callback) {
      const now = new Date().toISOString();
      const order: Order = {
        id: request.orderId,
        customerId: request.customerId,
        status: OrderStatus.PENDING,
        items: request.items,
        totalCents: request.items.reduce((sum, item) => sum + item.quantity * item.unitPriceCents, 0),
        reason: '',
        createdAt: now,
        updatedAt: now,
      };
      orders.set(order.id, orders.get(order.id) ?? order);
      callback(null, orders.get(order.id));
    },
    getOrder({ request, metadata }, callback) {
      const order = orders.get(request.orderId);
      if (!order) {
        return callback(grpcError('NOT_FOUND', `order ${request.orderId} not found (trace ${metadata.get('traceparent')[0] ?? '-'})`));
      }
      callback(null, order);
    },
    listOrders: unimplemented,
    confirmOrder: unimplemented,
    rejectOrder: unimplemented,
    cancelOrder: unimplemented,
    createOrders: unimplemented,
    confirmOrders: unimplemented,
  };
}

describe('OrderService stubs over a real port', () => {
  let server: Server;
  let client: OrderServiceClient;

  beforeAll(async () => {
    server = createGrpcServer();
    server.addService(OrderServiceService, tinyOrderService());
    client = createGrpcClient(OrderServiceClient, `127.0.0.1:${await startGrpcServer(server, '127.0.0.1', 0)}`);
  });
  afterAll(async () => {
    client.close();
    await stopGrpcServer(server, 1_000);
  });

  test('a generated client creates an order and reads it back with int64 cents as plain numbers', async () => {
    const items = [{ sku: 'BEAN-1KG', quantity: 2, unitPriceCents: 2_450 }];
    const created = await callUnary(client.createOrder.bind(client), { orderId: 'o-1', customerId: 'alice', items, traceparent: '' }, { timeoutMs: 2_000 });
    const read = await callUnary(client.getOrder.bind(client), { orderId: 'o-1', customerId: 'alice' }, { timeoutMs: 2_000 });

    expect(created).toMatchObject({ id: 'o-1', status: OrderStatus.PENDING, items, totalCents: 4_900 });
    expect(read).toEqual(created);
    expect(typeof read.totalCents).toBe('number');
  });

  test('GetOrder for a missing order fails with NOT_FOUND and the domain code in trailers', async () => {
    const metadata = new Metadata();
    metadata.set('traceparent', '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01');
    const error = await callUnary(client.getOrder.bind(client), { orderId: 'missing', customerId: '' }, { timeoutMs: 2_000, metadata }).catch(
      (e: unknown) => e,
    );

    expect(grpcStatusOf(error)).toBe(status.NOT_FOUND);
    expect(errorCodeOf(error)).toBe('NOT_FOUND');
    expect((error as Error).message).toContain('order missing not found (trace 00-0af7651916cd43dd8448eb211c80319c');
  });

  test('an aborted call fails with CANCELLED', async () => {
    const controller = new AbortController();
    const pending = callUnary(client.getOrder.bind(client), { orderId: 'o-1', customerId: '' }, { timeoutMs: 2_000, signal: controller.signal });
    controller.abort();

    expect(grpcStatusOf(await pending.catch((e: unknown) => e))).toBe(status.CANCELLED);
  });
});
