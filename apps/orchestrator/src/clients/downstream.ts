import { Metadata, status as GrpcStatus } from '@grpc/grpc-js';
import { AppError, isAppError, type ErrorCode, type Order, type OrderItem, type OrderStatus } from '@orderflow/domain';
import {
  callUnary,
  errorCodeOf,
  grpcStatusOf,
  isRetryableGrpcError,
  createGrpcClient,
  InventoryServiceClient,
  OrderServiceClient,
  OrderStatus as WireStatus,
  type Order as WireOrder,
  type OrderResult as WireOrderResult,
  type Product as WireProduct,
  type Shortage,
  type UnaryMethod,
} from '@orderflow/proto';

export type Product = Pick<WireProduct, 'sku' | 'name' | 'priceCents' | 'available'>;
/** A product with its on-hand stock (reserved units included), as operators manage it. */
export type StockedProduct = Product & Pick<WireProduct, 'onHand'>;

/** Per-call context that travels in gRPC metadata. */
export interface CallOptions {
  traceparent?: string;
}

/** One order's outcome in a batched call: the calls answer per order, in request order. */
export type BatchOutcome<T> = { orderId: string; ok: true; value: T } | { orderId: string; ok: false; error: AppError };

/** A reservation in a batch: the order's lines, and its own trace for the fact it leads to. */
export interface ReservationRequest {
  orderId: string;
  items: { sku: string; quantity: number }[];
  traceparent?: string;
}

/** The order service as the orchestrator uses it (a port; gRPC is the adapter below). */
export interface OrderPort {
  createOrder(input: { orderId: string; customerId: string; items: OrderItem[] }, options?: CallOptions): Promise<Order>;
  getOrder(orderId: string, customerId?: string): Promise<Order>;
  listOrders(input: { customerId?: string; limit: number; cursor?: string }): Promise<{ orders: Order[]; nextCursor?: string }>;
  confirmOrder(orderId: string, options?: CallOptions): Promise<Order>;
  rejectOrder(orderId: string, reason: string, options?: CallOptions): Promise<Order>;
  cancelOrder(orderId: string, options?: CallOptions): Promise<Order>;
  /** createOrder for many orders in one call, each with its own trace; a rejected promise means none was answered. */
  createOrders(inputs: { orderId: string; customerId: string; items: OrderItem[]; traceparent?: string }[]): Promise<BatchOutcome<Order>[]>;
  /** confirmOrder for many orders in one call, each with its own trace; a rejected promise means none was answered. */
  confirmOrders(orders: { orderId: string; traceparent?: string }[]): Promise<BatchOutcome<Order>[]>;
}

/** The inventory service as the orchestrator uses it. */
export interface InventoryPort {
  getProducts(skus: string[]): Promise<Product[]>;
  /** Every product with its on-hand stock, read from the inventory service (no cache). */
  listStock(): Promise<StockedProduct[]>;
  upsertProduct(input: { sku: string; name: string; priceCents: number; stock: number }): Promise<{ product: Product; created: boolean }>;
  reserveStock(orderId: string, items: { sku: string; quantity: number }[], options?: CallOptions): Promise<{ reserved: boolean; shortages: Shortage[] }>;
  releaseStock(orderId: string, options?: CallOptions): Promise<{ released: boolean }>;
  /** reserveStock for many orders in one call, decided in request order; a rejected promise reserved nothing. */
  reserveStockBatch(reservations: ReservationRequest[]): Promise<{ orderId: string; reserved: boolean; shortages: Shortage[] }[]>;
}

const STATUS_NAMES: Record<number, OrderStatus> = {
  [WireStatus.PENDING]: 'PENDING',
  [WireStatus.CONFIRMED]: 'CONFIRMED',
  [WireStatus.REJECTED]: 'REJECTED',
  [WireStatus.CANCELLED]: 'CANCELLED',
};

export function fromWireOrder(o: WireOrder): Order {
  const status = STATUS_NAMES[o.status];
  if (!status) throw new Error(`order ${o.id} has an unknown status ${o.status}`);
  return {
    id: o.id,
    customerId: o.customerId,
    status,
    items: o.items,
    totalCents: o.totalCents,
    ...(o.reason ? { reason: o.reason } : {}),
    createdAt: o.createdAt,
    updatedAt: o.updatedAt,
  };
}

const toProduct = (p: WireProduct): Product => ({ sku: p.sku, name: p.name, priceCents: p.priceCents, available: p.available });

const CODE_BY_STATUS: Partial<Record<GrpcStatus, ErrorCode>> = {
  [GrpcStatus.NOT_FOUND]: 'NOT_FOUND',
  [GrpcStatus.FAILED_PRECONDITION]: 'INVALID_TRANSITION',
  [GrpcStatus.ALREADY_EXISTS]: 'CONFLICT',
  [GrpcStatus.INVALID_ARGUMENT]: 'VALIDATION_FAILED',
};

