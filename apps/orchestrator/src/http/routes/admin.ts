import { Router } from 'express';
import { AppError, decodePageCursor, encodePageCursor } from '@orderflow/domain';
import type { AuditLog } from '../../audit/audit-log';
import { statusOfLetter, type DeadLetter, type DeadLetterRepository } from '../../dead-letters/dead-letter-repository';
import { encodeBytes } from '../../dead-letters/encoding';
import { whyNotReplayable, type Replay } from '../../dead-letters/replay';
import type { Saga } from '../../saga/order-saga';
import { statusOf, type SagaOperations } from '../../saga/saga-operations';
import type { SagaRepository } from '../../saga/saga-repository';
import { adminWrite, type AdminWriteDeps } from '../admin-write';
import { HttpProblem } from '../problem';
import { auditQuery, deadLetterQuery, orderIdParam, parse, reasonBody, replayMatchingBody, sagaSearchQuery } from '../schemas';

/** A saga as the search lists it. */
function sagaSummary(s: Saga) {
  return {
    orderId: s.orderId,
    customerId: s.customerId,
    state: statusOf(s),
    currentStep: s.step,
    attempts: s.attempts,
    outcome: s.outcome ?? null,
    lastError: s.lastError ?? null,
    nextAttemptAt: s.nextAttemptAt ?? null,
    totalCents: s.data.totalCents,
    createdAt: s.createdAt,
    updatedAt: s.updatedAt,
    finishedAt: s.finishedAt ?? null,
  };
}

const nextCursorOf = <T>(items: T[], limit: number, position: (last: T) => { createdAt: string; id: string }) =>
  items.length === limit ? encodePageCursor(position(items.at(-1)!)) : null;

export interface AdminSagaDeps {
  sagas: SagaRepository;
  operations: SagaOperations;
  deadLetters: DeadLetterRepository;
  /** Runs a saga from its last commit (the saga runner's `resume`). */
  resume: (orderId: string) => Promise<void>;
  writes: AdminWriteDeps;
}

/** /v1/admin/sagas: search sagas, read one's timeline, run one now, cancel one as an operator. */
export function adminSagaRoutes(deps: AdminSagaDeps): Router {
  const { sagas, operations } = deps;
  const router = Router();

  router.get('/', async (req, res) => {
    const { state, cursor, ...q } = parse(sagaSearchQuery, req.query, 'query');
    const items = await operations.search({ ...q, ...(state ? { status: state } : {}), ...(cursor ? { after: decodePageCursor(cursor) } : {}) });
    res.json({ items: items.map(sagaSummary), nextCursor: nextCursorOf(items, q.limit, (s) => ({ createdAt: s.createdAt, id: s.orderId })) });
  });

  router.get('/:orderId', async (req, res) => {
    const orderId = parse(orderIdParam, req.params.orderId, 'path');
    const saga = await sagas.load(orderId);
    if (!saga) throw new HttpProblem('not-found', `no saga for order ${orderId}`);
    const [steps, messages, letters] = await Promise.all([sagas.steps(orderId), operations.messages(orderId), deps.deadLetters.ofOrder(orderId)]);
    res.json({
      ...sagaSummary(saga),
      compensations: saga.compensations,
      cancelRequested: saga.cancelRequested,
      items: saga.data.items,
      reason: saga.data.reason ?? null,
      steps,
      messages,
      deadLetters: letters.map((d) => ({
        id: d.id,
        source: d.source,
        origin: d.origin,
        error: d.error,
        attempts: d.attempts,
        status: statusOfLetter(d),
        createdAt: d.createdAt!,
      })),
    });
  });

  router.post(
    '/:orderId/retry',
    adminWrite(deps.writes, 'saga.retry', async (req, { tx, actor }) => {
      const orderId = parse(orderIdParam, req.params.orderId, 'path');
      const saga = await operations.retryNow(tx, orderId, actor);
      if (!saga) {
        if (!(await sagas.load(orderId))) throw new HttpProblem('not-found', `no saga for order ${orderId}`);
        throw new AppError('CONFLICT', `the saga of order ${orderId} has ended; there is nothing to run`);
      }
      return {
        status: 202,
        body: sagaSummary(saga),
        target: orderId,
        detail: `runs ${saga.state === 'RUNNING' ? saga.step : 'its compensations'} now (attempt ${saga.attempts + 1})`,
        afterCommit: () => void deps.resume(orderId),
      };
    }),
  );

  router.post(
    '/:orderId/cancel',
    adminWrite(deps.writes, 'saga.cancel', async (req, { tx, actor }) => {
      const orderId = parse(orderIdParam, req.params.orderId, 'path');
      const { reason } = parse(reasonBody, req.body, 'body');
      const accepted = await sagas.requestCancel(orderId, undefined, { within: tx, detail: `by operator ${actor}: ${reason}` });
      const saga = await sagas.load(orderId, tx);
      if (!saga) throw new HttpProblem('not-found', `no saga for order ${orderId}`);
      if (!accepted)
        throw new AppError('INVALID_TRANSITION', `order ${orderId} cannot be cancelled: its saga is ${statusOf(saga)} (${saga.outcome ?? saga.step})`);
      return { status: 202, body: sagaSummary(saga), target: orderId, detail: `cancel requested: ${reason}`, afterCommit: () => void deps.resume(orderId) };
    }),
  );
  return router;
}

