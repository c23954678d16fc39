// What guards the admin API and its writes: who may call it, the Idempotency-Key, the audit log.
import { randomUUID } from 'node:crypto';
import { uniqueName } from '@orderflow/testing';
import { letter, startAdminApp, token, type AdminApp } from './admin-test-app';

let admin: AdminApp;
beforeAll(async () => {
  admin = await startAdminApp('http_admin_writes');
});
afterAll(() => admin?.stop());

describe('who may use the admin API', () => {
  const orderId = randomUUID();
  // Every row has a body slot: jest hands a shorter row's test a `done` callback in its place.
  const endpoints: [string, string, unknown][] = [
    ['GET', '/v1/admin/sagas', undefined],
    ['GET', `/v1/admin/sagas/${orderId}`, undefined],
    ['POST', `/v1/admin/sagas/${orderId}/retry`, undefined],
    ['POST', `/v1/admin/sagas/${orderId}/cancel`, { reason: 'test' }],
    ['GET', '/v1/admin/dead-letters', undefined],
    ['POST', '/v1/admin/dead-letters/replay', {}],
    ['POST', `/v1/admin/dead-letters/${orderId}/replay`, undefined],
    ['POST', `/v1/admin/dead-letters/${orderId}/discard`, { reason: 'test' }],
    ['PUT', '/v1/admin/products/BEANS-1', { name: 'Beans', priceCents: 1, stock: 1 }],
    ['GET', '/v1/admin/audit', undefined],
    ['GET', '/v1/admin/stats', undefined],
  ];

  it.each(endpoints)('answers %s %s with 401 without a token and 403 to a customer, and audits neither', async (method, path, body) => {
    const customer = uniqueName('customer');
    const key = randomUUID();
    const anonymous = await admin.call(method, path, { as: null, key, body });
    const asCustomer = await admin.call(method, path, { as: token(customer, 'customer'), key, body });
    expect([anonymous.status, anonymous.contentType, anonymous.body.type]).toEqual([401, 'application/problem+json; charset=utf-8', '/problems/unauthorized']);
    expect([asCustomer.status, asCustomer.contentType, asCustomer.body.type]).toEqual([403, 'application/problem+json; charset=utf-8', '/problems/forbidden']);
    expect(await admin.auditOf(key)).toEqual([]);
  });
});

describe('Idempotency-Key on admin writes', () => {
  it.each([
    ['/v1/admin/sagas/{id}/retry', undefined],
    ['/v1/admin/sagas/{id}/cancel', { reason: 'x' }],
    ['/v1/admin/dead-letters/replay', {}],
    ['/v1/admin/dead-letters/{id}/replay', undefined],
    ['/v1/admin/dead-letters/{id}/discard', { reason: 'x' }],
  ])('refuses POST %s without one (400), doing nothing', async (path, body) => {
    const [orderId] = await admin.createSagas(uniqueName('no-key'), 1);
    const res = await admin.call('POST', path.replace('{id}', orderId!), { body });
    expect([res.status, res.body.type]).toEqual([400, '/problems/idempotency-key-missing']);
    expect((await admin.get(`/v1/admin/sagas/${orderId}`)).body.steps).toHaveLength(1);
  });

  it('answers a repeated write with its stored answer byte for byte, without a second publish or audit row', async () => {
    const topic = uniqueName('idempotent');
    const [id] = await admin.record(letter({ origin: topic }));
    const key = randomUUID();

    const first = await admin.write(`/v1/admin/dead-letters/${id}/replay`, undefined, key);
    const again = await admin.write(`/v1/admin/dead-letters/${id}/replay`, undefined, key);
    expect(first.replayed).toBeNull();
    expect(again).toEqual({ ...first, replayed: 'true' });
    expect(admin.kafkaSent.filter((m) => m.topic === topic)).toHaveLength(1);
    expect(await admin.auditOf(key)).toEqual([expect.objectContaining({ action: 'dead-letter.replay', outcome: 'succeeded' })]);
  });

  it('refuses a key used again with another body (422), keeping the first action alone', async () => {
    const [id] = await admin.record(letter({ origin: uniqueName('reused') }));
    const key = randomUUID();
    expect((await admin.write(`/v1/admin/dead-letters/${id}/discard`, { reason: 'first reason' }, key)).status).toBe(200);
    const reused = await admin.write(`/v1/admin/dead-letters/${id}/discard`, { reason: 'another reason' }, key);
    expect([reused.status, reused.body.type]).toEqual([422, '/problems/idempotency-key-reused']);
    expect(await admin.auditOf(key)).toEqual([expect.objectContaining({ outcome: 'succeeded', request: { reason: 'first reason' } })]);
    expect((await admin.deadLetters.list(200, undefined, { status: 'discarded' })).find((d) => d.id === id)?.discardReason).toBe('first reason');
  });
});

