import { addCents, type Cents } from './money';

export const ORDER_STATUSES = ['PENDING', 'CONFIRMED', 'REJECTED', 'CANCELLED'] as const;
export type OrderStatus = (typeof ORDER_STATUSES)[number];

/** Why an order was rejected. */
export type RejectionReason = 'OUT_OF_STOCK' | 'PROCESSING_FAILED';

export interface OrderItem {
  sku: string;
  quantity: number;
  unitPriceCents: Cents;
}

export interface Order {
  id: string;
  customerId: string;
  status: OrderStatus;
  items: OrderItem[];
  totalCents: Cents;
  reason?: string;
  createdAt: string;
  updatedAt: string;
}

// PENDING → CONFIRMED | REJECTED; PENDING | CONFIRMED → CANCELLED. Terminal states go nowhere.
const TRANSITIONS: Record<OrderStatus, readonly OrderStatus[]> = {
  PENDING: ['CONFIRMED', 'REJECTED', 'CANCELLED'],
  CONFIRMED: ['CANCELLED'],
  REJECTED: [],
  CANCELLED: [],
};

/** Whether an order may move from `from` to `to`. */
export function canTransition(from: OrderStatus, to: OrderStatus): boolean {
  return TRANSITIONS[from].includes(to);
}

/** Whether no further transition is possible. */
export function isTerminal(status: OrderStatus): boolean {
  return TRANSITIONS[status].length === 0;
}

/** The order total from its lines. */
export function orderTotal(items: readonly OrderItem[]): Cents {
  return addCents(...items.map((item) => item.quantity * item.unitPriceCents));
}
