import { AppError, canTransition, isAppError, orderTotal, type Order, type OrderItem, type OrderStatus } from '@orderflow/domain';
import type { OrderRepository } from './db/order-repository';

export interface NewOrderInput {
  orderId: string;
  customerId: string;
  items: OrderItem[];
}

/** One order's outcome in a batch: its order, or the error a single call would have failed with. */
export type OrderResult = { orderId: string; order: Order; error?: undefined } | { orderId: string; order?: undefined; error: AppError };

/** The order service's use cases. Every command is idempotent on the order id. */
export function createOrderUseCases(repo: OrderRepository) {
  async function mustGet(id: string): Promise<Order> {
    const order = await repo.get(id);
    if (!order) throw new AppError('NOT_FOUND', `order ${id} does not exist`);
    return order;
  }

  /** The statuses an order can become `to` from. */
  const sourcesOf = (to: OrderStatus) => (['PENDING', 'CONFIRMED'] as const).filter((s) => canTransition(s, to));

  const invalidTransition = (id: string, order: Order, to: OrderStatus) =>
    new AppError('INVALID_TRANSITION', `order ${id} is ${order.status} and cannot become ${to}`, { details: { status: order.status } });

  /** An order already at `to` is the answer as it is; one that can never become `to` is INVALID_TRANSITION; undefined: it must move. */
  function answered(id: string, order: Order, to: OrderStatus): Order | undefined {
    if (order.status === to) return order;
    if (!canTransition(order.status, to)) throw invalidTransition(id, order, to);
    return undefined;
  }

  /** Moves an order to `to`; repeating a move that already happened returns the order unchanged. */
  async function move(id: string, to: OrderStatus, reason?: string): Promise<Order> {
    const current = answered(id, await mustGet(id), to);
    if (current) return current;
    const { changed, order } = await repo.transition(id, sourcesOf(to), to, reason);
    if (changed && order) return order;
    // Someone else moved it between our read and write: answer from what it is now.
    const now = await mustGet(id);
    if (now.status === to) return now;
    throw invalidTransition(id, now, to);
  }

  /** The order stored under `input.orderId` if it is the one asked for, else CONFLICT. */
  function sameOrder(input: NewOrderInput, stored: Order): Order {
    if (stored.customerId !== input.customerId || JSON.stringify(stored.items) !== JSON.stringify(input.items)) {
      throw new AppError('CONFLICT', `order ${input.orderId} already exists with different contents`);
    }
    return stored;
  }

  /**
   * Inserts those of `inputs` that are new in one statement; the stored order of each id (by its
   * lower-case form, as Postgres prints uuids). The first of repeated ids is the one inserted.
   */
  async function insertAll(inputs: NewOrderInput[]): Promise<Map<string, Order>> {
    const unique = new Map<string, NewOrderInput>();
    for (const input of inputs) if (!unique.has(input.orderId.toLowerCase())) unique.set(input.orderId.toLowerCase(), input);
    const rows = await repo.insertAll(
      [...unique.values()].map((i) => ({ id: i.orderId, customerId: i.customerId, items: i.items, totalCents: orderTotal(i.items) })),
    );
    const stored = new Map(rows.map((o) => [o.id, o]));
    // Not returned: inserted by a transaction that committed while the statement ran. Rare; read it now.
    for (const [id, input] of unique) if (!stored.has(id)) stored.set(id, await mustGet(input.orderId));
    return stored;
  }

  /** Runs one order's part of a batch: its AppError is its own answer; any other error fails the call. */
  async function settle(orderId: string, work: () => Order | Promise<Order>): Promise<OrderResult> {
    try {
      return { orderId, order: await work() };
    } catch (error) {
      if (isAppError(error)) return { orderId, error };
      throw error;
    }
  }

  return {
    /** Creates a PENDING order; the same id again returns the stored order if it matches, else ALREADY_EXISTS. */
    async createOrder(input: NewOrderInput): Promise<Order> {
      return sameOrder(input, (await insertAll([input])).get(input.orderId.toLowerCase())!);
    },
    /** createOrder for many orders in one statement; results in request order, each its order or its error. */
    async createOrders(inputs: NewOrderInput[]): Promise<OrderResult[]> {
      if (!inputs.length) return [];
      const stored = await insertAll(inputs);
      return Promise.all(inputs.map((input) => settle(input.orderId, () => sameOrder(input, stored.get(input.orderId.toLowerCase())!))));
    },
    /**
     * confirmOrder for many orders in one statement; results in request order. An order changed by
     * someone else while the statement ran (seen PENDING, yet not moved) is settled as confirmOrder would.
     */
    async confirmOrders(ids: string[]): Promise<OrderResult[]> {
      if (!ids.length) return [];
      const rows = await repo.transitionAll(ids, sourcesOf('CONFIRMED'), 'CONFIRMED');
      const now = new Map(rows.map((r) => [r.order.id, r.order]));
      return Promise.all(
        ids.map((id) =>
          settle(id, () => {
            const order = now.get(id.toLowerCase());
            if (!order) throw new AppError('NOT_FOUND', `order ${id} does not exist`);
            return answered(id, order, 'CONFIRMED') ?? move(id, 'CONFIRMED');
          }),
        ),
      );
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
