// The admin API's saga views and actions: search and paging, a saga's timeline, retry and cancel.
import { randomUUID } from 'node:crypto';
import { uniqueName } from '@orderflow/testing';
import { letter, OPERATOR, startAdminApp, type AdminApp } from './admin-test-app';

let admin: AdminApp;
beforeAll(async () => {
  admin = await startAdminApp('http_admin_sagas');
});
afterAll(() => admin?.stop());

describe('searching sagas', () => {
  it('tells a saga under way (RUNNING) from one waiting out a transient failure (WAITING), and finds ended ones (COMPLETED, FAILED)', async () => {
    const customer = uniqueName('states');
    const [running] = await admin.createSagas(customer, 1);
    const completed = await admin.place(customer);
    await admin.sagaWhen(completed, (s) => s.state === 'COMPLETED');
    admin.unreachable.add(customer);
    const waiting = await admin.place(customer);
    const waitingSaga = await admin.sagaWhen(waiting, (s) => s.state === 'WAITING');
    admin.unreachable.delete(customer);
    admin.refused.add(customer);
    const failed = await admin.place(customer);
    await admin.sagaWhen(failed, (s) => s.state === 'FAILED');
    admin.refused.delete(customer);

    const byCustomer = `customerId=${customer}`;
    expect(await admin.search(`${byCustomer}&state=RUNNING`)).toEqual([running]);
    expect(await admin.search(`${byCustomer}&state=WAITING`)).toEqual([waiting]);
    expect(await admin.search(`${byCustomer}&state=COMPLETED`)).toEqual([completed]);
    expect(await admin.search(`${byCustomer}&state=FAILED`)).toEqual([failed]);
    expect(await admin.search(`${byCustomer}&state=COMPENSATING`)).toEqual([]);
    expect(await admin.search(byCustomer)).toEqual([failed, waiting, completed, running]);
    expect(waitingSaga).toMatchObject({
      currentStep: 'RESERVE_STOCK',
      attempts: 1,
      lastError: 'inventory service unreachable',
      outcome: null,
      finishedAt: null,
    });
  });

  it('narrows by current step, by customer and by creation time (from inclusive, to exclusive)', async () => {
    const customer = uniqueName('narrow');
    const [first, second, third] = await admin.createSagas(customer, 3);
    const [other] = await admin.createSagas(uniqueName('other'), 1);
    // Created a minute apart; the second has moved on to confirming.
    const at = ['2026-11-29T10:00:00.000Z', '2026-11-29T10:01:00.000Z', '2026-11-29T10:02:00.000Z'];
    await admin.pool.query(`UPDATE sagas SET created_at = t.at FROM unnest($1::uuid[], $2::timestamptz[]) AS t(id, at) WHERE order_id = t.id`, [
      [first, second, third],
      at,
    ]);
    await admin.pool.query(`UPDATE sagas SET step = 'CONFIRM_ORDER' WHERE order_id = $1`, [second]);

    expect(await admin.search(`customerId=${customer}&step=CONFIRM_ORDER`)).toEqual([second]);
    expect(await admin.search(`customerId=${customer}&step=RESERVE_STOCK`)).toEqual([third, first]);
    expect(await admin.search(`customerId=${customer}`)).toEqual([third, second, first]);
    expect(await admin.search(`customerId=${customer}`)).not.toContain(other);
    expect(await admin.search(`customerId=${customer}&from=${at[1]}`)).toEqual([third, second]);
    expect(await admin.search(`customerId=${customer}&to=${at[1]}`)).toEqual([first]);
    expect(await admin.search(`customerId=${customer}&from=${at[1]}&to=${at[2]}`)).toEqual([second]);
    expect(await admin.search(`customerId=${customer}&from=2026-11-29T11:00:00%2B01:00&to=2026-11-29T11:01:30%2B01:00`)).toEqual([second, first]);
  });

  it('walks every page once, newest first, with no saga repeated or skipped, also among sagas created in one statement', async () => {
    const customer = uniqueName('pages');
    const together = await admin.createSagas(customer, 5); // one statement: one creation time
    const created = [...together, ...(await admin.createSagas(customer, 1)), ...(await admin.createSagas(customer, 1))];
    const { rows } = await admin.pool.query('SELECT order_id FROM sagas WHERE customer_id = $1 ORDER BY created_at DESC, order_id DESC', [customer]);

    const { ids, pages } = await admin.allPages(`/v1/admin/sagas?customerId=${customer}`, 2);
    expect(ids).toEqual(rows.map((r) => r.order_id));
    expect([...ids].sort()).toEqual([...created].sort());
    expect(pages).toBe(4);
  });

  it.each([
    ['an unknown state', 'state=PAUSED', 'state'],
    ['a date that is not RFC 3339', 'from=yesterday', 'from'],
    ['a limit out of range', 'limit=0', 'limit'],
    ['an unknown parameter', 'colour=red', undefined],
  ])('refuses %s with a 400 problem naming the parameter', async (_, query, parameter) => {
    const res = await admin.get(`/v1/admin/sagas?${query}`);
    expect([res.status, res.contentType, res.body.type]).toEqual([400, 'application/problem+json; charset=utf-8', '/problems/validation-failed']);
    if (parameter) expect(res.body.errors).toContainEqual(expect.objectContaining({ parameter }));
  });

  it('refuses a cursor it did not issue with a 400 problem', async () => {
    for (const cursor of ['bm90LWEtY3Vyc29y', Buffer.from(`2026-01-01T00:00:00Z|${randomUUID()}|x`).toString('base64url')]) {
      const res = await admin.get(`/v1/admin/sagas?cursor=${cursor}`);
      expect([res.status, res.body.type, res.body.detail]).toEqual([400, '/problems/validation-failed', 'cursor is not valid']);
    }
  });
});

