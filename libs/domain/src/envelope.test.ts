import { cloudEventSchema, cloudEventSchemaOf, createEvent } from './envelope';
import { z } from 'zod';

describe('createEvent', () => {
  it('builds a CloudEvents 1.0 envelope that validates', () => {
    const event = createEvent({ type: 'order.placed', source: '/orderflow/orchestrator', subject: 'o-1', data: { total: 5 } });
    expect(event).toMatchObject({ specversion: '1.0', type: 'order.placed', subject: 'o-1', datacontenttype: 'application/json', data: { total: 5 } });
    expect(event.id).toMatch(/^[0-9a-f-]{36}$/);
    expect(cloudEventSchema.parse(event)).toEqual(event);
  });

  it('keeps a given id, time and traceparent', () => {
    const traceparent = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
    const event = createEvent({
      type: 'stock.adjusted',
      source: 's',
      subject: 'sku',
      data: {},
      id: '6f1c1f0e-7a4b-4d2e-9a51-0c8f7e1e2a3b',
      time: new Date(0),
      traceparent,
    });
    expect(event).toMatchObject({ id: '6f1c1f0e-7a4b-4d2e-9a51-0c8f7e1e2a3b', time: '1970-01-01T00:00:00.000Z', traceparent });
  });
});

describe('cloudEventSchema', () => {
  const valid = createEvent({ type: 'order.confirmed', source: 's', subject: 'o', data: { n: 1 } });

  it('rejects an unknown type, a missing data and a bad time', () => {
    expect(cloudEventSchema.safeParse({ ...valid, type: 'order.shipped' }).success).toBe(false);
    expect(cloudEventSchema.safeParse({ ...valid, data: undefined }).success).toBe(false);
    expect(cloudEventSchema.safeParse({ ...valid, time: 'yesterday' }).success).toBe(false);
  });

  it('checks data against a given schema', () => {
    const schema = cloudEventSchemaOf(z.object({ n: z.number() }));
    expect(schema.safeParse(valid).success).toBe(true);
    expect(schema.safeParse({ ...valid, data: { n: 'one' } }).success).toBe(false);
  });
});
