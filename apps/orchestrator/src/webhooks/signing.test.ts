import { Webhook, WebhookVerificationError } from 'standardwebhooks';
import { newWebhookSecret, signatureHeaders } from './signing';

describe('Standard Webhooks signing', () => {
  const body = JSON.stringify({ specversion: '1.0', id: '5b1c2f3e-0000-4000-8000-000000000001', type: 'order.confirmed', data: { orderId: 'x' } });
  const now = () => Math.floor(Date.now() / 1_000);

  it('signs so that the standardwebhooks package verifies the delivery', () => {
    const secret = newWebhookSecret();
    const headers = signatureHeaders(secret, 'msg_1', now(), body);
    expect(new Webhook(secret).verify(body, headers)).toEqual(JSON.parse(body));
  });

  it('produces the signature the standardwebhooks package produces for the same id, time and body', () => {
    const secret = newWebhookSecret();
    const t = now();
    expect(signatureHeaders(secret, 'msg_2', t, body)['webhook-signature']).toBe(new Webhook(secret).sign('msg_2', new Date(t * 1_000), body));
  });

  it('fails verification for another secret, a changed body or a stale timestamp', () => {
    const secret = newWebhookSecret();
    const headers = signatureHeaders(secret, 'msg_3', now(), body);
    expect(() => new Webhook(newWebhookSecret()).verify(body, headers)).toThrow(WebhookVerificationError);
    expect(() => new Webhook(secret).verify(body.replace('confirmed', 'cancelled'), headers)).toThrow(WebhookVerificationError);
    const stale = signatureHeaders(secret, 'msg_3', now() - 3_600, body);
    expect(() => new Webhook(secret).verify(body, stale)).toThrow(WebhookVerificationError);
  });

  it('issues whsec_ secrets of 32 random bytes, never the same twice', () => {
    const a = newWebhookSecret();
    expect(a).toMatch(/^whsec_[A-Za-z0-9+/]+=*$/);
    expect(Buffer.from(a.slice(6), 'base64')).toHaveLength(32);
    expect(newWebhookSecret()).not.toBe(a);
  });
});