describe("a saga's timeline", () => {
  it('shows its steps, its order.placed and outcome facts with the e-mail task, and the dead letters of its order', async () => {
    const orderId = await admin.place(uniqueName('timeline'));
    await admin.sagaWhen(orderId, (s) => s.state === 'COMPLETED');
    const [kafkaLetter] = await admin.record(letter({ key: Buffer.from(orderId) }));
    await admin.record(letter()); // another order's

    const res = await admin.get(`/v1/admin/sagas/${orderId}`);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ orderId, state: 'COMPLETED', outcome: 'CONFIRMED', cancelRequested: false, totalCents: 1_200 });
    expect(res.body.steps.map((s: { step: string; outcome: string }) => `${s.step} ${s.outcome}`)).toEqual([
      'PLACED STARTED',
      'RESERVE_STOCK DONE',
      'CONFIRM_ORDER CONFIRMED',
    ]);
    expect(res.body.messages.map((m: { destination: string; topic: string; type: string }) => `${m.destination} ${m.topic} ${m.type}`)).toEqual([
      'kafka order-events order.placed',
      'kafka order-events order.confirmed',
      'rabbitmq notification.send order-confirmed',
    ]);
    expect(res.body.deadLetters).toEqual([expect.objectContaining({ id: kafkaLetter, source: 'kafka', origin: 'order-events', status: 'pending' })]);
  });

  it("lists a failed saga's own dead letter with its timeline, the step's error on both", async () => {
    const customer = uniqueName('failing');
    admin.refused.add(customer);
    const orderId = await admin.place(customer);
    const saga = await admin.sagaWhen(orderId, (s) => s.state === 'FAILED');
    admin.refused.delete(customer);
    expect(saga.deadLetters).toEqual([
      expect.objectContaining({
        source: 'saga',
        origin: 'saga:RESERVE_STOCK',
        status: 'pending',
        error: 'step RESERVE_STOCK failed after 1 attempt(s): inventory refuses this order',
        attempts: 1,
      }),
    ]);
    expect(saga.steps).toContainEqual({ step: 'RESERVE_STOCK', outcome: 'FAILED', attempt: 1, detail: 'inventory refuses this order', at: expect.any(String) });
    expect(saga).toMatchObject({ lastError: 'inventory refuses this order', outcome: 'REJECTED', nextAttemptAt: null });
  });

  it('shows a failed attempt with its error, the wait until its next attempt, and when each step happened', async () => {
    const customer = uniqueName('waits');
    admin.unreachable.add(customer);
    const placed = Date.now();
    const orderId = await admin.place(customer);
    const saga = await admin.sagaWhen(orderId, (s) => s.state === 'WAITING');
    const seen = Date.now();
    admin.unreachable.delete(customer);

    expect(saga).toMatchObject({ currentStep: 'RESERVE_STOCK', attempts: 1, lastError: 'inventory service unreachable', finishedAt: null });
    expect(saga.steps).toEqual([
      { step: 'PLACED', outcome: 'STARTED', attempt: 0, at: expect.any(String) },
      { step: 'RESERVE_STOCK', outcome: 'RETRY', attempt: 1, detail: 'inventory service unreachable', at: expect.any(String) },
    ]);
    // Each step at the time it happened, in order; the wait ends within one backoff (up to 60 s here) of the attempt that failed.
    const times = saga.steps.map((s: { at: string }) => Date.parse(s.at));
    expect(times).toEqual([...times].sort((a, b) => a - b));
    expect(times[0]).toBeGreaterThanOrEqual(placed - 1);
    expect(times.at(-1)).toBeLessThanOrEqual(seen);
    const until = Date.parse(saga.nextAttemptAt);
    expect(until).toBeGreaterThanOrEqual(times.at(-1));
    expect(until).toBeLessThan(times.at(-1) + 60_000);
  });

  it('answers 404 for an order that has no saga', async () => {
    const res = await admin.get(`/v1/admin/sagas/${randomUUID()}`);
    expect([res.status, res.body.type]).toEqual([404, '/problems/not-found']);
  });
});

