import type { Logger } from 'pino';
import { inStoredTrace } from '@orderflow/platform';
import { decodePageCursor, encodePageCursor, type Order } from '@orderflow/domain';
import { unaryHandler as unary, OrderStatus, type OrderServiceServer, type Order as OrderMessage } from '@orderflow/proto';
import type { OrderResult, OrderUseCases } from '../orders';
import {
  confirmOrdersRequest,
  createOrderRequest,
  createOrdersRequest,
  getOrderRequest,
  listOrdersRequest,
  orderIdRequest,
  rejectOrderRequest,
} from './validation';

const DEFAULT_PAGE = 20;

function toMessage(order: Order): OrderMessage {
  return { ...order, status: OrderStatus[order.status], reason: order.reason ?? '' };
}

/** The gRPC OrderService: a thin edge over the use cases; each command logs one line with the order id, in the order's trace. */
export function createOrderService(orders: OrderUseCases, logger?: Logger): OrderServiceServer {
  const command = async (what: string, work: Promise<Order>) => {
    const order = await work;
    logger?.info({ orderId: order.id, status: order.status }, what);
    return toMessage(order);
  };
  // A batch logs each order's line in its own trace (sent with it), as a single call would; skipped whole below info level.
  const batch = async (what: string, work: Promise<OrderResult[]>, traceparents: string[]) => {
    const results = await work;
    if (logger?.isLevelEnabled('info')) {
      results.forEach(
        (r, n) =>
          void inStoredTrace(traceparents[n] || undefined, 'order', { orderId: r.orderId }, async () =>
            r.error
              ? logger.warn({ orderId: r.orderId, code: r.error.code }, `${what}: refused`)
              : logger.info({ orderId: r.orderId, status: r.order.status }, what),
          ),
      );
    }
    return {
      results: results.map((r) =>
        r.error ? { orderId: r.orderId, error: { code: r.error.code, message: r.error.message } } : { orderId: r.orderId, order: toMessage(r.order) },
      ),
    };
  };
  return {
    createOrder: unary(createOrderRequest, (r) => command('order created', orders.createOrder(r))),
    getOrder: unary(getOrderRequest, async (r) => toMessage(await orders.getOrder(r.orderId, r.customerId || undefined))),
    listOrders: unary(listOrdersRequest, async (r) => {
      const page = await orders.listOrders({
        customerId: r.customerId || undefined,
        limit: r.limit || DEFAULT_PAGE,
        after: r.cursor ? decodePageCursor(r.cursor) : undefined,
      });
      return { orders: page.orders.map(toMessage), nextCursor: page.next ? encodePageCursor(page.next) : '' };
    }),
    confirmOrder: unary(orderIdRequest, (r) => command('order confirmed', orders.confirmOrder(r.orderId))),
    rejectOrder: unary(rejectOrderRequest, (r) => command('order rejected', orders.rejectOrder(r.orderId, r.reason))),
    cancelOrder: unary(orderIdRequest, (r) => command('order cancelled', orders.cancelOrder(r.orderId))),
    createOrders: unary(createOrdersRequest, (r) =>
      batch(
        'order created',
        orders.createOrders(r.orders),
        r.orders.map((o) => o.traceparent),
      ),
    ),
    confirmOrders: unary(confirmOrdersRequest, (r) => batch('order confirmed', orders.confirmOrders(r.orderIds), r.traceparents)),
  };
}
