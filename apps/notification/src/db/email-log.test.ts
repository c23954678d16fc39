// The e-mail log against the real schema: a batch is claimed, sent and committed on one connection in
// one transaction; duplicates are skipped, a failed send gives up its claim, a database failure is an outage.
import { randomUUID } from 'node:crypto';
import type { Pool } from 'pg';
import { createPool, DEFAULT_POOL_TIMEOUTS } from '@orderflow/db';
import { createTestDatabase, freePort, startFreezableProxy, type TestDatabase } from '@orderflow/testing';
import { createEmailLog, EmailLogUnavailableError, type EmailRecord } from './email-log';

let db: TestDatabase;
let pool: Pool;

beforeAll(async () => {
  db = await createTestDatabase('notification', 'email_log');
  pool = createPool(db.url, 3);
});
afterAll(async () => {
  await pool.end();
  await db.drop();
});

const record = (taskId: string = randomUUID()): EmailRecord => ({
  taskId,
  orderId: randomUUID(),
  template: 'order-confirmed',
  recipient: 'a@example.com',
  subject: `Your order ${taskId}`,
});

/** The transaction that wrote each record (its xmin): records claimed together share one. */
const claimTransactions = async (taskIds: string[]) =>
  new Map(
    (
      await pool.query<{ message_id: string; xmin: string }>('SELECT message_id, xmin::text AS xmin FROM emails WHERE message_id = ANY($1)', [taskIds])
    ).rows.map((r) => [r.message_id, r.xmin]),
  );

/** A `send` that records what it was asked to send. */
function recordingSend() {
  const sent: string[] = [];
  return { sent, send: async (r: EmailRecord) => void sent.push(r.taskId) };
}

describe('e-mail log', () => {
  it('sends and records a batch on one connection in one transaction', async () => {
    const records = Array.from({ length: 5 }, () => record());
    const { sent, send } = recordingSend();
    let checkouts = 0;
    const countCheckout = () => void checkouts++;
    pool.on('acquire', countCheckout);
    try {
      expect(await createEmailLog(pool).sendBatch(records, send)).toEqual(['sent', 'sent', 'sent', 'sent', 'sent']);
    } finally {
      pool.off('acquire', countCheckout);
    }
    expect(checkouts).toBe(1);
    expect(sent.sort()).toEqual(records.map((r) => r.taskId).sort());
    const claims = await claimTransactions(records.map((r) => r.taskId));
    expect(claims.size).toBe(5);
    expect(new Set(claims.values()).size).toBe(1);
  });

  it('skips a task recorded before and a task repeated in the batch, without sending either again', async () => {
    const log = createEmailLog(pool);
    const earlier = record();
    await log.sendBatch([earlier], async () => undefined);
    const repeated = record();
    const fresh = record();
    const { sent, send } = recordingSend();

    expect(await log.sendBatch([repeated, earlier, { ...repeated }, fresh], send)).toEqual(['sent', 'duplicate', 'duplicate', 'sent']);
    expect(sent.sort()).toEqual([repeated.taskId, fresh.taskId].sort());
  });

  it('gives up the claim of a record whose send failed, so its retry sends it, and keeps the others', async () => {
    const log = createEmailLog(pool);
    const [ok, failing] = [record(), record()];
    const smtpDown = new Error('smtp unavailable');

    const results = await log.sendBatch([ok, failing], async (r) => {
      if (r === failing) throw smtpDown;
    });
    expect(results).toEqual(['sent', { error: smtpDown }]);
    expect([...(await claimTransactions([ok.taskId, failing.taskId])).keys()]).toEqual([ok.taskId]);

    const { sent, send } = recordingSend();
    expect(await log.sendBatch([failing, ok], send)).toEqual(['sent', 'duplicate']);
    expect(sent).toEqual([failing.taskId]);
  });

  it('makes a concurrent batch claiming the same tasks wait, then find them sent', async () => {
    const log = createEmailLog(pool);
    const [a, b] = [record(), record()];
    const sends: string[] = [];
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    let started!: () => void;
    const sending = new Promise<void>((resolve) => (started = resolve));
    const first = log.sendBatch([a, b], async (r) => {
      sends.push(r.taskId);
      started();
      await held;
    });
    await sending; // both claimed: the second batch's claim waits on their rows
    const second = log.sendBatch([b, a], async (r) => void sends.push(r.taskId));
    release();

    expect(await first).toEqual(['sent', 'sent']);
    expect(await second).toEqual(['duplicate', 'duplicate']);
    expect(sends.sort()).toEqual([a.taskId, b.taskId].sort());
  });

  it('answers an empty batch without a connection', async () => {
    const unreachable = createPool(`postgres://postgres@127.0.0.1:${await freePort()}/none`, 1, { ...DEFAULT_POOL_TIMEOUTS, PG_CONNECT_TIMEOUT_MS: 300 });
    try {
      expect(await createEmailLog(unreachable).sendBatch([], async () => undefined)).toEqual([]);
    } finally {
      await unreachable.end();
    }
  });

  it('rejects the whole batch as an outage, sending nothing, when the database cannot be reached', async () => {
    const unreachable = createPool(`postgres://postgres@127.0.0.1:${await freePort()}/none`, 1, { ...DEFAULT_POOL_TIMEOUTS, PG_CONNECT_TIMEOUT_MS: 300 });
    const { sent, send } = recordingSend();
    try {
      await expect(createEmailLog(unreachable).sendBatch([record(), record()], send)).rejects.toBeInstanceOf(EmailLogUnavailableError);
    } finally {
      await unreachable.end();
    }
    expect(sent).toEqual([]);
  });

  it('rejects the whole batch as an outage, recording nothing, when the database stops answering before the commit', async () => {
    const target = new URL(db.url);
    const proxy = await startFreezableProxy({ host: target.hostname, port: Number(target.port || 5432) });
    const viaProxy = new URL(db.url);
    viaProxy.hostname = '127.0.0.1';
    viaProxy.port = String(proxy.port);
    const proxied = createPool(viaProxy.toString(), 1, { ...DEFAULT_POOL_TIMEOUTS, PG_CONNECT_TIMEOUT_MS: 300, PG_QUERY_TIMEOUT_MS: 500 });
    const records = [record(), record()];
    try {
      // The claims are in; the database goes silent while the e-mails go out, so the commit never answers.
      const batch = createEmailLog(proxied).sendBatch(records, async () => proxy.freeze());
      await expect(batch).rejects.toBeInstanceOf(EmailLogUnavailableError);
    } finally {
      // Closed without a thaw: the COMMIT it holds must never reach the server.
      await proxy.close();
      await proxied.end();
    }
    expect((await claimTransactions(records.map((r) => r.taskId))).size).toBe(0);
  });
});
