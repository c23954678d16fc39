import { Router } from 'express';
import type { Order } from '@orderflow/domain';
import { annotateRequestLog, currentTraceparent, withLogFields } from '@orderflow/platform';
import type { IdempotencyStore, StoredResponse } from '../../idempotency/idempotency-store';
import { idempotent } from '../../idempotency/idempotent';
import type { OrderUseCases } from '../../orders/orders';
import { callerOf } from '../auth';
import { listQuery, orderIdParam, parse, placeOrderBody, traceparentOf } from '../schemas';

/** The order as the API shows it (the `Order` schema of openapi.ts). */
export function orderJson(order: Order) {
  const { id, customerId, status, items, totalCents, reason, createdAt, updatedAt } = order;
  return { id, customerId, status, items, totalCents, ...(reason ? { reason } : {}), createdAt, updatedAt };
}

function accepted(order: Order): StoredResponse {
  return {
    status: 202,
    headers: { 'Content-Type': 'application/json; charset=utf-8', Location: `/v1/orders/${order.id}` },
    body: Buffer.from(JSON.stringify(orderJson(order))),
  };
}

/** /v1/orders: place, read, list, cancel. Thin: parse, call one use case, shape the answer. */
export function orderRoutes(orders: OrderUseCases, keys: IdempotencyStore): Router {
  const router = Router();

  router.post(
    '/',
    idempotent(keys, async (req, claim) => {
      const body = parse(placeOrderBody, req.body, 'body');
      const orderId = claim.resourceId;
      if (req.res) annotateRequestLog(req.res, { orderId });
      // The saga and every fact and task of the order continue this request's trace.
      const traceparent = currentTraceparent() ?? traceparentOf(req.get('traceparent'));
      const order = await withLogFields({ orderId }, () =>
        orders.placeOrder(
          callerOf(req),
          body.items,
          {
            resourceId: orderId,
            resumed: claim.resumed,
            beginEffect: claim.beginEffect,
            completion: (o) => claim.completion(accepted(o)),
            committed: claim.completed,
          },
          traceparent,
        ),
      );
      return accepted(order);
    }),
  );

  router.get('/', async (req, res) => {
    const query = parse(listQuery, req.query, 'query');
    const page = await orders.listOrders(callerOf(req), query);
    res.json({ items: page.orders.map(orderJson), nextCursor: page.nextCursor ?? null });
  });

  router.get('/:id', async (req, res) => {
    const orderId = parse(orderIdParam, req.params.id, 'path');
    annotateRequestLog(res, { orderId });
    const order = await orders.getOrder(callerOf(req), orderId);
    res.json(orderJson(order));
  });

  router.post(
    '/:id/cancel',
    idempotent(keys, async (req, claim) => {
      const orderId = parse(orderIdParam, req.params.id, 'path');
      if (req.res) annotateRequestLog(req.res, { orderId });
      const order = await orders.cancelOrder(callerOf(req), orderId, {
        resourceId: orderId,
        resumed: claim.resumed,
        beginEffect: claim.beginEffect,
        completion: (o) => claim.completion(accepted(o)),
        committed: claim.completed,
      });
      return accepted(order);
    }),
  );
  return router;
}
