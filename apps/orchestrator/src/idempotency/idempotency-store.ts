import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import type { Pool } from 'pg';
import { prepared, type Queryable } from '@orderflow/db';
import { createGroupCommit } from '@orderflow/platform';

/** A response as stored for replay: exact status, the headers that matter, and the body bytes. */
export interface StoredResponse {
  status: number;
  headers: Record<string, string>;
  body: Buffer;
}

/**
 * The response a write stores under its key in the same statement as its change (saga-repository.ts,
 * through `completeKeysSql`): stored only while the request still holds the key (IN_FLIGHT with its owner token).
 */
export interface KeyCompletion extends HeldClaim {
  response: StoredResponse;
}

/**
 * The one statement that stores responses under their keys: an UPDATE (usable as a CTE body) storing
 * each completion's response only while its key is IN_FLIGHT with the completion's owner, returning a
 * row per key completed. Its parameter arrays are pushed onto `params`. `onlyIf` is a condition the
 * statement it joins adds (a change that must have applied, as `requestCancel`'s); `complete` runs it
 * alone, the saga repository inside the statement that commits the change (a response is stored
 * exactly when its change is).
 */
export function completeKeysSql(completions: KeyCompletion[], params: unknown[], options: { onlyIf?: string } = {}): string {
  const n =
    params.push(
      completions.map((c) => c.caller),
      completions.map((c) => c.key),
      completions.map((c) => c.owner),
      completions.map((c) => c.response.status),
      completions.map((c) => JSON.stringify(c.response.headers)),
      completions.map((c) => c.response.body),
    ) - 5;
  return `UPDATE idempotency_keys k SET state = 'COMPLETED', response_status = c.status, response_headers = c.headers, response_body = c.body, locked_until = now()
            FROM unnest($${n}::text[], $${n + 1}::text[], $${n + 2}::uuid[], $${n + 3}::int[], $${n + 4}::jsonb[], $${n + 5}::bytea[]) AS c(caller, key, owner, status, headers, body)
           WHERE k.caller = c.caller AND k.key = c.key AND k.state = 'IN_FLIGHT' AND k.owner = c.owner${options.onlyIf ? ` AND ${options.onlyIf}` : ''} RETURNING 1`;
}

/** A claim as one request holds it: `owner` is the token its claim (or takeover) wrote, and proves it is still its. */
export interface HeldClaim {
  caller: string;
  key: string;
  owner: string;
}

export type ClaimResult =
  | { kind: 'claimed'; owner: string; resourceId: string; resumed: boolean }
  | { kind: 'replay'; response: StoredResponse }
  | { kind: 'in-flight' }
  | { kind: 'mismatch' };

export interface IdempotencyPolicy {
  ttlHours: number;
  /** How long a claim protects a running request; after that a retry may take it over. */
  lockSeconds: number;
}

/** What became of a key whose request may have lost it: still ours, finished by another request, or not finished. */
export type KeyOutcome = { kind: 'ours' } | { kind: 'replay'; response: StoredResponse } | { kind: 'in-flight' };

/** Renews a claim while its request runs (see `keepLocked`). */
export interface ClaimLock {
  /** False once the lock may have lapsed: no renewal confirmed within the lock time, or one found another owner. */
  surelyHeld(): boolean;
  stop(): Promise<void>;
}

/**
 * Idempotency keys in Postgres. The claim is a unique insert (never check-then-insert); a request
 * whose process died leaves an IN_FLIGHT row whose lock expires, and the next retry takes it over
 * with the same resource id, so it finishes the same order. Every claim or takeover writes a fresh
 * owner token, and every later operation acts only while the row carries it: a request that lost its
 * claim to a takeover changes nothing (its operations return false).
 */