describe('running a saga now (retry)', () => {
  it('runs a WAITING saga at once: it waits again while the inventory is down, and completes once it is back', async () => {
    const customer = uniqueName('retry');
    admin.unreachable.add(customer);
    const orderId = await admin.place(customer);
    await admin.sagaWhen(orderId, (s) => s.state === 'WAITING');

    const stillDown = await admin.write(`/v1/admin/sagas/${orderId}/retry`);
    expect(stillDown.status).toBe(202);
    expect(stillDown.body).toMatchObject({ orderId, state: 'RUNNING', attempts: 1 });
    await admin.sagaWhen(orderId, (s) => s.state === 'WAITING' && s.attempts === 2);

    admin.unreachable.delete(customer);
    const key = randomUUID();
    const res = await admin.write(`/v1/admin/sagas/${orderId}/retry`, undefined, key);
    expect(res.status).toBe(202);
    const saga = await admin.sagaWhen(orderId, (s) => s.state === 'COMPLETED');
    expect(saga.outcome).toBe('CONFIRMED');
    expect(saga.steps).toContainEqual(expect.objectContaining({ step: 'RESERVE_STOCK', outcome: 'RETRY_REQUESTED', attempt: 2, detail: `by ${OPERATOR}` }));
    expect(saga.steps.filter((s: { outcome: string }) => s.outcome === 'RETRY_REQUESTED')).toHaveLength(2);
    expect(await admin.auditOf(key)).toEqual([
      {
        actor: OPERATOR,
        action: 'saga.retry',
        target: orderId,
        outcome: 'succeeded',
        status: 202,
        detail: 'runs RESERVE_STOCK now (attempt 3)',
        request: null,
        idempotency_key: key,
      },
    ]);
  });

  it('runs an abandoned saga at once: RUNNING, not waiting, its runner gone before the watchdog expires', async () => {
    const customer = uniqueName('abandoned');
    admin.unreachable.add(customer);
    const orderId = await admin.place(customer);
    await admin.sagaWhen(orderId, (s) => s.state === 'WAITING');
    admin.unreachable.delete(customer);
    // As a runner leaves it when it claims the saga (claimDue) and dies: under way, the watchdog a minute off.
    await admin.pool.query(`UPDATE sagas SET waiting = false, next_attempt_at = now() + interval '1 minute' WHERE order_id = $1`, [orderId]);
    expect(await admin.search(`customerId=${customer}&state=RUNNING`)).toEqual([orderId]);
    const key = randomUUID();

    const res = await admin.write(`/v1/admin/sagas/${orderId}/retry`, undefined, key);
    expect([res.status, res.body.state, res.body.currentStep]).toEqual([202, 'RUNNING', 'RESERVE_STOCK']);
    // No poller runs in this app: only the retry can have run it, well before the watchdog.
    const saga = await admin.sagaWhen(orderId, (s) => s.state === 'COMPLETED');
    expect(saga.outcome).toBe('CONFIRMED');
    expect(saga.steps.map((s: { step: string; outcome: string }) => `${s.step} ${s.outcome}`)).toEqual([
      'PLACED STARTED',
      'RESERVE_STOCK RETRY',
      'RESERVE_STOCK RETRY_REQUESTED',
      'RESERVE_STOCK DONE',
      'CONFIRM_ORDER CONFIRMED',
    ]);
    expect(await admin.auditOf(key)).toEqual([
      expect.objectContaining({ action: 'saga.retry', outcome: 'succeeded', detail: 'runs RESERVE_STOCK now (attempt 2)' }),
    ]);
  });

  it('refuses a saga that has ended (409) and one that does not exist (404), each audited as refused', async () => {
    const orderId = await admin.place(uniqueName('ended'));
    await admin.sagaWhen(orderId, (s) => s.state === 'COMPLETED');
    const [endedKey, unknownKey] = [randomUUID(), randomUUID()];
    const unknown = randomUUID();

    const ended = await admin.write(`/v1/admin/sagas/${orderId}/retry`, undefined, endedKey);
    const missing = await admin.write(`/v1/admin/sagas/${unknown}/retry`, undefined, unknownKey);
    expect([ended.status, ended.body.type]).toEqual([409, '/problems/conflict']);
    expect([missing.status, missing.body.type]).toEqual([404, '/problems/not-found']);
    expect(await admin.auditOf(endedKey)).toEqual([expect.objectContaining({ action: 'saga.retry', target: orderId, outcome: 'refused', status: 409 })]);
    expect(await admin.auditOf(unknownKey)).toEqual([expect.objectContaining({ action: 'saga.retry', target: unknown, outcome: 'refused', status: 404 })]);
    expect((await admin.get(`/v1/admin/sagas/${orderId}`)).body.steps.map((s: { outcome: string }) => s.outcome)).not.toContain('RETRY_REQUESTED');
  });
});

