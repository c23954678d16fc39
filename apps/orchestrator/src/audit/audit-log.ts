import type { Pool } from 'pg';
import type { Queryable } from '@orderflow/db';

export type AuditOutcome = 'succeeded' | 'refused' | 'failed';

/** One admin action as the audit log keeps it. */
export interface AuditEntry {
  /** The token's `sub`. */
  actor: string;
  /** What was done, e.g. `saga.cancel`, `dead-letter.replay`, `product.upsert`. */
  action: string;
  /** What it was done to (an order id, a dead letter id, a SKU); none for a bulk action. */
  target?: string;
  outcome: AuditOutcome;
  /** The HTTP status the action was answered with. */
  status: number;
  /** The result in a line, or why it was refused or failed. */
  detail?: string;
  /** The request body as sent (reasons, filters, new values). */
  request?: unknown;
  idempotencyKey?: string;
}

export interface AuditRecord extends Required<Pick<AuditEntry, 'actor' | 'action' | 'outcome' | 'status'>> {
  id: string;
  at: string;
  target: string | null;
  detail: string | null;
  request: unknown;
  idempotencyKey: string | null;
}

/** Which audit records a page lists; every given field must match exactly. */
export interface AuditFilter {
  action?: string;
  /** The token's `sub`. */
  actor?: string;
}

/** The admin audit log: appended in the transaction of the action it records, read newest first. */
export function createAuditLog(pool: Pool) {
  return {
    /** Appends `entry`, in the action's own transaction `db` for a success. */
    async record(entry: AuditEntry, db: Queryable = pool): Promise<void> {
      await db.query(
        `INSERT INTO admin_audit (actor, action, target, outcome, status, detail, request, idempotency_key) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
        [
          entry.actor,
          entry.action,
          entry.target ?? null,
          entry.outcome,
          entry.status,
          entry.detail?.slice(0, 2_000) ?? null,
          entry.request === undefined ? null : JSON.stringify(entry.request),
          entry.idempotencyKey ?? null,
        ],
      );
    },

    /** Newest first, those matching every given field of `filter`; `beforeId` is the id of the last record of the previous page. */
    async list(limit: number, beforeId?: string, filter: AuditFilter = {}): Promise<AuditRecord[]> {
      const params: unknown[] = [limit];
      const where: string[] = [];
      if (beforeId) where.push(`id < $${params.push(beforeId)}`);
      if (filter.action) where.push(`action = $${params.push(filter.action)}`);
      if (filter.actor) where.push(`actor = $${params.push(filter.actor)}`);
      const { rows } = await pool.query(`SELECT * FROM admin_audit ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY id DESC LIMIT $1`, params);
      return rows.map((r) => ({
        id: String(r.id),
        at: r.at.toISOString(),
        actor: r.actor,
        action: r.action,
        target: r.target,
        outcome: r.outcome,
        status: r.status,
        detail: r.detail,
        request: r.request,
        idempotencyKey: r.idempotency_key,
      }));
    },
  };
}

export type AuditLog = ReturnType<typeof createAuditLog>;