export function createIdempotencyStore(pool: Pool, policy: IdempotencyPolicy) {
  const lock = `${policy.lockSeconds} seconds`;
  const ttl = `${Math.round(policy.ttlHours * 3_600_000)} milliseconds`;

  interface NewClaim {
    caller: string;
    key: string;
    fingerprint: string;
    resourceId: string;
    owner: string;
  }

  /**
   * Claims of concurrent requests in one insert (group commit): each request learns whether its own
   * row went in (its owner token came back) once the statement holding it has committed. The unique
   * key decides between requests as before, also between two with the same key in one batch.
   */
  const inserts = createGroupCommit<NewClaim, boolean>({
    maxBatch: 128,
    maxConcurrent: 2,
    async run(claims) {
      const { rows } = await pool.query(
        prepared(
          `INSERT INTO idempotency_keys (caller, key, fingerprint, state, resource_id, locked_until, expires_at, owner)
           SELECT c.caller, c.key, c.fingerprint, 'IN_FLIGHT', c.resource_id, now() + $6::interval, now() + $7::interval, c.owner
             FROM unnest($1::text[], $2::text[], $3::text[], $4::uuid[], $5::uuid[]) AS c(caller, key, fingerprint, resource_id, owner)
           ON CONFLICT (caller, key) DO NOTHING RETURNING owner`,
          [
            claims.map((c) => c.caller),
            claims.map((c) => c.key),
            claims.map((c) => c.fingerprint),
            claims.map((c) => c.resourceId),
            claims.map((c) => c.owner),
            lock,
            ttl,
          ],
        ),
      );
      const inserted = new Set(rows.map((r) => r.owner as string));
      return claims.map((c) => inserted.has(c.owner));
    },
  });

  /** Extends the lock of a claim still held by `held.owner`; false (nothing changed) once another request holds it. */
  async function renew(held: HeldClaim): Promise<boolean> {
    const { rowCount } = await pool.query(
      `UPDATE idempotency_keys SET locked_until = now() + $4::interval WHERE caller = $1 AND key = $2 AND state = 'IN_FLIGHT' AND owner = $3`,
      [held.caller, held.key, held.owner, lock],
    );
    return rowCount === 1;
  }

  return {
    async claim(caller: string, key: string, fingerprint: string, newResourceId: string): Promise<ClaimResult> {
      const owner = randomUUID();
      for (let round = 0; round < 3; round++) {
        if (await inserts.add({ caller, key, fingerprint, resourceId: newResourceId, owner }))
          return { kind: 'claimed', owner, resourceId: newResourceId, resumed: false };
        const { rows } = await pool.query(
          `SELECT fingerprint, state, resource_id, response_status, response_headers, response_body,
                  locked_until <= now() AS lock_expired, expires_at <= now() AND locked_until <= now() AS expired
             FROM idempotency_keys WHERE caller = $1 AND key = $2`,
          [caller, key],
        );
        const row = rows[0];
        if (!row) continue; // purged between our insert and read: claim again
        if (row.expired) {
          // Past its TTL and not locked by a live request, but not purged yet: the key is free again.
          await pool.query('DELETE FROM idempotency_keys WHERE caller = $1 AND key = $2 AND expires_at <= now() AND locked_until <= now()', [caller, key]);
          continue;
        }
        if (row.fingerprint !== fingerprint) return { kind: 'mismatch' };
        if (row.state === 'COMPLETED') {
          return { kind: 'replay', response: { status: row.response_status, headers: row.response_headers, body: row.response_body } };
        }
        if (!row.lock_expired) return { kind: 'in-flight' };
        const takeover = await pool.query(
          `UPDATE idempotency_keys SET locked_until = now() + $3::interval, owner = $4
            WHERE caller = $1 AND key = $2 AND state = 'IN_FLIGHT' AND locked_until <= now() RETURNING resource_id`,
          [caller, key, lock, owner],
        );
        if (takeover.rowCount === 1) return { kind: 'claimed', owner, resourceId: takeover.rows[0].resource_id, resumed: true };
      }
      return { kind: 'in-flight' };
    },

    /**
     * Stores the response of a request; false, and nothing stored, unless it still holds the claim.
     * `within` runs it in the caller's transaction, committing the response with the change it describes.
     */
    async complete(held: HeldClaim, response: StoredResponse, within: Queryable = pool): Promise<boolean> {
      const params: unknown[] = [];
      const { rowCount } = await within.query(completeKeysSql([{ ...held, response }], params), params);
      return rowCount === 1;
    },

    /** Whether `held` completed its key, else what another request made of it: its stored response, or none yet. */
    async outcome(held: HeldClaim): Promise<KeyOutcome> {
      const { rows } = await pool.query(
        `SELECT state, owner IS NOT DISTINCT FROM $3::uuid AS ours, response_status, response_headers, response_body
           FROM idempotency_keys WHERE caller = $1 AND key = $2`,
        [held.caller, held.key, held.owner],
      );
      const row = rows[0];
      if (row?.state !== 'COMPLETED') return { kind: 'in-flight' };
      return row.ours
        ? { kind: 'ours' }
        : { kind: 'replay', response: { status: row.response_status, headers: row.response_headers, body: row.response_body } };
    },

    /** Forgets a claim whose request failed before it changed anything, so the key can be used again; false if it is no longer held. */
    async release(held: HeldClaim): Promise<boolean> {
      const { rowCount } = await pool.query(`DELETE FROM idempotency_keys WHERE caller = $1 AND key = $2 AND state = 'IN_FLIGHT' AND owner = $3`, [
        held.caller,
        held.key,
        held.owner,
      ]);
      return rowCount === 1;
    },

    renew,

    /**
     * Renews the lock of a running request's claim every third of the lock time until stopped, so only
     * a dead (or stalled) process's claim is ever taken over (a slow one stays 409). `since` is
     * `performance.now()` from before the claim was sent: the lock runs at least `lockSeconds` from then.
     */
    keepLocked(held: HeldClaim, since: number): ClaimLock {
      const lockMs = policy.lockSeconds * 1_000;
      let heldUntil = since + lockMs;
      let lost = false;
      let renewing: Promise<unknown> = Promise.resolve();
      const timer = setInterval(() => {
        const sent = performance.now();
        renewing = renew(held).then(
          (ours) => (ours ? (heldUntil = Math.max(heldUntil, sent + lockMs)) : ((lost = true), clearInterval(timer))),
          () => undefined,
        );
      }, lockMs / 3);
      timer.unref();
      return {
        surelyHeld: () => !lost && performance.now() < heldUntil,
        async stop() {
          clearInterval(timer);
          await renewing; // so a late renewal cannot undo an unlock that follows
        },
      };
    },

    /** Ends the lock of a claim whose request failed after an effect: a retry may resume it at once; false if it is no longer held. */
    async unlock(held: HeldClaim): Promise<boolean> {
      const { rowCount } = await pool.query(
        `UPDATE idempotency_keys SET locked_until = now() WHERE caller = $1 AND key = $2 AND state = 'IN_FLIGHT' AND owner = $3`,
        [held.caller, held.key, held.owner],
      );
      return rowCount === 1;
    },

    /** Deletes keys past their TTL, a batch at a time, but never a claim a live request still locks; returns how many went. */
    async purgeExpired(batch = 1_000): Promise<number> {
      const { rowCount } = await pool.query(
        `DELETE FROM idempotency_keys
          WHERE ctid = ANY(ARRAY(SELECT ctid FROM idempotency_keys WHERE expires_at <= now() AND locked_until <= now() LIMIT $1))`,
        [batch],
      );
      return rowCount ?? 0;
    },
  };
}

export type IdempotencyStore = ReturnType<typeof createIdempotencyStore>;
