// The orchestrator's retention, as main.ts wires it (its config defaults), against the real schema:
// finished sagas with their step logs and dealt-with dead letters go; everything still in use stays.
import { randomUUID } from 'node:crypto';
import pino from 'pino';
import type pg from 'pg';
import { parseEnv } from '@orderflow/config';
import { createPool, createRetentionJob } from '@orderflow/db';
import { createTestDatabase, type TestDatabase } from '@orderflow/testing';
import { loadOrchestratorConfig, orchestratorEnv } from './config';
import { retentionPolicies } from './retention';

const DAY_MS = 86_400_000;
let db: TestDatabase;
let pool: pg.Pool;

beforeAll(async () => {
  db = await createTestDatabase('orchestrator', 'retention_orchestrator');
  pool = createPool(db.url, 3);
});
afterAll(async () => {
  await pool.end();
  await db.drop();
});

const defaults = parseEnv(orchestratorEnv, {});
const runRound = () =>
  createRetentionJob({ pool, jobs: retentionPolicies(defaults), intervalMs: 60_000, logger: pino({ level: 'silent' }), batchSize: 2 }).runOnce();
const ago = (ms: number) => new Date(Date.now() - ms);

/** A saga with two step log lines; finished `finishedAgoMs` ago (COMPLETED or FAILED), or still running. */
async function saga(
  finishedAgoMs: number | null,
  state: 'COMPLETED' | 'FAILED' | 'RUNNING' = finishedAgoMs === null ? 'RUNNING' : 'COMPLETED',
): Promise<string> {
  const orderId = randomUUID();
  await pool.query(
    `INSERT INTO sagas (order_id, customer_id, state, step, data, outcome, created_at, finished_at)
     VALUES ($1, 'alice', $2, 'RESERVE_STOCK', '{}', $3, $4, $5)`,
    [
      orderId,
      state,
      state === 'COMPLETED' ? 'CONFIRMED' : state === 'FAILED' ? 'REJECTED' : null,
      ago(60 * DAY_MS),
      finishedAgoMs === null ? null : ago(finishedAgoMs),
    ],
  );
  await pool.query(`INSERT INTO saga_steps (order_id, step, outcome, attempt) VALUES ($1, 'PLACED', 'STARTED', 0), ($1, 'RESERVE_STOCK', 'DONE', 1)`, [
    orderId,
  ]);
  return orderId;
}

/** A dead letter recorded 90 days ago, replayed `replayedAgoMs` ago or pending; a saga's when `sagaOrderId` is given. */
async function deadLetter(replayedAgoMs: number | null, sagaOrderId?: string): Promise<string> {
  const id = randomUUID();
  await pool.query(
    `INSERT INTO dead_letters (id, source, origin, message_key, payload, error, attempts, first_failed_at, last_failed_at, created_at, replayed_at)
     VALUES ($1, $2, $3, $4, $5, 'boom', 5, $6, $6, $6, $7)`,
    [
      id,
      sagaOrderId ? 'saga' : 'kafka',
      sagaOrderId ? 'saga:RESERVE_STOCK' : 'order-events',
      sagaOrderId ?? null,
      '{}',
      ago(90 * DAY_MS),
      replayedAgoMs === null ? null : ago(replayedAgoMs),
    ],
  );
  return id;
}

const sagaIds = async () => (await pool.query('SELECT order_id FROM sagas')).rows.map((r) => r.order_id as string).sort();
const stepsOf = async (orderId: string) => (await pool.query('SELECT count(*)::int AS n FROM saga_steps WHERE order_id = $1', [orderId])).rows[0].n as number;
const deadLetterIds = async () => (await pool.query('SELECT id FROM dead_letters')).rows.map((r) => r.id as string).sort();

