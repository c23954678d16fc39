import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import type { Request, RequestHandler, Response } from 'express';
import { callerOf } from '../http/auth';
import { HttpProblem } from '../http/problem';
import { parseIdempotencyKey, requestFingerprint } from './fingerprint';
import type { HeldClaim, IdempotencyStore, KeyCompletion, StoredResponse } from './idempotency-store';

/** What a write handler gets: the resource id fixed by the key, and how to commit its response. */
export interface IdempotencyClaim {
  /** The id of the resource this request creates or acts on; the same on every retry of the key. */
  resourceId: string;
  /** True when this request resumes one that died half-way. */
  resumed: boolean;
  /** Call before the first side effect: from then on a failure keeps the claim for a retry to resume. */
  beginEffect(): void;
  /**
   * The response to store together with the change it describes, for the repository that commits that
   * change in one statement (saga-repository.ts); call `completed()` once it committed.
   */
  completion(response: StoredResponse): KeyCompletion;
  completed(): void;
}

export type IdempotentHandler = (req: Request, claim: IdempotencyClaim) => Promise<StoredResponse>;

export const REPLAY_HEADER = 'Idempotent-Replayed';

function send(res: Response, response: StoredResponse, replayed: boolean): void {
  res.status(response.status).set(response.headers);
  if (replayed) res.set(REPLAY_HEADER, 'true');
  res.end(response.body);
}

/**
 * Wraps a write endpoint in Idempotency-Key semantics (IETF draft, Stripe; README, Idempotency-Key): the key is
 * claimed per caller; a finished request is replayed byte for byte; a different body is 422; a
 * request still running is 409; a request that failed before any effect frees its key. A request
 * whose claim was taken over meanwhile (it stalled past its lock) stores and frees nothing: it
 * answers what the new holder stored, or 409 while that one still runs.
 */
export function idempotent(store: IdempotencyStore, handler: IdempotentHandler): RequestHandler {
  return async (req, res, next) => {
    const parsed = parseIdempotencyKey(req.get('idempotency-key'));
    if (!parsed.ok) {
      return next(
        parsed.missing
          ? new HttpProblem('idempotency-key-missing', 'send an Idempotency-Key header (1-255 printable ASCII characters) with every write')
          : new HttpProblem('idempotency-key-invalid', 'Idempotency-Key must be 1-255 printable ASCII characters'),
      );
    }
    const caller = callerOf(req).id;
    const key = parsed.key;
    try {
      const since = performance.now();
      const claimed = await store.claim(caller, key, requestFingerprint(req.method, req.baseUrl + req.path, req.body), randomUUID());
      if (claimed.kind === 'replay') return send(res, claimed.response, true);
      if (claimed.kind === 'in-flight') throw new HttpProblem('idempotency-key-in-use', 'retry when the first request has finished');
      if (claimed.kind === 'mismatch') throw new HttpProblem('idempotency-key-reused', 'this key was used for a different request; use a new key');

      const held: HeldClaim = { caller, key, owner: claimed.owner };
      // A resumed claim keeps its resource id even if this attempt fails early: the request it took
      // over may have created the resource already, and a fresh claim would create a second one.
      let effect = claimed.resumed;
      let completed = false;
      const claim: IdempotencyClaim = {
        resourceId: claimed.resourceId,
        resumed: claimed.resumed,
        beginEffect: () => void (effect = true),
        completion: (response) => ({ ...held, response }),
        completed: () => void (completed = true),
      };
      let response: StoredResponse;
      const lock = store.keepLocked(held, since);
      try {
        response = await handler(req, claim);
      } catch (error) {
        await lock.stop();
        // Changes nothing if another request has taken the claim over meanwhile.
        await (effect ? store.unlock(held) : store.release(held)).catch(() => undefined);
        throw error;
      }
      await lock.stop();
      // The one-statement completion cannot say whether it stored the response; only a lock that may
      // have lapsed before it ran makes that worth asking.
      const stored = completed ? lock.surelyHeld() || (await store.outcome(held)).kind === 'ours' : await store.complete(held, response);
      if (stored) return send(res, response, false);
      const outcome = await store.outcome(held);
      if (outcome.kind === 'replay') return send(res, outcome.response, true);
      throw new HttpProblem('idempotency-key-in-use', 'another request with this key took over; retry when it has finished');
    } catch (error) {
      next(error);
    }
  };
}
