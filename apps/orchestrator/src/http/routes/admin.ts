import { Router } from 'express';
import { decodePageCursor, encodePageCursor } from '@orderflow/domain';
import type { DeadLetter, DeadLetterRepository } from '../../dead-letters/dead-letter-repository';
import { encodeBytes } from '../../dead-letters/encoding';
import type { SagaRepository } from '../../saga/saga-repository';
import { HttpProblem } from '../problem';
import { deadLetterQuery, orderIdParam, parse } from '../schemas';

/** /v1/admin/sagas/{orderId}: where a saga stands and how it got there. */
export function adminSagaRoutes(sagas: SagaRepository): Router {
  const router = Router();
  router.get('/:orderId', async (req, res) => {
    const orderId = parse(orderIdParam, req.params.orderId, 'path');
    const saga = await sagas.load(orderId);
    if (!saga) throw new HttpProblem('not-found', `no saga for order ${orderId}`);
    const { state, step, attempts, compensations, cancelRequested, outcome, lastError, nextAttemptAt, createdAt, updatedAt } = saga;
    res.json({
      orderId,
      state,
      currentStep: step,
      attempts,
      nextAttemptAt: nextAttemptAt ?? null,
      compensations,
      cancelRequested,
      outcome: outcome ?? null,
      lastError: lastError ?? null,
      createdAt,
      updatedAt,
      steps: await sagas.steps(orderId),
    });
  });
  return router;
}

/** /v1/admin/dead-letters: every dead letter (Kafka, RabbitMQ, saga) and their replay. */
export function adminDeadLetterRoutes(repo: DeadLetterRepository, replay: (id: string) => Promise<unknown>): Router {
  const router = Router();
  router.get('/', async (req, res) => {
    const { limit, cursor } = parse(deadLetterQuery, req.query, 'query');
    const items = await repo.list(limit, cursor ? decodePageCursor(cursor) : undefined);
    const last = items.length === limit ? items.at(-1) : undefined;
    res.json({
      items: items.map(deadLetterView),
      nextCursor: last?.createdAt ? encodePageCursor({ createdAt: last.createdAt, id: last.id }) : null,
    });
  });
  router.post('/:id/replay', async (req, res) => {
    res.status(202).json(await replay(parse(orderIdParam, req.params.id, 'path')));
  });
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
    replayable: d.source !== 'saga',
  };
}

/** /v1/admin/stats: orders by status, sagas in flight, dead letters, outbox lag. */
export function adminStatsRoutes(stats: () => Promise<unknown>): Router {
  const router = Router();
  router.get('/', async (_req, res) => {
    res.json(await stats());
  });
  return router;
}
