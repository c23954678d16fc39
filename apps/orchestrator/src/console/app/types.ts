// The admin API's answers, as the console reads them (fields a page does not show are left out).
export type SagaState = 'RUNNING' | 'WAITING' | 'COMPENSATING' | 'COMPLETED' | 'FAILED';
export const SAGA_STATES: SagaState[] = ['RUNNING', 'WAITING', 'COMPENSATING', 'COMPLETED', 'FAILED'];

export interface Page<T> {
  items: T[];
  nextCursor: string | null;
}

export interface Stats {
  ordersByStatus: Record<string, number>;
  sagasInFlight: number;
  deadLetters: { total: number; bySource: Record<string, number> };
  outbox: { unpublished: number; oldestAgeSeconds: number | null };
  throughput?: { minute: string; completed: number; failed: number }[];
  dependencies?: { name: string; status: 'up' | 'down' }[];
}

export interface SagaSummary {
  orderId: string;
  customerId?: string;
  state: SagaState;
  currentStep: string;
  attempts: number;
  outcome: string | null;
  lastError: string | null;
  nextAttemptAt: string | null;
  totalCents?: number;
  createdAt: string;
  updatedAt: string;
}

export interface SagaDetail extends SagaSummary {
  cancelRequested: boolean;
  compensations: string[];
  items?: { sku: string; quantity: number; unitPriceCents: number }[];
  steps: { step: string; outcome: string; attempt: number; detail?: string | null; at: string }[];
  messages?: { id: string | number; destination: string; topic: string; type: string; messageId: string; createdAt: string; published: boolean }[];
  deadLetters?: { id: string; origin: string; error: string; attempts: number; status: string; createdAt: string }[];
}

export interface DeadLetter {
  id: string;
  source: 'kafka' | 'rabbitmq' | 'saga';
  origin: string;
  key?: string;
  messageId?: string;
  payload: string;
  payloadEncoding: 'utf8' | 'base64';
  headers: Record<string, unknown>;
  error: string;
  attempts: number;
  firstFailedAt: string;
  lastFailedAt: string;
  createdAt: string;
  status?: 'pending' | 'replayed' | 'discarded';
  replayedAt?: string | null;
  discardedAt?: string | null;
  discardReason?: string | null;
  replayable: boolean;
}

export interface Product {
  sku: string;
  name: string;
  priceCents: number;
  available: number;
  /** Units in stock, reserved ones included (what a save sets). */
  onHand: number;
}

export interface AuditEntry {
  id: string;
  at: string;
  actor: string;
  action: string;
  target: string;
  outcome: 'succeeded' | 'refused' | 'failed';
  status: number;
  detail: string | null;
}