/**
 * A dead letter as an operator reads it: payload and key as text when they are text, otherwise base64
 * (`payloadEncoding`, `keyEncoding`); header values that are not text in base64, named in `base64Headers`.
 */
function deadLetterView(d: DeadLetter) {
  const { key, payload, headers, ...rest } = d;
  const body = encodeBytes(payload);
  const shownKey = key && encodeBytes(key);
  return {
    ...rest,
    ...(shownKey ? { key: shownKey.text, keyEncoding: shownKey.encoding } : {}),
    payload: body.text,
    payloadEncoding: body.encoding,
    headers: Object.fromEntries(Object.entries(headers).map(([name, v]) => [name, Buffer.isBuffer(v) ? v.toString('base64') : v])),
    base64Headers: Object.keys(headers).filter((name) => Buffer.isBuffer(headers[name])),
    status: statusOfLetter(d),
    // As the replay decides (a saga's letter, a task that is not JSON: 409), so the console offers no replay that must fail.
    replayable: !whyNotReplayable(d),
  };
}

/** /v1/admin/dead-letters: every dead letter (Kafka, RabbitMQ, saga): filter, replay one or many, discard. */
export function adminDeadLetterRoutes(repo: DeadLetterRepository, replay: Replay, writes: AdminWriteDeps): Router {
  const router = Router();
  router.get('/', async (req, res) => {
    const { limit, cursor, topic, ...filter } = parse(deadLetterQuery, req.query, 'query');
    const items = await repo.list(limit, cursor ? decodePageCursor(cursor) : undefined, { ...filter, ...(topic ? { origin: topic } : {}) });
    res.json({ items: items.map(deadLetterView), nextCursor: nextCursorOf(items, limit, (d) => ({ createdAt: d.createdAt!, id: d.id })) });
  });

  router.post(
    '/replay',
    adminWrite(writes, 'dead-letter.replay-matching', async (req, { tx, beginEffect }) => {
      const { topic, ...filter } = parse(replayMatchingBody, req.body ?? {}, 'body');
      beginEffect();
      const result = await replay.matching(tx, { ...filter, ...(topic ? { origin: topic } : {}) });
      const more = result.more ? '; more remain' : '';
      return { status: 202, body: result, detail: `${result.replayed} replayed, ${result.skipped} not replayable, of ${result.matched} matching${more}` };
    }),
  );

  router.post(
    '/:id/replay',
    adminWrite(writes, 'dead-letter.replay', async (req, { tx, beginEffect }) => {
      const id = parse(orderIdParam, req.params.id, 'path');
      beginEffect();
      const result = await replay.one(tx, id);
      return { status: 202, body: result, target: id, detail: result.replayed ? 'replayed' : 'already replayed' };
    }),
  );

  router.post(
    '/:id/discard',
    adminWrite(writes, 'dead-letter.discard', async (req, { tx }) => {
      const id = parse(orderIdParam, req.params.id, 'path');
      const { reason } = parse(reasonBody, req.body, 'body');
      const result = await repo.discard(tx, id, reason);
      if (!result.found) throw new AppError('NOT_FOUND', `no dead letter ${id}`);
      if (!result.discarded && result.letter?.replayedAt) throw new AppError('CONFLICT', `dead letter ${id} was replayed; it cannot be discarded`);
      return {
        status: 200,
        body: { id, discarded: true, alreadyDiscarded: !result.discarded },
        target: id,
        detail: result.discarded ? `discarded: ${reason}` : 'already discarded',
      };
    }),
  );
  return router;
}

const AUDIT_CURSOR = /^[1-9][0-9]{0,18}$/;

/** /v1/admin/audit: every admin action (or one action's, one admin's), newest first. */
export function adminAuditRoutes(audit: AuditLog): Router {
  const router = Router();
  router.get('/', async (req, res) => {
    const { limit, cursor, ...filter } = parse(auditQuery, req.query, 'query');
    const before = cursor && Buffer.from(cursor, 'base64url').toString();
    if (before !== undefined && !AUDIT_CURSOR.test(before)) throw new AppError('VALIDATION_FAILED', 'cursor is not valid');
    const items = await audit.list(limit, before, filter);
    res.json({ items, nextCursor: items.length === limit ? Buffer.from(items.at(-1)!.id).toString('base64url') : null });
  });
  return router;
}

/** /v1/admin/stats: orders by status, sagas in flight and ended per minute, dead letters, outbox lag, dependencies. */
export function adminStatsRoutes(stats: () => Promise<unknown>): Router {
  const router = Router();
  router.get('/', async (_req, res) => {
    res.json(await stats());
  });
  return router;
}
