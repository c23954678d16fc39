import { Router } from 'express';
import { AppError, decodePageCursor, encodePageCursor } from '@orderflow/domain';
import { validateWebhookUrl } from '../../webhooks/address-guard';
import { pingEvent } from '../../webhooks/delivery-task';
import { newWebhookSecret } from '../../webhooks/signing';
import type { Subscription, WebhookRepository } from '../../webhooks/webhook-repository';
import { adminWrite, type AdminWriteDeps } from '../admin-write';
import { HttpProblem } from '../problem';
import { createWebhookBody, listQuery, orderIdParam, parse, updateWebhookBody } from '../schemas';

export interface AdminWebhookDeps {
  repo: WebhookRepository;
  writes: AdminWriteDeps;
  /** WEBHOOK_ALLOW_PRIVATE: http and private addresses are accepted (local receivers). */
  allowPrivate: boolean;
}

const nextCursorOf = <T extends { createdAt: string; id: string }>(items: T[], limit: number) =>
  items.length === limit ? encodePageCursor({ createdAt: items.at(-1)!.createdAt, id: items.at(-1)!.id }) : null;

const notFound = (id: string) => new HttpProblem('not-found', `no webhook subscription ${id}`);

/**
 * /v1/admin/webhooks: partner URLs subscribed to fact types. The secret is shown once, in the answer to
 * the create; every write is audited (`webhook.create`, `.update`, `.delete`, `.test`).
 */
export function adminWebhookRoutes(deps: AdminWebhookDeps): Router {
  const { repo } = deps;
  const router = Router();
  const url = (raw: string) => validateWebhookUrl(raw, { allowPrivate: deps.allowPrivate });

  router.get('/', async (req, res) => {
    const { limit, cursor } = parse(listQuery, req.query, 'query');
    const items = await repo.list(limit, cursor ? decodePageCursor(cursor) : undefined);
    res.json({ items, nextCursor: nextCursorOf(items, limit) });
  });

  router.post(
    '/',
    adminWrite(deps.writes, 'webhook.create', async (req, { tx, actor }) => {
      const body = parse(createWebhookBody, req.body, 'body');
      const secret = newWebhookSecret();
      const created = await repo.create(tx, { ...body, url: await url(body.url), secret, createdBy: actor });
      return {
        status: 201,
        body: { ...created, secret },
        target: created.id,
        detail: `${created.url} for ${created.events.join(', ')}`,
        afterCommit: deps.repo.subscriptionsChanged,
      };
    }),
  );

  router.get('/:id', async (req, res) => {
    const id = parse(orderIdParam, req.params.id, 'path');
    const found = await repo.get(id);
    if (!found) throw notFound(id);
    res.json(found);
  });

  router.patch(
    '/:id',
    adminWrite(deps.writes, 'webhook.update', async (req, { tx }) => {
      const id = parse(orderIdParam, req.params.id, 'path');
      const patch = parse(updateWebhookBody, req.body, 'body');
      const updated = await repo.update(tx, id, { ...patch, ...(patch.url !== undefined ? { url: await url(patch.url) } : {}) });
      if (!updated) throw notFound(id);
      return { status: 200, body: updated, target: id, detail: `changed ${Object.keys(patch).join(', ')}`, afterCommit: deps.repo.subscriptionsChanged };
    }),
  );

  router.delete(
    '/:id',
    adminWrite(deps.writes, 'webhook.delete', async (req, { tx }) => {
      const id = parse(orderIdParam, req.params.id, 'path');
      if (!(await repo.remove(tx, id))) throw notFound(id);
      return { status: 204, body: undefined, target: id, detail: 'deleted, with its deliveries', afterCommit: deps.repo.subscriptionsChanged };
    }),
  );

  router.post(
    '/:id/test',
    adminWrite(deps.writes, 'webhook.test', async (req, { tx }) => {
      const id = parse(orderIdParam, req.params.id, 'path');
      const subscription: Subscription | undefined = await repo.get(id, tx);
      if (!subscription) throw notFound(id);
      if (!subscription.enabled) throw new AppError('CONFLICT', `webhook subscription ${id} is disabled; enable it (PATCH enabled: true) before testing it`);
      const event = pingEvent(id, '/orderflow/orchestrator');
      const task = await repo.enqueuePing(tx, id, event);
      return { status: 202, body: { deliveryId: task.deliveryId, eventId: event.id }, target: id, detail: `ping ${event.id} queued` };
    }),
  );

  router.get('/:id/deliveries', async (req, res) => {
    const id = parse(orderIdParam, req.params.id, 'path');
    const { limit, cursor } = parse(listQuery, req.query, 'query');
    if (!(await repo.get(id))) throw notFound(id);
    const items = await repo.deliveries(id, limit, cursor ? decodePageCursor(cursor) : undefined);
    res.json({ items, nextCursor: nextCursorOf(items, limit) });
  });
  return router;
}