describe('the audit log', () => {
  it('pages newest first with a cursor, every action once', async () => {
    const actor = uniqueName('auditor');
    const as = token(actor, 'admin');
    for (let i = 0; i < 3; i++) {
      const [id] = await admin.record(letter({ origin: uniqueName('audited') }));
      expect((await admin.write(`/v1/admin/dead-letters/${id}/discard`, { reason: `reason ${i}` }, randomUUID(), as)).status).toBe(200);
    }
    const seen: { id: string; actor: string; request: { reason: string } }[] = [];
    let cursor: string | null = null;
    do {
      const res = await admin.get(`/v1/admin/audit?limit=2${cursor ? `&cursor=${cursor}` : ''}`);
      expect(res.status).toBe(200);
      seen.push(...res.body.items);
      cursor = res.body.nextCursor;
    } while (cursor);

    const ids = seen.map((r) => Number(r.id));
    expect(ids).toEqual([...ids].sort((a, b) => b - a));
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids.length).toBe(Number((await admin.pool.query('SELECT count(*) FROM admin_audit')).rows[0].count));
    expect(seen.slice(0, 3).map((r) => [r.actor, r.request.reason])).toEqual([
      [actor, 'reason 2'],
      [actor, 'reason 1'],
      [actor, 'reason 0'],
    ]);
    const bad = await admin.get(`/v1/admin/audit?cursor=${Buffer.from('0; DROP TABLE').toString('base64url')}`);
    expect([bad.status, bad.body.type]).toEqual([400, '/problems/validation-failed']);
  });

  it('narrows the audit log to one action, one admin, or both, paging within the filter', async () => {
    const [alice, bob] = [uniqueName('alice'), uniqueName('bob')];
    const discard = async (actor: string) => {
      const [id] = await admin.record(letter({ origin: uniqueName('filtered') }));
      expect((await admin.write(`/v1/admin/dead-letters/${id}/discard`, { reason: actor }, randomUUID(), token(actor, 'admin'))).status).toBe(200);
      return id;
    };
    const [a1, b1, a2] = [await discard(alice), await discard(bob), await discard(alice)];
    const [replayed] = await admin.record(letter({ origin: uniqueName('filtered') }));
    expect((await admin.write(`/v1/admin/dead-letters/${replayed}/replay`, undefined, randomUUID(), token(alice, 'admin'))).status).toBe(202);
    const listed = async (query: string) => {
      const res = await admin.get(`/v1/admin/audit?${query}`);
      expect(res.status).toBe(200);
      return res.body.items.map((r: { action: string; target: string }) => `${r.action} ${r.target}`);
    };

    expect(await listed(`actor=${alice}`)).toEqual([`dead-letter.replay ${replayed}`, `dead-letter.discard ${a2}`, `dead-letter.discard ${a1}`]);
    expect(await listed(`actor=${bob}`)).toEqual([`dead-letter.discard ${b1}`]);
    expect(await listed(`actor=${alice}&action=dead-letter.discard`)).toEqual([`dead-letter.discard ${a2}`, `dead-letter.discard ${a1}`]);
    const discards = await listed('action=dead-letter.discard&limit=200');
    expect(discards.every((r: string) => r.startsWith('dead-letter.discard '))).toBe(true);
    expect(discards).toEqual(expect.arrayContaining([a1, b1, a2].map((id) => `dead-letter.discard ${id}`)));
    expect(await listed(`actor=${alice}&action=saga.cancel`)).toEqual([]);
    const { ids, pages } = await admin.allPages(`/v1/admin/audit?actor=${alice}&action=dead-letter.discard`, 1);
    expect([ids.length, pages]).toEqual([2, 3]);
    const tooLong = await admin.get(`/v1/admin/audit?action=${'x'.repeat(101)}`);
    expect([tooLong.status, tooLong.body.errors]).toEqual([400, [expect.objectContaining({ parameter: 'action' })]]);
  });

  it('records who created and who revoked an API key, on which key, how it ended, and never the secret', async () => {
    const actor = uniqueName('key-admin');
    const as = token(actor, 'admin');
    const [createKey, revokeKey, againKey, unknownKey, invalidKey] = [randomUUID(), randomUUID(), randomUUID(), randomUUID(), randomUUID()];
    const body = { name: 'Acme ERP', scopes: ['orders:read'] };
    const created = await admin.write('/v1/admin/api-keys', body, createKey, as);
    expect(created.status).toBe(201);
    const { id, prefix, key: secret } = created.body;
    const revoke = (key: string, keyId: string = id) => admin.call('DELETE', `/v1/admin/api-keys/${keyId}`, { as, key });
    expect((await revoke(revokeKey)).status).toBe(204);
    expect((await revoke(againKey)).status).toBe(204);
    const unknown = randomUUID();
    expect((await revoke(unknownKey, unknown)).status).toBe(404);
    expect((await admin.write('/v1/admin/api-keys', { name: 'no scopes', scopes: [] }, invalidKey, as)).status).toBe(400);

    const rows = await Promise.all([createKey, revokeKey, againKey, unknownKey, invalidKey].map((key) => admin.auditOf(key)));
    expect(rows).toEqual([
      [
        {
          actor,
          action: 'api-key.create',
          target: id,
          outcome: 'succeeded',
          status: 201,
          detail: `created ${prefix} "Acme ERP" with orders:read`,
          request: body,
          idempotency_key: createKey,
        },
      ],
      [
        {
          actor,
          action: 'api-key.revoke',
          target: id,
          outcome: 'succeeded',
          status: 204,
          detail: `revoked ${prefix}`,
          request: null,
          idempotency_key: revokeKey,
        },
      ],
      [expect.objectContaining({ actor, action: 'api-key.revoke', target: id, outcome: 'succeeded', status: 204, detail: 'already revoked' })],
      [expect.objectContaining({ actor, action: 'api-key.revoke', target: unknown, outcome: 'refused', status: 404, detail: `no API key ${unknown}` })],
      [expect.objectContaining({ actor, action: 'api-key.create', target: null, outcome: 'refused', status: 400 })],
    ]);
    const { rows: withSecret } = await admin.pool.query('SELECT id FROM admin_audit WHERE row_to_json(admin_audit)::text LIKE $1', [
      `%${secret.slice(prefix.length + 1)}%`,
    ]);
    expect(withSecret).toEqual([]);
  });

  it('records an action in its own transaction: when that transaction fails, neither the change nor a succeeded row remains', async () => {
    const [id] = await admin.record(letter({ origin: uniqueName('rolled-back') }));
    const key = `fail-${randomUUID()}`;
    // Storing this key's response fails: the statement after the audit row, in the same transaction.
    await admin.pool.query(`CREATE OR REPLACE FUNCTION fail_key() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'key store failed'; END $$`);
    await admin.pool.query(
      `CREATE TRIGGER fail_key BEFORE UPDATE ON idempotency_keys FOR EACH ROW WHEN (NEW.key = '${key}' AND NEW.state = 'COMPLETED') EXECUTE FUNCTION fail_key()`,
    );
    try {
      const res = await admin.write(`/v1/admin/dead-letters/${id}/discard`, { reason: 'never happens' }, key);
      expect([res.status, res.body.type]).toEqual([500, '/problems/internal']);
    } finally {
      await admin.pool.query('DROP TRIGGER fail_key ON idempotency_keys');
    }
    expect(await admin.auditOf(key)).toEqual([expect.objectContaining({ action: 'dead-letter.discard', target: id, outcome: 'failed', status: 500 })]);
    expect((await admin.deadLetters.list(200, undefined, { status: 'pending' })).map((d) => d.id)).toContain(id);

    // Nothing was done, so the key is free: the same request now does it, once.
    const retried = await admin.write(`/v1/admin/dead-letters/${id}/discard`, { reason: 'never happens' }, key);
    expect([retried.status, retried.body.alreadyDiscarded]).toEqual([200, false]);
    expect((await admin.auditOf(key)).map((r) => r.outcome)).toEqual(['failed', 'succeeded']);
  });
});
