import { randomUUID } from 'node:crypto';
import type { Pool } from 'pg';
import type { Queryable } from '@orderflow/db';
import type { CloudEvent, PagePosition } from '@orderflow/domain';
import type { OutboxWriter } from '@orderflow/messaging';
import { deliveryMessage, type DeliveryTask, type WebhookEvent } from './delivery-task';

export interface Subscription {
  id: string;
  url: string;
  events: string[];
  description: string | null;
  enabled: boolean;
  /** `gone`: its receiver answered 410; `admin`: disabled by an update. */
  disabledReason: 'gone' | 'admin' | null;
  createdBy: string;
  createdAt: string;
  updatedAt: string;
}

export type DeliveryStatus = 'pending' | 'delivered' | 'failed' | 'skipped';

export interface Delivery {
  id: string;
  subscriptionId: string;
  eventId: string;
  eventType: string;
  status: DeliveryStatus;
  attempts: number;
  lastStatusCode: number | null;
  lastError: string | null;
  lastAttemptAt: string | null;
  deliveredAt: string | null;
  createdAt: string;
}

/** How one attempt ended, as the delivery row records it. */
export type AttemptOutcome =
  | { kind: 'delivered'; statusCode: number }
  /** The receiver answered 410: the subscription is disabled, and this delivery skipped. */
  | { kind: 'gone' }
  /** Any other failure: `final` when it was the last attempt (the task is dead-lettered). */
  | { kind: 'failed'; statusCode?: number; error: string; final: boolean }
  /** Not attempted: the subscription is disabled. */
  | { kind: 'skipped'; error: string };

const iso = (d: Date | null) => d?.toISOString() ?? null;

interface SubscriptionRow {
  id: string;
  url: string;
  events: string[];
  description: string | null;
  enabled: boolean;
  disabled_reason: Subscription['disabledReason'];
  created_by: string;
  created_at: Date;
  updated_at: Date;
}

interface DeliveryRow {
  id: string;
  subscription_id: string;
  event_id: string;
  event_type: string;
  status: DeliveryStatus;
  attempts: number;
  last_status_code: number | null;
  last_error: string | null;
  last_attempt_at: Date | null;
  delivered_at: Date | null;
  created_at: Date;
}

const toSubscription = (r: SubscriptionRow): Subscription => ({
  id: r.id,
  url: r.url,
  events: r.events,
  description: r.description,
  enabled: r.enabled,
  disabledReason: r.disabled_reason,
  createdBy: r.created_by,
  createdAt: r.created_at.toISOString(),
  updatedAt: r.updated_at.toISOString(),
});

const toDelivery = (r: DeliveryRow): Delivery => ({
  id: r.id,
  subscriptionId: r.subscription_id,
  eventId: r.event_id,
  eventType: r.event_type,
  status: r.status,
  attempts: r.attempts,
  lastStatusCode: r.last_status_code,
  lastError: r.last_error,
  lastAttemptAt: iso(r.last_attempt_at),
  deliveredAt: iso(r.delivered_at),
  createdAt: r.created_at.toISOString(),
});

const page = (before: PagePosition | undefined, params: unknown[]) =>
  before ? `(created_at, id) < ($${params.push(before.createdAt)}::timestamptz, $${params.push(before.id)}::uuid)` : 'true';

/** Subscriptions and their deliveries, in the orchestrator database. */
/** How long the set of fact types some subscription wants is trusted before it is read again. */
export const SUBSCRIBED_TYPES_TTL_MS = 1_000;

