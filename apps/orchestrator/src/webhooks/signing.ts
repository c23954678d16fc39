// Standard Webhooks signatures (https://www.standardwebhooks.com/): the secret is `whsec_` + base64 of
// random bytes; each attempt signs `<webhook-id>.<webhook-timestamp>.<body>` with HMAC-SHA256 over the
// decoded secret, sent as `webhook-signature: v1,<base64>`. Receivers verify with any Standard Webhooks
// library (the tests use the `standardwebhooks` npm package) and reject stale timestamps.
import { createHmac, randomBytes } from 'node:crypto';

const PREFIX = 'whsec_';

/** A fresh signing secret: `whsec_` and 32 random bytes in base64. */
export function newWebhookSecret(): string {
  return `${PREFIX}${randomBytes(32).toString('base64')}`;
}

/** The headers that sign `body` as message `id` at `timestamp` (seconds since the epoch). */
export function signatureHeaders(secret: string, id: string, timestamp: number, body: string): Record<string, string> {
  if (!secret.startsWith(PREFIX)) throw new Error('a webhook secret starts with whsec_');
  const key = Buffer.from(secret.slice(PREFIX.length), 'base64');
  const signature = createHmac('sha256', key).update(`${id}.${timestamp}.${body}`).digest('base64');
  return { 'webhook-id': id, 'webhook-timestamp': String(timestamp), 'webhook-signature': `v1,${signature}` };
}