describe('orchestrator retention', () => {
  beforeEach(async () => {
    await pool.query('TRUNCATE sagas, saga_steps, dead_letters, webhook_subscriptions CASCADE');
  });

  it('keeps 24 h of published outbox rows, 30 days of finished sagas and of replayed or discarded dead letters by default', () => {
    expect(retentionPolicies(defaults).map((p) => [p.name, p.olderThanMs])).toEqual([
      ['outbox', DAY_MS],
      ['sagas', 30 * DAY_MS],
      ['dead_letters', 30 * DAY_MS],
      ['dead_letters_discarded', 30 * DAY_MS],
      ['webhook_deliveries', 30 * DAY_MS],
    ]);
  });

  it('deletes sagas finished before the window with their step logs, and keeps recent, unfinished and dead-lettered ones', async () => {
    const old = [await saga(31 * DAY_MS), await saga(45 * DAY_MS, 'FAILED'), await saga(31 * DAY_MS)];
    const recent = await saga(30 * DAY_MS - 60_000); // a minute inside the window
    const running = await saga(null); // created 60 days ago, still running
    const failedPending = await saga(45 * DAY_MS, 'FAILED'); // its dead letter is not dealt with yet
    await deadLetter(null, failedPending);

    expect((await runRound()).sagas).toBe(old.length);

    expect(await sagaIds()).toEqual([recent, running, failedPending].sort());
    for (const orderId of old) expect(await stepsOf(orderId)).toBe(0);
    expect(await stepsOf(recent)).toBe(2);
  });

  it('deletes dead letters replayed before the window and never one nobody has dealt with', async () => {
    const old = [await deadLetter(31 * DAY_MS), await deadLetter(31 * DAY_MS), await deadLetter(40 * DAY_MS)];
    const kept = [await deadLetter(30 * DAY_MS - 60_000), await deadLetter(null), await deadLetter(null, randomUUID())];

    expect((await runRound()).dead_letters).toBe(old.length);

    expect(await deadLetterIds()).toEqual(kept.sort());
  });

  it('deletes dead letters discarded before the window, and lets a saga whose dead letter was discarded go', async () => {
    const discard = (id: string, agoMs: number) =>
      pool.query(`UPDATE dead_letters SET discarded_at = $2, discard_reason = 'known bad' WHERE id = $1`, [id, ago(agoMs)]);
    const old = await deadLetter(null);
    const recent = await deadLetter(null);
    await discard(old, 31 * DAY_MS);
    await discard(recent, 30 * DAY_MS - 60_000);
    const failed = await saga(45 * DAY_MS, 'FAILED');
    await discard(await deadLetter(null, failed), 60_000);

    const round = await runRound();

    expect(round.dead_letters_discarded).toBe(1);
    expect(round.sagas).toBe(1);
    expect(await deadLetterIds()).not.toContain(old);
    expect(await deadLetterIds()).toContain(recent);
    expect(await sagaIds()).not.toContain(failed);
  });

  it('deletes webhook deliveries settled before the window, and keeps pending, failed and recent ones', async () => {
    const subscription = randomUUID();
    await pool.query(
      `INSERT INTO webhook_subscriptions (id, url, events, secret, created_by) VALUES ($1, 'https://partner.example/hook', '{order.confirmed}', 'whsec_x', 'ops')`,
      [subscription],
    );
    const delivery = async (status: string, agoMs: number) => {
      const id = randomUUID();
      await pool.query(
        `INSERT INTO webhook_deliveries (id, subscription_id, event_id, event_type, status, created_at) VALUES ($1, $2, $3, 'order.confirmed', $4, $5)`,
        [id, subscription, randomUUID(), status, ago(agoMs)],
      );
      return id;
    };
    const old = [await delivery('delivered', 31 * DAY_MS), await delivery('skipped', 40 * DAY_MS)];
    const kept = [await delivery('delivered', 30 * DAY_MS - 60_000), await delivery('pending', 40 * DAY_MS), await delivery('failed', 40 * DAY_MS)];

    expect((await runRound()).webhook_deliveries).toBe(old.length);

    const left = (await pool.query('SELECT id FROM webhook_deliveries')).rows.map((r) => r.id as string).sort();
    expect(left).toEqual(kept.sort());
  });

  it('refuses a SAGA_RETENTION_DAYS shorter than IDEMPOTENCY_TTL_HOURS: a resumed request would find its saga gone', () => {
    const secret = 'a-real-secret-of-at-least-32-characters!';
    expect(() => loadOrchestratorConfig({ JWT_SECRET: secret, SAGA_RETENTION_DAYS: '1', IDEMPOTENCY_TTL_HOURS: '48' })).toThrow(
      /SAGA_RETENTION_DAYS: must be at least IDEMPOTENCY_TTL_HOURS/,
    );
    expect(loadOrchestratorConfig({ JWT_SECRET: secret, SAGA_RETENTION_DAYS: '2', IDEMPOTENCY_TTL_HOURS: '48' }).SAGA_RETENTION_DAYS).toBe(2);
  });
});
