import type { Logger } from 'pino';
import { AppError, type Order } from '@orderflow/domain';
import { unaryHandler as unary, OrderStatus, type OrderServiceServer, type Order as OrderMessage } from '@orderflow/proto';
import type { OrderResult, OrderUseCases } from '../orders';
import { confirmOrdersRequest, createOrderRequest, createOrdersRequest, getOrderRequest, listOrdersRequest, orderIdRequest, rejectOrderRequest } from './validation';

const DEFAULT_PAGE = 20;

function toMessage(order: Order): OrderMessage {
  return { ...order, status: OrderStatus[order.status], reason: order.reason ?? '' };
}

/** Cursor = base64url of "createdAt|id" of the last order on the previous page. */
function encodeCursor(next: { createdAt: string; id: string }): string {
  return Buffer.from(`${next.createdAt}|${next.id}`).toString('base64url');
}
function decodeCursor(cursor: string): { createdAt: string; id: string } | undefined {
  if (!cursor) return undefined;
  const [createdAt, id] = Buffer.from(cursor, 'base64url').toString().split('|');
  if (!createdAt || !id || Number.isNaN(Date.parse(createdAt)) || !/^[0-9a-f-]{36}$/.test(id)) {
    throw new AppError('VALIDATION_FAILED', 'cursor is not valid');
  }
  return { createdAt, id };
}

/** The gRPC OrderService: a thin edge over the use cases; each command logs one line with the order id, a batch one line in all. */
export function createOrderService(orders: OrderUseCases, logger?: Logger): OrderServiceServer {
  const command = async (what: string, work: Promise<Order>) => {
    const order = await work;
    logger?.info({ orderId: order.id, status: order.status }, what);
    return toMessage(order);
  };
  const batch = async (what: string, work: Promise<OrderResult[]>) => {
    const results = await work;
    const failed = results.filter((r) => r.error).length;
    if (results.length) logger?.info({ orders: results.length, failed }, what);
    return {
      results: results.map((r) => (r.error ? { orderId: r.orderId, error: { code: r.error.code, message: r.error.message } } : { orderId: r.orderId, order: toMessage(r.order) })),
    };
  };
  return {
    createOrder: unary(createOrderRequest, (r) => command('order created', orders.createOrder(r))),
    getOrder: unary(getOrderRequest, async (r) => toMessage(await orders.getOrder(r.orderId, r.customerId || undefined))),
    listOrders: unary(listOrdersRequest, async (r) => {
      const page = await orders.listOrders({ customerId: r.customerId || undefined, limit: r.limit || DEFAULT_PAGE, after: decodeCursor(r.cursor) });
      return { orders: page.orders.map(toMessage), nextCursor: page.next ? encodeCursor(page.next) : '' };
    }),
    confirmOrder: unary(orderIdRequest, (r) => command('order confirmed', orders.confirmOrder(r.orderId))),
    rejectOrder: unary(rejectOrderRequest, (r) => command('order rejected', orders.rejectOrder(r.orderId, r.reason))),
    cancelOrder: unary(orderIdRequest, (r) => command('order cancelled', orders.cancelOrder(r.orderId))),
    createOrders: unary(createOrdersRequest, (r) => batch('orders created', orders.createOrders(r.orders))),
    confirmOrders: unary(confirmOrdersRequest, (r) => batch('orders confirmed', orders.confirmOrders(r.orderIds))),
  };
}
