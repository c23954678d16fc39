import { createEvent } from '@orderflow/domain';
import { decodeCloudEvent, headerValue } from './event-codec';
import { factMessage } from './outbox';
import { kafkaMessageOf } from './publishers';

describe('event codec', () => {
  const traceparent = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
  const event = createEvent({ type: 'order.placed', source: '/test', subject: 'order-1', data: { a: 1 }, traceparent });

  it('keys a fact by subject and copies traceparent into a header, as the outbox publishes it', () => {
    const message = kafkaMessageOf(factMessage('order-events', event));
    expect(message.key).toBe('order-1');
    expect(headerValue(message.headers, 'traceparent')).toBe(traceparent);
    expect(decodeCloudEvent(Buffer.from(message.value as string))).toEqual({ ok: true, event });
  });

  it('reports a value that is not an envelope instead of throwing', () => {
    expect(decodeCloudEvent(null)).toEqual({ ok: false, error: 'message has no value' });
    expect(decodeCloudEvent('{')).toMatchObject({ ok: false, error: expect.stringMatching(/not JSON/) });
    expect(decodeCloudEvent('{"specversion":"1.0"}')).toMatchObject({ ok: false, error: expect.stringMatching(/id: Required/) });
  });
});
