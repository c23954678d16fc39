import { canonicalJson, parseIdempotencyKey, requestFingerprint } from './fingerprint';

describe('request fingerprint', () => {
  it('is the same for the same JSON with keys reordered', () => {
    const a = requestFingerprint('POST', '/v1/orders', { items: [{ sku: 'A', quantity: 1 }], note: { b: 1, a: 2 } });
    const b = requestFingerprint('post', '/v1/orders', { note: { a: 2, b: 1 }, items: [{ quantity: 1, sku: 'A' }] });
    expect(a).toBe(b);
  });

  it('differs when the body, path or method differ', () => {
    const base = requestFingerprint('POST', '/v1/orders', { items: [{ sku: 'A', quantity: 1 }] });
    expect(requestFingerprint('POST', '/v1/orders', { items: [{ sku: 'A', quantity: 2 }] })).not.toBe(base);
    expect(requestFingerprint('POST', '/v1/orders/x/cancel', { items: [{ sku: 'A', quantity: 1 }] })).not.toBe(base);
    expect(requestFingerprint('PUT', '/v1/orders', { items: [{ sku: 'A', quantity: 1 }] })).not.toBe(base);
  });

  it('keeps array order significant', () => {
    expect(canonicalJson([1, 2])).not.toBe(canonicalJson([2, 1]));
  });
});

describe('Idempotency-Key header', () => {
  it('accepts bare and structured-field string keys', () => {
    expect(parseIdempotencyKey('abc-123')).toEqual({ ok: true, key: 'abc-123' });
    expect(parseIdempotencyKey('"8e03978e-40d5-43e8-bc93-6894a57f9324"')).toEqual({ ok: true, key: '8e03978e-40d5-43e8-bc93-6894a57f9324' });
  });

  it('rejects a missing, empty, blank, over-long or non-ASCII key', () => {
    expect(parseIdempotencyKey(undefined)).toEqual({ ok: false, missing: true });
    expect(parseIdempotencyKey('')).toEqual({ ok: false, missing: true });
    expect(parseIdempotencyKey('""')).toEqual({ ok: false, missing: false });
    expect(parseIdempotencyKey('   ')).toEqual({ ok: false, missing: false });
    expect(parseIdempotencyKey('k'.repeat(256))).toEqual({ ok: false, missing: false });
    expect(parseIdempotencyKey('k'.repeat(255))).toEqual({ ok: true, key: 'k'.repeat(255) });
    expect(parseIdempotencyKey('clé')).toEqual({ ok: false, missing: false });
  });
});
