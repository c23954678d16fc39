import { Router } from 'express';
import type { SagaRepository } from '../../saga/saga-repository';
import { HttpProblem } from '../problem';
import { orderIdParam, parse } from '../schemas';

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
