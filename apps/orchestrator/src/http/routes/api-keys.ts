import { Router } from 'express';
import { AppError, decodePageCursor, encodePageCursor } from '@orderflow/domain';
import type { ApiKey, ApiKeyStore } from '../../partners/api-keys';
import { adminWrite, type AdminWriteDeps } from '../admin-write';
import { createApiKeyBody, listQuery, orderIdParam, parse } from '../schemas';

/** /v1/admin/api-keys: create a partner key (its secret shown once), list them (never the secret), revoke one. */
export function adminApiKeyRoutes(keys: ApiKeyStore, writes: AdminWriteDeps): Router {
  const router = Router();

  router.post(
    '/',
    adminWrite(writes, 'api-key.create', async (req, { tx, actor }) => {
      const body = parse(createApiKeyBody, req.body, 'body');
      const { apiKey, key } = await keys.create(tx, { ...body, createdBy: actor });
      return {
        status: 201,
        body: { ...apiKey, key },
        // A replay of this request answers the same key without its secret: the secret is kept nowhere.
        storedBody: { ...apiKey, key: null },
        target: apiKey.id,
        detail: `created ${apiKey.prefix} "${apiKey.name}" with ${apiKey.scopes.join(', ')}`,
      };
    }),
  );

  router.get('/', async (req, res) => {
    const { limit, cursor } = parse(listQuery, req.query, 'query');
    const items = await keys.list(limit, cursor ? decodePageCursor(cursor) : undefined);
    const last = items.length === limit ? items.at(-1) : undefined;
    res.json({ items, nextCursor: last ? encodePageCursor({ createdAt: last.createdAt, id: last.id }) : null });
  });

  router.delete(
    '/:id',
    adminWrite(writes, 'api-key.revoke', async (req, { tx }) => {
      const id = parse(orderIdParam, req.params.id, 'path');
      const result = await keys.revoke(tx, id);
      if (!result) throw new AppError('NOT_FOUND', `no API key ${id}`);
      return { status: 204, body: undefined, target: id, detail: result.revoked ? `revoked ${result.apiKey.prefix}` : 'already revoked' };
    }),
  );
  return router;
}

export type { ApiKey };
