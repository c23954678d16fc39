import { AppError, canTransition, orderTotal, type Order, type OrderItem, type OrderStatus } from '@orderflow/domain';
import type { OrderRepository } from './db/order-repository';

/** The order service's use cases. Every command is idempotent on the order id. */
export function createOrderUseCases(repo: OrderRepository) {
  async function mustGet(id: string): Promise<Order> {
    const order = await repo.get(id);
    if (!order) throw new AppError('NOT_FOUND', `order ${id} does not exist`);
    return order;
  }

  /** Moves an order to `to`; repeating a move that already happened returns the order unchanged. */
  async function move(id: string, to: OrderStatus, reason?: string): Promise<Order> {
    const current = await mustGet(id);
    if (current.status === to) return current;
    const from = (['PENDING', 'CONFIRMED'] as const).filter((s) => canTransition(s, to));
    if (!canTransition(current.status, to)) {
      throw new AppError('INVALID_TRANSITION', `order ${id} is ${current.status} and cannot become ${to}`, { details: { status: current.status } });
    }
    const { changed, order } = await repo.transition(id, from, to, reason);
    if (changed && order) return order;
    // Someone else moved it between our read and write: answer from what it is now.
    const now = await mustGet(id);
    if (now.status === to) return now;
    throw new AppError('INVALID_TRANSITION', `order ${id} is ${now.status} and cannot become ${to}`, { details: { status: now.status } });
  }

  return {
    /** Creates a PENDING order; the same id again returns the stored order if it matches, else ALREADY_EXISTS. */
    async createOrder(input: { orderId: string; customerId: string; items: OrderItem[] }): Promise<Order> {
      const totalCents = orderTotal(input.items);
      await repo.insert({ id: input.orderId, customerId: input.customerId, items: input.items, totalCents });
      const stored = await mustGet(input.orderId);
      if (stored.customerId !== input.customerId || JSON.stringify(stored.items) !== JSON.stringify(input.items)) {
        throw new AppError('CONFLICT', `order ${input.orderId} already exists with different contents`);
      }
      return stored;
    },
    async getOrder(id: string, customerId?: string): Promise<Order> {
      const order = await mustGet(id);
      // Another customer's order is indistinguishable from a missing one.
      if (customerId && order.customerId !== customerId) throw new AppError('NOT_FOUND', `order ${id} does not exist`);
      return order;
    },
    listOrders: repo.list,
    confirmOrder: (id: string) => move(id, 'CONFIRMED'),
    rejectOrder: (id: string, reason: string) => move(id, 'REJECTED', reason),
    cancelOrder: (id: string) => move(id, 'CANCELLED'),
  };
}

export type OrderUseCases = ReturnType<typeof createOrderUseCases>;
