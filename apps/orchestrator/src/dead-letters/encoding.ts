// How a dead letter's bytes are shown and stored as text. A poison message is any bytes at all; Postgres
// text and jsonb refuse NUL and invalid UTF-8, so whatever is not plain text travels as base64.
import { isUtf8 } from 'node:buffer';

export type ByteEncoding = 'utf8' | 'base64';

// Control characters other than tab, LF and CR: Postgres refuses NUL, and the rest mark binary data.
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/;

/** Whether bytes read as text: valid UTF-8 with no control characters but tab, LF and CR. */
export function isText(bytes: Buffer): boolean {
  return isUtf8(bytes) && !CONTROL.test(bytes.toString('utf8'));
}

/** Bytes as text: the text itself when they are text, otherwise their base64. */
export function encodeBytes(bytes: Buffer): { text: string; encoding: ByteEncoding } {
  return isText(bytes) ? { text: bytes.toString('utf8'), encoding: 'utf8' } : { text: bytes.toString('base64'), encoding: 'base64' };
}

/** The original bytes of `encodeBytes`' text. */
export function decodeBytes(text: string, encoding: ByteEncoding): Buffer {
  return Buffer.from(text, encoding);
}

/** A string Postgres accepts as text or in jsonb: NUL and lone surrogates become U+FFFD. */
export function cleanText(s: string): string {
  // Buffer.from replaces lone surrogates (which jsonb refuses) with U+FFFD.
  return Buffer.from(s.replace(/\0/g, '\uFFFD'), 'utf8').toString('utf8');
}

function toJson(value: unknown): string {
  try {
    return JSON.stringify(value, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v)) ?? String(value);
  } catch (error) {
    return `[not serializable: ${error instanceof Error ? error.message : String(error)}]`;
  }
}

/**
 * A header value as a dead letter keeps it: text when it is text (numbers, booleans and dates as
 * text, objects and arrays as JSON), otherwise its bytes (a Buffer), so nothing is lost or refused.
 */
export function headerValue(value: unknown): string | Buffer {
  if (value === undefined || value === null) return '';
  if (Buffer.isBuffer(value)) return isText(value) ? value.toString('utf8') : value;
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? 'Invalid Date' : value.toISOString();
  const text = typeof value === 'string' ? value : typeof value === 'object' ? toJson(value) : String(value);
  const bytes = Buffer.from(text, 'utf8');
  return isText(bytes) ? bytes.toString('utf8') : bytes;
}

/** Every header through `headerValue`. */
export function sanitizeHeaders(raw: Record<string, unknown>): Record<string, string | Buffer> {
  return Object.fromEntries(Object.entries(raw).map(([name, value]) => [cleanText(name), headerValue(value)]));
}
