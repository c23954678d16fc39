import { createHash } from 'node:crypto';

/** JSON with object keys sorted at every level, so key order and whitespace do not change the fingerprint. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.keys(value)
      .sort()
      .map((key) => `${JSON.stringify(key)}:${canonicalJson((value as Record<string, unknown>)[key])}`);
    return `{${entries.join(',')}}`;
  }
  return JSON.stringify(value ?? null);
}

/** What makes two requests "the same request": method, path and canonical body. */
export function requestFingerprint(method: string, path: string, body: unknown): string {
  return createHash('sha256')
    .update(`${method.toUpperCase()} ${path}\n${canonicalJson(body)}`)
    .digest('hex');
}

/**
 * Reads an Idempotency-Key header: 1-255 printable ASCII characters. The IETF draft sends it as a
 * structured-field string ("…"); Stripe-style bare keys are accepted too.
 */
export function parseIdempotencyKey(header: string | undefined): { ok: true; key: string } | { ok: false; missing: boolean } {
  if (header === undefined || header === '') return { ok: false, missing: true };
  const quoted = /^"((?:[\x20\x21\x23-\x5b\x5d-\x7e]|\\["\\])*)"$/.exec(header);
  const key = quoted ? quoted[1]!.replace(/\\(["\\])/g, '$1') : header;
  if (key.length < 1 || key.length > 255 || !/^[\x20-\x7e]+$/.test(key) || key.trim() === '') return { ok: false, missing: false };
  return { ok: true, key };
}
