// The closing check of every fault test: whatever was killed, stopped or redelivered on the way, every
// accepted order ended, stock is conserved, and every outcome was recorded and mailed exactly once.
import { parseRfc5322, waitFor, type SmtpSink } from '@orderflow/testing';
import { mails, type apiClient } from './client';
import { queryDb } from './db';
import type { OrderLoad } from './load';
import type { System } from './system';

export interface InvariantInput {
  /** Every order the system accepted (202) during the test. */
  orders: string[];
  /** Initial stock of every sku those orders used; no order outside `orders` may use these skus. */
  products: Map<string, number>;
  adminToken: string;
  /** The sink the notification worker sent to, when it used SMTP (otherwise e-mails are read from system.mailDir). */
  smtp?: SmtpSink;
  /** How long orders, sagas, outboxes and e-mails may take to settle. */
  timeoutMs?: number;
}

type Outcome = 'CONFIRMED' | 'REJECTED' | 'CANCELLED';
const TERMINAL = new Set<string>(['CONFIRMED', 'REJECTED', 'CANCELLED']);
const FACT: Record<Outcome, string> = { CONFIRMED: 'order.confirmed', REJECTED: 'order.rejected', CANCELLED: 'order.cancelled' };
const SUBJECT: Record<Outcome, RegExp> = { CONFIRMED: /is confirmed$/, REJECTED: /could not be accepted$/, CANCELLED: /has been cancelled$/ };
/** Outcome facts an order may have, by its final status (a confirmed order may be cancelled later). */
const ALLOWED_FACTS: Record<Outcome, string[][]> = {
  CONFIRMED: [['order.confirmed']],
  REJECTED: [['order.rejected']],
  CANCELLED: [['order.cancelled'], ['order.cancelled', 'order.confirmed']],
};

/**
 * Asserts the system's invariants over the given orders:
 * 1. every accepted order reaches CONFIRMED, REJECTED or CANCELLED and its saga ends;
 * 2. stock is conserved per sku: initial = available + units of CONFIRMED orders, never negative;
 * 3. every fact and task left the outboxes, and no order has an outcome fact twice;
 * 4. exactly one e-mail per outcome per order, none for an outcome that did not happen;
 * 5. no duplicate order per Idempotency-Key: the order service holds no order of these customers
 *    beyond the accepted ones.
 * Failures list the offending orders or skus, so a broken run says what broke. Returns the orders as
 * they ended, by id, for the test's own assertions on outcomes.
 */
export async function checkInvariants(system: System, api: ReturnType<typeof apiClient>, input: InvariantInput): Promise<Map<string, any>> {
  const { orders: ids, products, adminToken, timeoutMs = 60_000 } = input;
  expect(new Set(ids).size).toBe(ids.length);

  const orders = await allTerminal(api, adminToken, ids, timeoutMs);
  await waitFor(
    async () =>
      (await queryDb(system, 'orchestrator', `SELECT 1 FROM sagas WHERE order_id = ANY($1) AND state NOT IN ('COMPLETED', 'FAILED') LIMIT 1`, [ids])).length ===
      0,
    {
      timeoutMs,
      what: 'every saga to end',
    },
  );

  // 2. Stock, from the inventory database (the cache may lag; the database is the truth).
  const stock = await queryDb(system, 'inventory', 'SELECT sku, on_hand - reserved AS available, reserved FROM products WHERE sku = ANY($1)', [
    [...products.keys()],
  ]);
  const confirmedUnits = new Map<string, number>();
  for (const order of orders.values()) {
    if (order.status !== 'CONFIRMED') continue;
    for (const item of order.items) confirmedUnits.set(item.sku, (confirmedUnits.get(item.sku) ?? 0) + item.quantity);
  }
  const actual = Object.fromEntries(stock.map((s) => [s.sku, { available: s.available, reserved: s.reserved }]));
  const expected = Object.fromEntries(
    [...products].map(([sku, initial]) => [sku, { available: initial - (confirmedUnits.get(sku) ?? 0), reserved: confirmedUnits.get(sku) ?? 0 }]),
  );
  expect(actual).toEqual(expected);
  for (const s of stock) expect(s.available).toBeGreaterThanOrEqual(0);

  // 3. Outboxes drained everywhere; outcome facts once per order.
  for (const service of ['orchestrator', 'inventory'] as const) {
    await waitFor(async () => (await queryDb(system, service, 'SELECT 1 FROM outbox_pending LIMIT 1')).length === 0, {
      timeoutMs,
      what: `the ${service} outbox to drain`,
    });
  }
  const factRows = await queryDb(
    system,
    'orchestrator',
    `SELECT payload->>'subject' AS order_id, array_agg(payload->>'type' ORDER BY payload->>'type') AS types FROM outbox
      WHERE destination = 'kafka' AND payload->>'type' = ANY($2) AND payload->>'subject' = ANY($1) GROUP BY 1`,
    [ids, Object.values(FACT)],
  );
  const factsOf = new Map<string, string[]>(factRows.map((r) => [r.order_id, r.types]));
  const badFacts = ids
    .map((id) => ({ id, status: orders.get(id)!.status as Outcome, facts: factsOf.get(id) ?? [] }))
    .filter(({ status, facts }) => !ALLOWED_FACTS[status].some((allowed) => allowed.join() === facts.join()));
  expect(badFacts).toEqual([]);

  // 4. E-mails: one per outcome fact, matched by order id and subject.
  const wanted = ids.flatMap((id) => (factsOf.get(id) ?? []).map((fact) => `${id} ${outcomeOf(fact)}`));
  const sent = await waitFor(
    () => {
      const counts = mailCounts(input.smtp ? input.smtp.messages : mails(system.mailDir).map((m) => m.text));
      return wanted.every((w) => counts.has(w)) && counts;
    },
    { timeoutMs, what: `${wanted.length} e-mails` },
  );
  const ours = new Set(ids);
  const expectedMail = new Set(wanted);
  const wrongMail = [...sent].filter(([mail, count]) => ours.has(mail.split(' ')[0]!) && (count !== 1 || !expectedMail.has(mail)));
  expect(wrongMail).toEqual([]);

  // 5. Every order of these customers is one the test was told about: no key created a second order.
  const customers = [...new Set([...orders.values()].map((o) => o.customerId))];
  const stored = await queryDb(system, 'order', 'SELECT id FROM orders WHERE customer_id = ANY($1)', [customers]);
  expect(stored.map((r) => r.id).filter((id) => !ours.has(id))).toEqual([]);
  expect(stored).toHaveLength(ids.length);
  return orders;
}