describe('cancelling a saga as an operator', () => {
  it('cancels a waiting saga through its compensations, the reason in its step log and in the audit log', async () => {
    const customer = uniqueName('cancel');
    admin.unreachable.add(customer);
    const orderId = await admin.place(customer);
    await admin.sagaWhen(orderId, (s) => s.state === 'WAITING');
    admin.unreachable.delete(customer);
    const key = randomUUID();

    const res = await admin.write(`/v1/admin/sagas/${orderId}/cancel`, { reason: 'customer phoned: wrong address' }, key);
    expect(res.status).toBe(202);
    expect(res.body).toMatchObject({ orderId, state: 'COMPENSATING' });
    const saga = await admin.sagaWhen(orderId, (s) => s.state === 'COMPLETED');
    expect(saga).toMatchObject({ outcome: 'CANCELLED', cancelRequested: true });
    expect(saga.steps).toContainEqual(
      expect.objectContaining({ step: 'CANCEL', outcome: 'REQUESTED', detail: `by operator ${OPERATOR}: customer phoned: wrong address` }),
    );
    expect(admin.calls).toEqual(expect.arrayContaining([`release ${orderId}`, `CANCELLED ${orderId}`]));
    expect(saga.messages.map((m: { type: string }) => m.type)).toEqual(['order.placed', 'order.cancelled', 'order-cancelled']);
    expect(await admin.auditOf(key)).toEqual([
      expect.objectContaining({
        action: 'saga.cancel',
        target: orderId,
        outcome: 'succeeded',
        status: 202,
        detail: 'cancel requested: customer phoned: wrong address',
        request: { reason: 'customer phoned: wrong address' },
      }),
    ]);
  });

  it('refuses a cancel without a reason (400) and a saga already cancelled (409), each audited as refused', async () => {
    const orderId = await admin.place(uniqueName('cancel-twice'));
    await admin.sagaWhen(orderId, (s) => s.outcome === 'CONFIRMED');
    const [noReason, first, again] = [randomUUID(), randomUUID(), randomUUID()];

    const missing = await admin.write(`/v1/admin/sagas/${orderId}/cancel`, {}, noReason);
    expect([missing.status, missing.body.type]).toEqual([400, '/problems/validation-failed']);
    expect(missing.body.errors).toEqual([expect.objectContaining({ pointer: '#/reason' })]);
    expect((await admin.write(`/v1/admin/sagas/${orderId}/cancel`, { reason: 'duplicate order' }, first)).status).toBe(202);
    await admin.sagaWhen(orderId, (s) => s.outcome === 'CANCELLED');
    const twice = await admin.write(`/v1/admin/sagas/${orderId}/cancel`, { reason: 'duplicate order' }, again);
    expect([twice.status, twice.body.type]).toEqual([409, '/problems/conflict']);

    expect(await admin.auditOf(noReason)).toEqual([expect.objectContaining({ action: 'saga.cancel', outcome: 'refused', status: 400, request: {} })]);
    expect(await admin.auditOf(again)).toEqual([expect.objectContaining({ action: 'saga.cancel', target: orderId, outcome: 'refused', status: 409 })]);
    const { steps } = (await admin.get(`/v1/admin/sagas/${orderId}`)).body;
    expect(steps.filter((s: { step: string }) => s.step === 'CANCEL')).toHaveLength(1);
  });
});
