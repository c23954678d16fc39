// The webhook repository on the real Postgres: the dispatcher's write is one delivery (and one task)
// per fact per subscription however often the fact arrives, only for enabled subscriptions to its
// type; a 410 disables the subscription; a delivered delivery stays delivered.
import { randomUUID } from 'node:crypto';
import type pg from 'pg';
import { createPool } from '@orderflow/db';
import { createEvent, type CloudEvent, type FactType } from '@orderflow/domain';
import { notifyingOutboxWriter } from '@orderflow/messaging';
import { createTestDatabase, type TestDatabase } from '@orderflow/testing';
import { createWebhookRepository, type WebhookRepository } from './webhook-repository';

let db: TestDatabase;
let pool: pg.Pool;
let repo: WebhookRepository;

beforeAll(async () => {
  db = await createTestDatabase('orchestrator', 'webhook_repo');
  pool = createPool(db.url, 4);
  // The subscribed types read again for every fact: these tests subscribe without the routes' notice.
  repo = createWebhookRepository(pool, notifyingOutboxWriter, { subscribedTypesTtlMs: 0 });
});

afterAll(async () => {
  await pool.end();
  await db.drop();
});

const subscribe = (events: string[]) => repo.create(pool, { url: 'https://partner.example/hook', events, secret: 'whsec_c2VjcmV0', createdBy: 'ops' });
const fact = (type: FactType): CloudEvent => createEvent({ type, source: '/test', subject: randomUUID(), data: { n: 1 } });
const tasksOf = async (eventId: string) =>
  (await pool.query(`SELECT payload FROM outbox WHERE destination = 'rabbitmq' AND topic = 'webhook.deliver' AND payload->'event'->>'id' = $1`, [eventId]))
    .rows;

describe('webhook dispatcher write', () => {
  it('costs no query for a fact nobody subscribed to, and sees a new subscription at once once told, or after the TTL', async () => {
    const cached = createWebhookRepository(pool, notifyingOutboxWriter, { subscribedTypesTtlMs: 60_000 });
    const queries: string[] = [];
    const query = pool.query.bind(pool);
    const spy = jest.spyOn(pool, 'query').mockImplementation(((text: unknown, ...rest: unknown[]) => {
      queries.push(typeof text === 'string' ? text : String((text as { text?: string }).text));
      return (query as (...args: unknown[]) => unknown)(text, ...rest);
    }) as typeof pool.query);
    try {
      expect(await cached.enqueueFact(fact('stock.adjusted'))).toEqual([]);
      const reads = queries.length;
      for (let i = 0; i < 5; i++) expect(await cached.enqueueFact(fact('stock.adjusted'))).toEqual([]);
      expect(queries).toHaveLength(reads); // nothing read for facts of a type no one wants

      const s = await subscribe(['stock.adjusted']);
      expect(await cached.enqueueFact(fact('stock.adjusted'))).toEqual([]); // not told yet: the cached types stand
      cached.subscriptionsChanged();
      expect((await cached.enqueueFact(fact('stock.adjusted'))).map((t) => t.subscriptionId)).toEqual([s.id]);
    } finally {
      spy.mockRestore();
    }
  });

  it('creates one delivery and one task per matching subscription, and nothing more when the fact is redelivered', async () => {
    const [a, b, other] = [await subscribe(['order.confirmed']), await subscribe(['order.confirmed', 'order.placed']), await subscribe(['stock.reserved'])];
    const event = fact('order.confirmed');
    const first = await repo.enqueueFact(event);
    expect(first.map((t) => t.subscriptionId).sort()).toEqual([a.id, b.id].sort());
    // Kafka redelivers the fact three times, two of them at once.
    await Promise.all([repo.enqueueFact(event), repo.enqueueFact(event)]);
    expect(await repo.enqueueFact(event)).toEqual([]);
    expect(await tasksOf(event.id)).toHaveLength(2);
    expect((await repo.deliveries(a.id, 10)).filter((d) => d.eventId === event.id)).toHaveLength(1);
    expect(await repo.deliveries(other.id, 10)).toEqual([]);
  });

  it('skips disabled subscriptions', async () => {
    const s = await subscribe(['order.rejected']);
    await repo.update(pool, s.id, { enabled: false });
    expect(await repo.enqueueFact(fact('order.rejected'))).toEqual([]);
  });

  it('disables the subscription on 410 and never turns a delivered delivery back', async () => {
    const s = await subscribe(['order.cancelled']);
    const [gone] = await repo.enqueueFact(fact('order.cancelled'));
    const [delivered] = await repo.enqueueFact(fact('order.cancelled'));
    await repo.record(delivered!.deliveryId, { kind: 'delivered', statusCode: 204 });
    await repo.record(delivered!.deliveryId, { kind: 'failed', statusCode: 500, error: 'late duplicate', final: false });
    await repo.record(gone!.deliveryId, { kind: 'gone' });
    expect(await repo.get(s.id)).toMatchObject({ enabled: false, disabledReason: 'gone' });
    const byId = new Map((await repo.deliveries(s.id, 10)).map((d) => [d.id, d]));
    expect(byId.get(delivered!.deliveryId)).toMatchObject({ status: 'delivered', attempts: 1, lastStatusCode: 204, lastError: null });
    expect(byId.get(gone!.deliveryId)).toMatchObject({ status: 'skipped', attempts: 1, lastStatusCode: 410 });
    // Re-enabling clears the reason.
    expect(await repo.update(pool, s.id, { enabled: true })).toMatchObject({ enabled: true, disabledReason: null });
  });
});