/** A gRPC failure as an AppError: the domain code from the trailer when sent, transient ones retryable. */
export function fromGrpcError(error: unknown, service: string): AppError {
  if (isAppError(error)) return error; // already ours (the open circuit breaker's UNAVAILABLE)
  if (isRetryableGrpcError(error)) return new AppError('UNAVAILABLE', `${service} service unavailable`, { retryable: true, cause: error });
  const status = grpcStatusOf(error);
  const code = (errorCodeOf(error) as ErrorCode | undefined) ?? (status === undefined ? undefined : CODE_BY_STATUS[status]) ?? 'INTERNAL';
  const message = (error as { details?: string }).details || `${service} call failed`;
  return new AppError(code, message, { cause: error, retryable: false });
}

/** One order's result of a batched order call as a BatchOutcome; its error is an AppError like a single call's. */
function fromWireResult(r: WireOrderResult): BatchOutcome<Order> {
  if (r.order && !r.error) return { orderId: r.orderId, ok: true, value: fromWireOrder(r.order) };
  const code = (r.error?.code || 'INTERNAL') as ErrorCode;
  return { orderId: r.orderId, ok: false, error: new AppError(code, r.error?.message || 'order call failed', { retryable: code === 'UNAVAILABLE' }) };
}

function metadataOf(options?: CallOptions): Metadata {
  const metadata = new Metadata();
  if (options?.traceparent) metadata.set('traceparent', options.traceparent);
  return metadata;
}

/** Every call has its service's deadline; `wrap` adds the circuit breaker around each call. */
export function createDownstreamClients(options: {
  orderAddress: string;
  inventoryAddress: string;
  deadlineMs: Record<'order' | 'inventory', number>;
  wrap?: <T>(service: 'order' | 'inventory', call: () => Promise<T>) => Promise<T>;
}) {
  const orderClient = createGrpcClient(OrderServiceClient, options.orderAddress);
  const inventoryClient = createGrpcClient(InventoryServiceClient, options.inventoryAddress);
  const wrap = options.wrap ?? ((_service, call) => call());
  const call = <Req, Res>(service: 'order' | 'inventory', method: UnaryMethod<Req, Res>, request: Req, callOptions?: CallOptions) =>
    wrap(service, () => callUnary(method, request, { timeoutMs: options.deadlineMs[service], metadata: metadataOf(callOptions) })).catch((error: unknown) => {
      throw fromGrpcError(error, service);
    });

  const orders: OrderPort = {
    createOrder: async (input, o) => fromWireOrder(await call('order', orderClient.createOrder.bind(orderClient), { ...input, traceparent: '' }, o)),
    getOrder: async (orderId, customerId = '') => fromWireOrder(await call('order', orderClient.getOrder.bind(orderClient), { orderId, customerId })),
    async listOrders({ customerId = '', limit, cursor = '' }) {
      const page = await call('order', orderClient.listOrders.bind(orderClient), { customerId, limit, cursor });
      return { orders: page.orders.map(fromWireOrder), ...(page.nextCursor ? { nextCursor: page.nextCursor } : {}) };
    },
    confirmOrder: async (orderId, o) => fromWireOrder(await call('order', orderClient.confirmOrder.bind(orderClient), { orderId }, o)),
    rejectOrder: async (orderId, reason, o) => fromWireOrder(await call('order', orderClient.rejectOrder.bind(orderClient), { orderId, reason }, o)),
    cancelOrder: async (orderId, o) => fromWireOrder(await call('order', orderClient.cancelOrder.bind(orderClient), { orderId }, o)),
    createOrders: async (orders) =>
      (
        await call('order', orderClient.createOrders.bind(orderClient), { orders: orders.map((x) => ({ ...x, traceparent: x.traceparent ?? '' })) })
      ).results.map(fromWireResult),
    async confirmOrders(orders) {
      const request = { orderIds: orders.map((x) => x.orderId), traceparents: orders.map((x) => x.traceparent ?? '') };
      return (await call('order', orderClient.confirmOrders.bind(orderClient), request)).results.map(fromWireResult);
    },
  };
  const inventory: InventoryPort = {
    getProducts: async (skus) => (await call('inventory', inventoryClient.getProducts.bind(inventoryClient), { skus })).products.map(toProduct),
    listStock: async () =>
      (await call('inventory', inventoryClient.getProducts.bind(inventoryClient), { skus: [] })).products.map((p) => ({ ...toProduct(p), onHand: p.onHand })),
    async upsertProduct(input) {
      const r = await call('inventory', inventoryClient.upsertProduct.bind(inventoryClient), input);
      return { product: toProduct(r.product!), created: r.created };
    },
    reserveStock: (orderId, items, o) => call('inventory', inventoryClient.reserveStock.bind(inventoryClient), { orderId, items }, o),
    releaseStock: (orderId, o) => call('inventory', inventoryClient.releaseStock.bind(inventoryClient), { orderId }, o),
    async reserveStockBatch(reservations) {
      const request = { reservations: reservations.map((r) => ({ orderId: r.orderId, items: r.items, traceparent: r.traceparent ?? '' })) };
      return (await call('inventory', inventoryClient.reserveStockBatch.bind(inventoryClient), request)).results;
    },
  };
  return {
    orders,
    inventory,
    close() {
      orderClient.close();
      inventoryClient.close();
    },
  };
}