/**
 * The closing check of a fault test in which every order should succeed: every request of the load
 * (or loads) was answered and accepted (at least `atLeast` of them), the invariants hold, and every
 * order ended CONFIRMED.
 */
export async function expectEveryOrderConfirmed(
  system: System,
  api: ReturnType<typeof apiClient>,
  load: OrderLoad | OrderLoad[],
  input: Omit<InvariantInput, 'orders'> & { atLeast?: number },
): Promise<void> {
  const { atLeast = 1, ...rest } = input;
  const loads = [load].flat();
  expect(loads.flatMap((l) => l.refused)).toEqual([]);
  expect(loads.flatMap((l) => l.unanswered)).toEqual([]);
  const ids = loads.flatMap((l) => l.ids());
  expect(ids.length).toBeGreaterThanOrEqual(atLeast);
  const orders = await checkInvariants(system, api, { ...rest, orders: ids });
  expect([...new Set([...orders.values()].map((o) => o.status))]).toEqual(['CONFIRMED']);
}

/** Polls the orders (a few at a time) until every one is terminal; returns them by id. */
async function allTerminal(api: ReturnType<typeof apiClient>, adminToken: string, ids: string[], timeoutMs: number): Promise<Map<string, any>> {
  const done = new Map<string, any>();
  const pending = () => ids.filter((id) => !done.has(id));
  try {
    await waitFor(
      async () => {
        const left = pending();
        for (let i = 0; i < left.length; i += 16) {
          const batch = await Promise.all(left.slice(i, i + 16).map((id) => api.getOrder(adminToken, id)));
          for (const res of batch) if (res.status === 200 && TERMINAL.has(res.body.status)) done.set(res.body.id, res.body);
        }
        return done.size === ids.length;
      },
      { timeoutMs, intervalMs: 250, what: `${ids.length} orders to be terminal` },
    );
  } catch (error) {
    throw new Error(`${(error as Error).message}; ${pending().length} still pending, e.g. ${pending().slice(0, 3).join(', ')}`);
  }
  return done;
}

function outcomeOf(fact: string): Outcome {
  return (Object.keys(FACT) as Outcome[]).find((o) => FACT[o] === fact)!;
}

/** `<order id> <outcome>` → number of e-mails with that subject. */
function mailCounts(raw: string[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const message of raw) {
    const subject = parseRfc5322(message).headers.get('subject')?.replace(/\s+/g, ' ') ?? '';
    const id = /order ([0-9a-f-]{36})/.exec(subject)?.[1];
    const outcome = (Object.keys(SUBJECT) as Outcome[]).find((o) => SUBJECT[o].test(subject));
    if (id && outcome) counts.set(`${id} ${outcome}`, (counts.get(`${id} ${outcome}`) ?? 0) + 1);
  }
  return counts;
}
