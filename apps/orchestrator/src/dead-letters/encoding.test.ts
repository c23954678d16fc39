import { cleanText, decodeBytes, encodeBytes, headerValue, sanitizeHeaders } from './encoding';

describe('dead letter bytes as text', () => {
  it('shows UTF-8 text as is and gives the same bytes back', () => {
    const bytes = Buffer.from('{"café":"☕"}\n\ttab', 'utf8');
    expect(encodeBytes(bytes)).toEqual({ text: '{"café":"☕"}\n\ttab', encoding: 'utf8' });
    expect(decodeBytes('{"café":"☕"}\n\ttab', 'utf8').equals(bytes)).toBe(true);
  });

  it.each([
    ['NUL and SOH', Buffer.from([0x00, 0x01]), 'AAE='],
    ['invalid UTF-8', Buffer.from([0xff, 0xfe, 0x41]), '//5B'],
    ['a truncated multi-byte sequence', Buffer.from([0xe2, 0x98]), '4pg='],
    ['text with a NUL inside', Buffer.from('ab\u0000cd'), 'YWIAY2Q='],
  ])('shows %s as base64 and decodes it back byte for byte', (_what, bytes, base64) => {
    const shown = encodeBytes(bytes);
    expect(shown).toEqual({ text: base64, encoding: 'base64' });
    expect(decodeBytes(shown.text, shown.encoding).equals(bytes)).toBe(true);
  });

  it('shows no bytes as empty text', () => {
    expect(encodeBytes(Buffer.alloc(0))).toEqual({ text: '', encoding: 'utf8' });
  });
});

describe('dead letter headers', () => {
  it('keeps text values, and the bytes of values that are not text', () => {
    expect(headerValue(Buffer.from('trace-1'))).toBe('trace-1');
    expect(headerValue(Buffer.from([0x00, 0xff]))).toEqual(Buffer.from([0x00, 0xff]));
    expect(headerValue('a\u0000b')).toEqual(Buffer.from('a\u0000b'));
    expect(headerValue('plain')).toBe('plain');
  });

  it('turns values that are not strings into text: numbers, booleans, dates, objects as JSON, bigints, nothing', () => {
    expect(headerValue(3)).toBe('3');
    expect(headerValue(true)).toBe('true');
    expect(headerValue(new Date('2026-01-02T03:04:05.000Z'))).toBe('2026-01-02T03:04:05.000Z');
    expect(headerValue({ a: [1, 'x'], n: 10n })).toBe('{"a":[1,"x"],"n":"10"}');
    expect(headerValue(null)).toBe('');
    expect(headerValue(undefined)).toBe('');
  });

  it('does not throw on a value JSON cannot express', () => {
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    expect(headerValue(cyclic)).toMatch(/^\[not serializable: /);
  });

  it('makes every header storable in jsonb: no NUL, no lone surrogate in names or text values', () => {
    const headers = sanitizeHeaders({ 'x-\u0000name': 'ok', lone: '\ud800x', bin: Buffer.from([0x00]) });
    expect(headers).toEqual({ 'x-\ufffdname': 'ok', lone: '\ufffdx', bin: Buffer.from([0x00]) });
    expect(cleanText('a\u0000b\udc00')).toBe('a\ufffdb\ufffd');
  });
});
