import { AppError, isAppError, type Order, type OrderItem } from '@orderflow/domain';
import { createGroupCommit } from '@orderflow/platform';
import type { KeyCompletion } from '../idempotency/idempotency-store';
import type { Catalog } from '../catalog/catalog';
import type { Caller } from '../domain/caller';
import type { OrderPort } from '../clients/downstream';
import { FIRST_STEP, INITIAL_COMPENSATIONS, placedMessage, type Destinations, type SagaData } from '../saga/order-saga';
import type { SagaRepository } from '../saga/saga-repository';
import type { SagaRunner } from '../saga/saga-runner';

/** How a use case commits its result together with the idempotency record (see idempotent.ts). */
export interface WriteEffect {
  resourceId: string;
  /** A retry resuming a request that died after its first effect (the order may exist already). */
  resumed: boolean;
  beginEffect(): void;
  /** The response to store with the write that commits the change (see KeyCompletion), then `committed()`. */
  completion(order: Order): KeyCompletion;
  committed(): void;
}

/** One placement as it joins a group commit: the order to create, and what its saga and response need. */
interface Placement {
  order: { orderId: string; customerId: string; items: OrderItem[] };
  email: string;
  traceparent?: string;
  effect: WriteEffect;
}

export interface OrderUseCaseDeps {
  catalog: Catalog;
  orders: OrderPort;
  sagas: SagaRepository;
  runner: SagaRunner;
  destinations: Destinations;
  watchdogMs: number;
  /** Placements committed together at most (group commit); default 64. */
  maxPlacementBatch?: number;
}

/** Where a customer's e-mails go: the token's `email` claim, else a mailbox derived from the customer id. */
export function emailOf(caller: Caller): string {
  return caller.email ?? `${caller.id.replace(/[^A-Za-z0-9._-]/g, '-').slice(0, 64) || 'customer'}@customers.orderflow.local`;
}

/** The orchestrator's order use cases: place, cancel, read. */
export function createOrderUseCases(deps: OrderUseCaseDeps) {
  const { catalog, orders, sagas, runner } = deps;

  async function getOrder(caller: Caller, orderId: string): Promise<Order> {
    // Another customer's order answers exactly like a missing one.
    return orders.getOrder(orderId, caller.role === 'admin' ? undefined : caller.id);
  }

  /** The caller's order `orderId` if the order service has it (a placement that died after creating it). */
  async function existingOrder(orderId: string, caller: Caller): Promise<Order | undefined> {
    try {
      return await orders.getOrder(orderId, caller.id);
    } catch (error) {
      if (isAppError(error) && error.code === 'NOT_FOUND') return undefined;
      throw error;
    }
  }

  /**
   * Placements of concurrent requests, committed together: one CreateOrders call for their orders,
   * then one statement for their sagas, order.placed facts and stored responses. Each request is
   * answered once the statement holding its rows has committed; one order failing (e.g. its id reused
   * with other contents) fails only its own request.
   */
  const placements = createGroupCommit<Placement, Order>({
    maxBatch: deps.maxPlacementBatch ?? 64,
    maxConcurrent: 2,
    async run(batch) {
      const orderOutcomes = await orders.createOrders(batch.map((p) => ({ ...p.order, ...(p.traceparent ? { traceparent: p.traceparent } : {}) })));
      const placed = batch.flatMap((p, i) => {
        const outcome = orderOutcomes[i]!;
        return outcome.ok ? [{ p, order: outcome.value }] : [];
      });
      const sagasOf = placed.map(({ p, order }) => {
        const data: SagaData = { items: order.items, totalCents: order.totalCents, email: p.email, ...(p.traceparent ? { traceparent: p.traceparent } : {}) };
        return { orderId: order.id, customerId: order.customerId, data };
      });
      const created = await sagas.createMany(
        placed.map(({ p, order }, i) => ({
          saga: { ...sagasOf[i]!, step: FIRST_STEP, compensations: INITIAL_COMPENSATIONS, watchdogMs: deps.watchdogMs },
          messages: [placedMessage(sagasOf[i]!, deps.destinations)],
          completion: p.effect.completion(order),
        })),
      );
      // Started here with the sagas in hand, not by the order.placed fact coming back through Kafka
      // (which still does it if this process dies first, as does the poller). A resumed request's
      // saga existed already: it is resumed from what is stored.
      runner.startPlacedInBatches(created.filter((saga) => saga !== undefined));
      sagasOf.forEach((s, i) => created[i] || void runner.resumeInBackground(s.orderId));
      return orderOutcomes.map((outcome) => (outcome.ok ? outcome.value : outcome.error));
    },
  });

  return {
    getOrder,

    listOrders: (caller: Caller, page: { limit: number; cursor?: string }) =>
      orders.listOrders({ customerId: caller.role === 'admin' ? undefined : caller.id, limit: page.limit, cursor: page.cursor }),

    /**
     * Prices the lines, then (group-committed with concurrent placements) creates the order, idempotent
     * on the key's order id, and in one statement the saga, the `order.placed` fact and the stored
     * response. A retry after a crash repeats the same steps with the same order id and finishes that
     * one order.
     */
    async placeOrder(caller: Caller, lines: { sku: string; quantity: number }[], effect: WriteEffect, traceparent?: string): Promise<Order> {
      // A resumed request finishes the order it already created, at the prices it was created with:
      // re-pricing after a price change would make CreateOrder refuse every retry (CONFLICT).
      const created = effect.resumed ? await existingOrder(effect.resourceId, caller) : undefined;
      const items = created?.items ?? (await catalog.price(lines));
      effect.beginEffect();
      const order = await placements.add({
        order: { orderId: effect.resourceId, customerId: caller.id, items },
        email: emailOf(caller),
        ...(traceparent ? { traceparent } : {}),
        effect,
      });
      effect.committed();
      return order;
    },

    /** Starts the cancellation saga; 409 (INVALID_TRANSITION) once the order is rejected or cancelled. */
    async cancelOrder(caller: Caller, orderId: string, effect: WriteEffect): Promise<Order> {
      const order = await getOrder(caller, orderId);
      // The cancel request and the stored response in one statement; the response only if the cancel was taken.
      const accepted = await sagas.requestCancel(orderId, effect.completion(order));
      if (accepted) effect.committed();
      if (!accepted)
        throw new AppError(
          'INVALID_TRANSITION',
          `order ${orderId} is ${order.status === 'PENDING' || order.status === 'CONFIRMED' ? 'already being rejected or cancelled' : order.status} and cannot be cancelled`,
        );
      void runner.resume(orderId);
      return order;
    },
  };
}

export type OrderUseCases = ReturnType<typeof createOrderUseCases>;
