import type { Request, RequestHandler } from 'express';
import type { PoolClient } from 'pg';
import type { AuditLog } from '../audit/audit-log';
import type { IdempotencyStore, StoredResponse } from '../idempotency/idempotency-store';
import { idempotent } from '../idempotency/idempotent';
import { callerOf } from './auth';
import { PROBLEMS, toProblem } from './problem';

export interface AdminWriteDeps {
  keys: IdempotencyStore;
  audit: AuditLog;
  /** Runs `work` in one orchestrator-database transaction. */
  transaction: <T>(work: (tx: PoolClient) => Promise<T>) => Promise<T>;
}

/** What an admin action runs with: the transaction its change, audit row and stored response commit in. */
export interface AdminActionContext {
  tx: PoolClient;
  /** The admin's token `sub`. */
  actor: string;
  /** Call before an effect outside the transaction (a publish, a gRPC call): a failure then keeps the key for a retry to resume. */
  beginEffect(): void;
}

export interface AdminActionResult {
  status: number;
  body: unknown;
  /** What the action was done to, for the audit log (an order id, a dead letter id, a SKU). */
  target?: string;
  /** The result in a line, for the audit log. */
  detail: string;
  /** Runs once the transaction has committed (start the saga an operator retried). */
  afterCommit?: () => void;
  /**
   * What the key stores for replays when the answer holds a secret shown only once (a new API key):
   * the same answer without it, so no secret is kept at rest. Default: `body`.
   */
  storedBody?: unknown;
}

/** A JSON answer; none (and no content type) for a 204. */
const jsonResponse = (status: number, body: unknown): StoredResponse =>
  status === 204
    ? { status, headers: {}, body: Buffer.alloc(0) }
    : { status, headers: { 'Content-Type': 'application/json; charset=utf-8' }, body: Buffer.from(JSON.stringify(body)) };

/**
 * An admin write: Idempotency-Key semantics like the customer writes (idempotent.ts), and an audit row
 * (who, what, on what, outcome). A success commits its change, its audit row and its stored response
 * in one transaction, so an action is never done without being recorded, nor recorded without being
 * done. A refusal or failure is recorded after the fact, and its key freed (or kept, after an effect).
 */
export function adminWrite(deps: AdminWriteDeps, action: string, run: (req: Request, ctx: AdminActionContext) => Promise<AdminActionResult>): RequestHandler {
  return idempotent(deps.keys, async (req, claim) => {
    const actor = callerOf(req).id;
    const entry = { actor, action, request: req.body, idempotencyKey: req.get('idempotency-key') };
    try {
      const { response, stored, afterCommit } = await deps.transaction(async (tx) => {
        const result = await run(req, { tx, actor, beginEffect: claim.beginEffect });
        const response = jsonResponse(result.status, result.body);
        await deps.audit.record({ ...entry, target: result.target, outcome: 'succeeded', status: result.status, detail: result.detail }, tx);
        const kept = 'storedBody' in result ? jsonResponse(result.status, result.storedBody) : response;
        return { response, stored: await deps.keys.complete(claim.completion(kept), kept, tx), afterCommit: result.afterCommit };
      });
      if (stored) claim.completed();
      afterCommit?.();
      return response;
    } catch (error) {
      const { problem, detail } = toProblem(error);
      const { status, title } = PROBLEMS[problem];
      const target = Object.values(req.params).find((value): value is string => typeof value === 'string');
      await deps.audit
        .record({ ...entry, ...(target ? { target } : {}), outcome: status < 500 ? 'refused' : 'failed', status, detail: detail ?? title })
        .catch(() => undefined); // the database being down is what failed the action; the error still answers
      throw error;
    }
  });
}
