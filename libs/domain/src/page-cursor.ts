import { AppError } from './errors';

/** Where a keyset-paginated list (newest first) goes on: the last item of the previous page. */
export interface PagePosition {
  createdAt: string;
  id: string;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** The opaque `nextCursor` of a page: base64url of "createdAt|id". */
export function encodePageCursor(position: PagePosition): string {
  return Buffer.from(`${position.createdAt}|${position.id}`).toString('base64url');
}

/** The position a cursor from `encodePageCursor` names; anything else is VALIDATION_FAILED. */
export function decodePageCursor(cursor: string): PagePosition {
  const [createdAt, id, ...rest] = Buffer.from(cursor, 'base64url').toString().split('|');
  if (!createdAt || !id || rest.length || Number.isNaN(Date.parse(createdAt)) || !UUID.test(id)) throw new AppError('VALIDATION_FAILED', 'cursor is not valid');
  return { createdAt, id };
}