export function createWebhookRepository(pool: Pool, outbox: OutboxWriter, options: { subscribedTypesTtlMs?: number } = {}) {
  const ttlMs = options.subscribedTypesTtlMs ?? SUBSCRIBED_TYPES_TTL_MS;
  /**
   * The fact types an enabled subscription wants, read at most once per `ttlMs` (and at once after a
   * change made here): the dispatcher sees every fact, and most match nothing, so most cost no query.
   * Another replica's new subscription takes effect here within `ttlMs`.
   */
  let subscribed: { types: Promise<Set<string>>; readAt: number } | undefined;
  const subscribedTypes = (): Promise<Set<string>> => {
    if (!subscribed || Date.now() - subscribed.readAt >= ttlMs) {
      const types = pool
        .query('SELECT DISTINCT unnest(events) AS type FROM webhook_subscriptions WHERE enabled')
        .then(({ rows }) => new Set(rows.map((r) => r.type as string)));
      subscribed = { types, readAt: Date.now() };
      types.catch(() => (subscribed = undefined)); // a failed read is not cached
    }
    return subscribed.types;
  };
  const forgetSubscribedTypes = () => void (subscribed = undefined);

  /** Inserts a delivery row per subscription for `event` (none that exists already) and, for each row inserted, its task in the outbox. */
  async function enqueue(db: Queryable, event: WebhookEvent, subscriptionIds: string[]): Promise<DeliveryTask[]> {
    if (subscriptionIds.length === 0) return [];
    const tasks: DeliveryTask[] = subscriptionIds.map((subscriptionId) => ({ deliveryId: randomUUID(), subscriptionId, event }));
    const params: unknown[] = [tasks.map((t) => t.deliveryId), subscriptionIds, event.id, event.type];
    const { rows } = await outbox.statement(db, tasks.map(deliveryMessage), params, { keysIn: 'SELECT id::text FROM d' }, ({ insert, select }) => {
      const d = `d AS (INSERT INTO webhook_deliveries (id, subscription_id, event_id, event_type)
        SELECT x.id, x.subscription_id, $3, $4 FROM unnest($1::uuid[], $2::uuid[]) AS x(id, subscription_id)
        JOIN webhook_subscriptions s ON s.id = x.subscription_id
        ON CONFLICT (subscription_id, event_id) DO NOTHING RETURNING id)`;
      return `WITH ${d}${insert ? `, o AS (${insert})` : ''} SELECT d.id${select} FROM d`;
    });
    const inserted = new Set(rows.map((r) => r.id as string));
    return tasks.filter((t) => inserted.has(t.deliveryId));
  }

  return {
    /** A subscription was created, changed or deleted here (call once committed): the dispatcher reads the subscribed types again. */
    subscriptionsChanged: forgetSubscribedTypes,

    async create(tx: Queryable, s: { url: string; events: string[]; description?: string; secret: string; createdBy: string }): Promise<Subscription> {
      const { rows } = await tx.query(
        `INSERT INTO webhook_subscriptions (id, url, events, description, secret, created_by) VALUES ($1, $2, $3, $4, $5, $6) RETURNING *`,
        [randomUUID(), s.url, s.events, s.description ?? null, s.secret, s.createdBy],
      );
      return toSubscription(rows[0]);
    },

    /** Newest first; `before` is the position of the last one of the previous page. */
    async list(limit: number, before?: PagePosition): Promise<Subscription[]> {
      const params: unknown[] = [];
      const where = page(before, params);
      const { rows } = await pool.query(
        `SELECT * FROM webhook_subscriptions WHERE ${where} ORDER BY created_at DESC, id DESC LIMIT $${params.push(limit)}`,
        params,
      );
      return rows.map(toSubscription);
    },

    async get(id: string, db: Queryable = pool): Promise<Subscription | undefined> {
      const { rows } = await db.query('SELECT * FROM webhook_subscriptions WHERE id = $1', [id]);
      return rows[0] && toSubscription(rows[0]);
    },

    /** Changes the given fields; enabling clears why it was disabled, disabling records `admin`. */
    async update(tx: Queryable, id: string, patch: { url?: string; events?: string[]; description?: string | null; enabled?: boolean }) {
      const { rows } = await tx.query(
        `UPDATE webhook_subscriptions SET
           url = coalesce($2, url),
           events = coalesce($3, events),
           description = CASE WHEN $4 THEN $5 ELSE description END,
           enabled = coalesce($6, enabled),
           disabled_reason = CASE WHEN $6 IS NULL THEN disabled_reason WHEN $6 THEN NULL WHEN enabled THEN 'admin' ELSE disabled_reason END,
           updated_at = now()
         WHERE id = $1 RETURNING *`,
        [id, patch.url ?? null, patch.events ?? null, patch.description !== undefined, patch.description ?? null, patch.enabled ?? null],
      );
      return rows[0] ? toSubscription(rows[0]) : undefined;
    },

    /** Deletes a subscription and its deliveries; tasks still queued for it find nothing and are dropped. */
    async remove(tx: Queryable, id: string): Promise<boolean> {
      const { rowCount } = await tx.query('DELETE FROM webhook_subscriptions WHERE id = $1', [id]);
      return rowCount === 1;
    },

    /**
     * The dispatcher's write for one fact: a delivery per enabled subscription to its type, and their
     * tasks, in one statement. A fact seen again adds nothing (UNIQUE (subscription_id, event_id)).
     */
    async enqueueFact(event: CloudEvent): Promise<DeliveryTask[]> {
      if (!(await subscribedTypes()).has(event.type)) return [];
      const { rows } = await pool.query('SELECT id FROM webhook_subscriptions WHERE enabled AND events @> ARRAY[$1]::text[]', [event.type]);
      return enqueue(
        pool,
        event,
        rows.map((r) => r.id as string),
      );
    },

    /** A test event for one subscription, in the admin's transaction. */
    async enqueuePing(tx: Queryable, subscriptionId: string, event: WebhookEvent): Promise<DeliveryTask> {
      const [task] = await enqueue(tx, event, [subscriptionId]);
      return task!;
    },

    /** Where a task's delivery stands and where it goes (with the secret); undefined once its subscription is deleted. */
    async target(deliveryId: string): Promise<{ status: DeliveryStatus; url: string; secret: string; enabled: boolean } | undefined> {
      const { rows } = await pool.query(
        `SELECT d.status, s.url, s.secret, s.enabled FROM webhook_deliveries d JOIN webhook_subscriptions s ON s.id = d.subscription_id WHERE d.id = $1`,
        [deliveryId],
      );
      return rows[0];
    },

    /** Records one attempt (or a skip); a 410 disables the subscription in the same statement. */
    async record(deliveryId: string, outcome: AttemptOutcome): Promise<void> {
      const status: DeliveryStatus =
        outcome.kind === 'delivered' ? 'delivered' : outcome.kind === 'failed' ? (outcome.final ? 'failed' : 'pending') : 'skipped';
      const attempted = outcome.kind !== 'skipped';
      const statusCode =
        outcome.kind === 'delivered' ? outcome.statusCode : outcome.kind === 'gone' ? 410 : outcome.kind === 'failed' ? outcome.statusCode : undefined;
      const error =
        outcome.kind === 'gone'
          ? 'the receiver answered 410 Gone: the subscription is disabled'
          : outcome.kind === 'delivered'
            ? null
            : outcome.error.slice(0, 1_000);
      await pool.query(
        `WITH d AS (
           UPDATE webhook_deliveries SET status = $2, attempts = attempts + $3::int,
             last_status_code = coalesce($4, CASE WHEN $3::int = 1 THEN NULL ELSE last_status_code END),
             last_error = $5, last_attempt_at = CASE WHEN $3::int = 1 THEN now() ELSE last_attempt_at END,
             delivered_at = CASE WHEN $2 = 'delivered' THEN now() ELSE delivered_at END
           WHERE id = $1 AND status <> 'delivered' RETURNING subscription_id)
         UPDATE webhook_subscriptions SET enabled = false, disabled_reason = 'gone', updated_at = now()
         WHERE $6 AND enabled AND id IN (SELECT subscription_id FROM d)`,
        [deliveryId, status, attempted ? 1 : 0, statusCode ?? null, error, outcome.kind === 'gone'],
      );
    },

    /** One subscription's deliveries, newest first. */
    async deliveries(subscriptionId: string, limit: number, before?: PagePosition): Promise<Delivery[]> {
      const params: unknown[] = [subscriptionId];
      const where = page(before, params);
      const { rows } = await pool.query(
        `SELECT * FROM webhook_deliveries WHERE subscription_id = $1 AND ${where} ORDER BY created_at DESC, id DESC LIMIT $${params.push(limit)}`,
        params,
      );
      return rows.map(toDelivery);
    },
  };
}

export type WebhookRepository = ReturnType<typeof createWebhookRepository>;
