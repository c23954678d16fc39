// The order saga in one place: its forward steps, its compensations, what the saga emits when it ends, and the retry policy. saga-runner.ts executes it durably.
import { createEvent, type NotificationTask, type Order, type OrderItem } from '@orderflow/domain';
import { factMessage, type OutboxMessage } from '@orderflow/messaging';
import { backoffMs } from '@orderflow/platform';
import type { CallOptions, InventoryPort, OrderPort } from '../clients/downstream';

export type ForwardStep = 'RESERVE_STOCK' | 'CONFIRM_ORDER' | 'REJECT_ORDER';
export type Compensation = 'RELEASE_STOCK' | 'CLOSE_ORDER';
export type SagaState = 'RUNNING' | 'COMPENSATING' | 'COMPLETED' | 'FAILED';
export type Outcome = 'CONFIRMED' | 'REJECTED' | 'CANCELLED';

/** What the saga carries from placement: enough to act and to write the e-mail without calling back. */
export interface SagaData {
  items: OrderItem[];
  totalCents: number;
  email: string;
  traceparent?: string;
  /** Why the order is being rejected, once known. */
  reason?: string;
}

export interface Saga {
  orderId: string;
  customerId: string;
  state: SagaState;
  step: string;
  attempts: number;
  compensations: Compensation[];
  cancelRequested: boolean;
  data: SagaData;
  outcome?: Outcome;
  lastError?: string;
  version: number;
  nextAttemptAt?: string;
  /** Waiting out a retry's backoff or an open circuit (SagaChange `waiting`). */
  waiting?: boolean;
  createdAt: string;
  updatedAt: string;
  finishedAt?: string;
}

export interface SagaPorts {
  orders: OrderPort;
  inventory: InventoryPort;
}

/** Backoff for a transiently failing step: full jitter, exponential, capped (defaults: 5 attempts, 200 ms base, 10 s cap). */
export interface RetryPolicy {
  maxAttempts: number;
  baseDelayMs: number;
  maxDelayMs: number;
}
export const DEFAULT_RETRY: RetryPolicy = { maxAttempts: 5, baseDelayMs: 200, maxDelayMs: 10_000 };

export function retryDelayMs(attempt: number, policy: RetryPolicy, random = Math.random): number {
  return backoffMs(attempt, { baseMs: policy.baseDelayMs, capMs: policy.maxDelayMs, random });
}

const context = (s: Saga): CallOptions => (s.data.traceparent ? { traceparent: s.data.traceparent } : {});

type StepResult = { next: ForwardStep; reason?: string } | { done: Exclude<Outcome, 'CANCELLED'> };

/** Forward steps, run in order; each is idempotent on the order id, so running one again has no second effect. */
export const FORWARD_STEPS: Record<ForwardStep, { run(s: Saga, ports: SagaPorts): Promise<StepResult> }> = {
  RESERVE_STOCK: {
    async run(s, { inventory }) {
      const lines = s.data.items.map(({ sku, quantity }) => ({ sku, quantity }));
      const { reserved } = await inventory.reserveStock(s.orderId, lines, context(s));
      return reserved ? { next: 'CONFIRM_ORDER' } : { next: 'REJECT_ORDER', reason: 'OUT_OF_STOCK' };
    },
  },
  CONFIRM_ORDER: {
    async run(s, { orders }) {
      await orders.confirmOrder(s.orderId, context(s));
      return { done: 'CONFIRMED' };
    },
  },
  REJECT_ORDER: {
    async run(s, { orders }) {
      await orders.rejectOrder(s.orderId, s.data.reason ?? 'OUT_OF_STOCK', context(s));
      return { done: 'REJECTED' };
    },
  },
};

/** Compensations, run newest first when an order is cancelled or its saga fails. Each is idempotent. */
export const COMPENSATIONS: Record<Compensation, (s: Saga, ports: SagaPorts) => Promise<void>> = {
  RELEASE_STOCK: async (s, { inventory }) => void (await inventory.releaseStock(s.orderId, context(s))),
  // The order exists from placement on; closing it depends on why the saga is unwinding.
  CLOSE_ORDER: async (s, { orders }) =>
    void (s.cancelRequested ? await orders.cancelOrder(s.orderId, context(s)) : await orders.rejectOrder(s.orderId, 'PROCESSING_FAILED', context(s))),
};

/**
 * Every compensation is on the stack from the saga's creation (run newest first: release, then close),
 * because a step that timed out may still have happened. Registering them up front instead of before
 * each step saves a commit per order, and costs nothing: each is idempotent, and releasing stock that
 * was never reserved only records that this order must never reserve it.
 */
export const INITIAL_COMPENSATIONS: Compensation[] = ['CLOSE_ORDER', 'RELEASE_STOCK'];
export const FIRST_STEP: ForwardStep = 'RESERVE_STOCK';

/**
 * Steps a cancel may no longer overtake (the order they end cannot be cancelled): the saga commits
 * the move to such a step before running it, so a racing cancel either sees it and is refused, or
 * wins the version check while the step has not run — never both, which would end a rejected order
 * as cancelled (saga-repository requestCancel).
 */
export const UNCANCELLABLE_STEPS: readonly ForwardStep[] = ['REJECT_ORDER'];

const TEMPLATES = { CONFIRMED: 'order-confirmed', REJECTED: 'order-rejected', CANCELLED: 'order-cancelled' } as const;
const FACTS = { CONFIRMED: 'order.confirmed', REJECTED: 'order.rejected', CANCELLED: 'order.cancelled' } as const;

export interface Destinations {
  orderEventsTopic: string;
  source: string;
}

/** The order as the saga knows it; the source of facts and e-mails. */
export function orderView(s: Pick<Saga, 'orderId' | 'customerId' | 'data'>, status: Order['status'], reason?: string) {
  return { id: s.orderId, customerId: s.customerId, status, items: s.data.items, totalCents: s.data.totalCents, ...(reason ? { reason } : {}) };
}

/** The fact that an order was placed (written with the saga row). */
export function placedMessage(s: Pick<Saga, 'orderId' | 'customerId' | 'data'>, to: Destinations): OutboxMessage {
  return fact('order.placed', s, orderView(s, 'PENDING'), to);
}

/** What an ended saga emits: one fact on order-events and one e-mail task. */
export function outcomeMessages(s: Saga, outcome: Outcome, to: Destinations): OutboxMessage[] {
  const reason = outcome === 'REJECTED' ? (s.data.reason ?? 'PROCESSING_FAILED') : undefined;
  const order = orderView(s, outcome, reason);
  const task: NotificationTask = { template: TEMPLATES[outcome], to: s.data.email, order };
  const taskId = globalThis.crypto.randomUUID();
  return [
    fact(FACTS[outcome], s, order, to),
    {
      destination: 'rabbitmq',
      topic: 'notification.send',
      key: s.orderId,
      messageId: taskId,
      payload: task,
      headers: s.data.traceparent ? { traceparent: s.data.traceparent } : {},
    },
  ];
}

function fact(type: Parameters<typeof createEvent>[0]['type'], s: Pick<Saga, 'orderId' | 'data'>, data: unknown, to: Destinations): OutboxMessage {
  return factMessage(to.orderEventsTopic, createEvent({ type, source: to.source, subject: s.orderId, data, traceparent: s.data.traceparent }));
}
