import type { Pool } from 'pg';

/** A response as stored for replay: exact status, the headers that matter, and the body bytes. */
export interface StoredResponse {
  status: number;
  headers: Record<string, string>;
  body: Buffer;
}

export type ClaimResult =
  | { kind: 'claimed'; resourceId: string; resumed: boolean }
  | { kind: 'replay'; response: StoredResponse }
  | { kind: 'in-flight' }
  | { kind: 'mismatch' };

export interface IdempotencyPolicy {
  ttlHours: number;
  /** How long a claim protects a running request; after that a retry may take it over. */
  lockSeconds: number;
}

/**
 * Idempotency keys in Postgres. The claim is a unique insert (never check-then-insert); a request
 * whose process died leaves an IN_FLIGHT row whose lock expires, and the next retry takes it over
 * with the same resource id, so it finishes the same order.
 */
export function createIdempotencyStore(pool: Pool, policy: IdempotencyPolicy) {
  const lock = `${policy.lockSeconds} seconds`;

  async function tryInsert(caller: string, key: string, fingerprint: string, resourceId: string): Promise<boolean> {
    const { rowCount } = await pool.query(
      `INSERT INTO idempotency_keys (caller, key, fingerprint, state, resource_id, locked_until, expires_at)
       VALUES ($1, $2, $3, 'IN_FLIGHT', $4, now() + $5::interval, now() + $6::interval)
       ON CONFLICT (caller, key) DO NOTHING`,
      [caller, key, fingerprint, resourceId, lock, `${Math.round(policy.ttlHours * 3_600_000)} milliseconds`],
    );
    return rowCount === 1;
  }

  return {
    async claim(caller: string, key: string, fingerprint: string, newResourceId: string): Promise<ClaimResult> {
      for (let round = 0; round < 3; round++) {
        if (await tryInsert(caller, key, fingerprint, newResourceId)) return { kind: 'claimed', resourceId: newResourceId, resumed: false };
        const { rows } = await pool.query(
          `SELECT fingerprint, state, resource_id, response_status, response_headers, response_body,
                  locked_until <= now() AS lock_expired, expires_at <= now() AS expired
             FROM idempotency_keys WHERE caller = $1 AND key = $2`,
          [caller, key],
        );
        const row = rows[0];
        if (!row) continue; // purged between our insert and read: claim again
        if (row.expired) {
          // Past its TTL but not purged yet: the key is free again.
          await pool.query('DELETE FROM idempotency_keys WHERE caller = $1 AND key = $2 AND expires_at <= now()', [caller, key]);
          continue;
        }
        if (row.fingerprint !== fingerprint) return { kind: 'mismatch' };
        if (row.state === 'COMPLETED') {
          return { kind: 'replay', response: { status: row.response_status, headers: row.response_headers, body: row.response_body } };
        }
        if (!row.lock_expired) return { kind: 'in-flight' };
        const takeover = await pool.query(
          `UPDATE idempotency_keys SET locked_until = now() + $3::interval
            WHERE caller = $1 AND key = $2 AND state = 'IN_FLIGHT' AND locked_until <= now() RETURNING resource_id`,
          [caller, key, lock],
        );
        if (takeover.rowCount === 1) return { kind: 'claimed', resourceId: takeover.rows[0].resource_id, resumed: true };
      }
      return { kind: 'in-flight' };
    },

    /** Stores the response of a request that wrote nothing itself; only the first completion counts. */
    async complete(caller: string, key: string, response: StoredResponse): Promise<boolean> {
      const { rowCount } = await pool.query(
        `UPDATE idempotency_keys SET state = 'COMPLETED', response_status = $3, response_headers = $4, response_body = $5, locked_until = now()
          WHERE caller = $1 AND key = $2 AND state = 'IN_FLIGHT'`,
        [caller, key, response.status, JSON.stringify(response.headers), response.body],
      );
      return rowCount === 1;
    },

    /**
     * The same completion as the body of a data-modifying CTE, for a use case that commits its change
     * and the response in one statement; with `guard` (a CTE name) only if that CTE returned a row.
     * Pushes its parameters onto `params`.
     */
    completeSql(caller: string, key: string, response: StoredResponse, params: unknown[], guard?: string): string {
      const n = params.push(caller, key, response.status, JSON.stringify(response.headers), response.body);
      return `UPDATE idempotency_keys SET state = 'COMPLETED', response_status = $${n - 2}, response_headers = $${n - 1}, response_body = $${n}, locked_until = now()
               WHERE caller = $${n - 4} AND key = $${n - 3} AND state = 'IN_FLIGHT'${guard ? ` AND EXISTS (SELECT 1 FROM ${guard})` : ''} RETURNING 1`;
    },

    /** Forgets a claim whose request failed before it changed anything, so the key can be used again. */
    async release(caller: string, key: string): Promise<void> {
      await pool.query(`DELETE FROM idempotency_keys WHERE caller = $1 AND key = $2 AND state = 'IN_FLIGHT'`, [caller, key]);
    },

    /**
     * Renews the lock of a running request's claim every third of the lock time until the returned
     * stop is awaited, so only a dead process's claim is ever taken over (a slow one stays 409).
     */
    keepLocked(caller: string, key: string): () => Promise<void> {
      let renewing: Promise<unknown> = Promise.resolve();
      const timer = setInterval(() => {
        renewing = pool
          .query(`UPDATE idempotency_keys SET locked_until = now() + $3::interval WHERE caller = $1 AND key = $2 AND state = 'IN_FLIGHT'`, [caller, key, lock])
          .catch(() => undefined);
      }, (policy.lockSeconds * 1_000) / 3);
      timer.unref();
      return async () => {
        clearInterval(timer);
        await renewing; // so a late renewal cannot undo an unlock that follows
      };
    },

    /** Ends the lock of a claim whose request failed after an effect: a retry may resume it at once. */
    async unlock(caller: string, key: string): Promise<void> {
      await pool.query(`UPDATE idempotency_keys SET locked_until = now() WHERE caller = $1 AND key = $2 AND state = 'IN_FLIGHT'`, [caller, key]);
    },

    /** Deletes keys past their TTL, a batch at a time; returns how many went. */
    async purgeExpired(batch = 1_000): Promise<number> {
      const { rowCount } = await pool.query(
        `DELETE FROM idempotency_keys WHERE ctid = ANY(ARRAY(SELECT ctid FROM idempotency_keys WHERE expires_at <= now() LIMIT $1))`,
        [batch],
      );
      return rowCount ?? 0;
    },
  };
}

export type IdempotencyStore = ReturnType<typeof createIdempotencyStore>;
