import { decodePageCursor, encodePageCursor } from './page-cursor';

describe('page cursors', () => {
  const position = { createdAt: '2026-11-29T12:00:00.123Z', id: '6f1c1f0e-7a4b-4d2e-9a51-0c8f7e1e2a3b' };

  it('name the position they were made from', () => {
    expect(decodePageCursor(encodePageCursor(position))).toEqual(position);
  });

  it('refuse anything else as VALIDATION_FAILED', () => {
    for (const bad of [
      '',
      'not-a-cursor',
      Buffer.from('yesterday|6f1c1f0e-7a4b-4d2e-9a51-0c8f7e1e2a3b').toString('base64url'),
      Buffer.from(`${position.createdAt}|42`).toString('base64url'),
      Buffer.from(`${position.createdAt}|${position.id}|x`).toString('base64url'),
    ]) {
      expect(() => decodePageCursor(bad)).toThrow(expect.objectContaining({ code: 'VALIDATION_FAILED', message: 'cursor is not valid' }));
    }
  });
});
