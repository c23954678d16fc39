// A DBOS transactional data source over a node-postgres pool: what @dbos-inc/nodepg-datasource does,
// written against the SDK's data source plug-in API (@dbos-inc/dbos-sdk/datasource). That package has no
// release for SDK 5.x on the registry this project uses, and the 4.x data sources there call helpers the
// 5.x SDK no longer exports. The protocol is the SDK's: each transaction commits together with its
// checkpoint row in `dbos.transaction_completion`, so a recovered workflow replays a committed
// transaction's result instead of running it twice.
import { AsyncLocalStorage } from 'node:async_hooks';
import { setTimeout as delay } from 'node:timers/promises';
import { DBOS } from '@dbos-inc/dbos-sdk';
import {
  DBOSError,
  DBOSStepAlreadyRecordedError,
  DBOSWorkflowConflictError,
  assertStillOwnsWorkflow,
  isPGRetriableTransactionError,
  migrateDataSourcePG,
  registerDataSource,
  replayRecordedStep,
  runTransaction,
  type DataSourceTransactionHandler,
} from '@dbos-inc/dbos-sdk/datasource';
import type { Pool, PoolClient } from 'pg';
import { rollbackTransaction } from '@orderflow/db';

const SCHEMA = 'dbos';
const CHECKPOINTS = `"${SCHEMA}".transaction_completion`;

type Recorded = { output: string | null; error: string | null };

export interface PgDataSource {
  readonly name: string;
  /** Runs `fn` as a DBOS transaction (a checkpointed workflow step); `client()` is its connection. */
  transaction<T>(name: string, fn: () => Promise<T>): Promise<T>;
  /** The connection of the transaction running now. */
  client(): PoolClient;
}

// replayRecordedStep decodes with SuperJSON. Our transactions return plain JSON values, whose SuperJSON
// encoding is `{"json": value}` (no meta), so we write that without depending on superjson ourselves.
const encode = (value: unknown) => JSON.stringify({ json: value ?? null });

/** Thrown when no connection could be had: nothing ran, so the transaction may simply be tried again. */
class NoConnection extends Error {}

async function inTransaction<T>(pool: Pool, fn: (client: PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect().catch((error: Error) => {
    throw new NoConnection(error.message, { cause: error });
  });
  let broken: Error | undefined;
  try {
    await client.query('BEGIN');
    const result = await fn(client);
    await client.query('COMMIT');
    return result;
  } catch (error) {
    broken = await rollbackTransaction(client, error);
    throw error;
  } finally {
    client.release(broken); // a client whose rollback failed is discarded, not reused
  }
}

/** Registers a data source named `name` with DBOS (call before DBOS.launch); `pool` stays the caller's to end. */
export function createPgDataSource(name: string, pool: Pool): PgDataSource {
  const context = new AsyncLocalStorage<PoolClient>();

  async function recorded(workflowID: string, stepID: number): Promise<Recorded | undefined> {
    const { rows } = await pool.query<Recorded>(`SELECT output, error FROM ${CHECKPOINTS} WHERE workflow_id = $1 AND function_num = $2`, [workflowID, stepID]);
    return rows[0];
  }

  // A concurrent execution of the same workflow (recovery racing a straggler) committed this step first: its result is the one.
  async function replayConflict<T>(workflowID: string, stepID: number): Promise<T> {
    const row = await recorded(workflowID, stepID);
    if (!row) throw new DBOSError(`step ${stepID} of workflow ${workflowID} conflicted with another execution, but no outcome is recorded`);
    return replayRecordedStep<T>(row);
  }

  const handler: DataSourceTransactionHandler = {
    name,
    async initialize() {
      await inTransaction(pool, (client) => migrateDataSourcePG(async (sql) => (await client.query(sql)).rows, SCHEMA));
    },
    async destroy() {
      // The pool belongs to main, which ends it after DBOS.shutdown.
    },
    async deleteCheckpoints(workflowID, startStep, beforeCommit) {
      await inTransaction(pool, async (client) => {
        await client.query(`DELETE FROM ${CHECKPOINTS} WHERE workflow_id = $1 AND function_num >= $2`, [workflowID, startStep]);
        await beforeCommit?.();
      });
    },
    async invokeTransactionFunction<This, Args extends unknown[], Return>(
      _config: unknown,
      target: This,
      func: (this: This, ...args: Args) => Promise<Return>,
      ...args: Args
    ): Promise<Return> {
      const workflowID = DBOS.workflowID;
      const stepID = DBOS.stepID;
      if (workflowID === undefined || stepID === undefined) {
        return inTransaction(pool, (client) => context.run(client, () => func.call(target, ...args)));
      }
      for (let wait = 1; ; wait = Math.min(wait * 2, 1_000)) {
        const previous = await recorded(workflowID, stepID);
        if (previous) return replayRecordedStep<Return>(previous);
        try {
          return await inTransaction(pool, async (client) => {
            const result = await context.run(client, () => func.call(target, ...args));
            const { rowCount } = await client.query(
              `INSERT INTO ${CHECKPOINTS} (workflow_id, function_num, output) VALUES ($1, $2, $3) ON CONFLICT (workflow_id, function_num) DO NOTHING`,
              [workflowID, stepID, encode(result)],
            );
            if (!rowCount) throw new DBOSStepAlreadyRecordedError(workflowID, stepID);
            // Holding the checkpoint row: an execution that took the workflow over waits on this commit, or we roll back.
            await assertStillOwnsWorkflow(workflowID);
            return result;
          });
        } catch (error) {
          if (error instanceof DBOSStepAlreadyRecordedError) return replayConflict<Return>(workflowID, stepID);
          if (error instanceof DBOSWorkflowConflictError) throw error;
          // A serialization failure rolled everything back, and a pool wait past its timeout (a burst) ran
          // nothing: run it again. Any other error rolled back too, and DBOS records it as the step's
          // outcome in its system database (the workflow ends in ERROR).
          if (!(error instanceof NoConnection) && !isPGRetriableTransactionError(error)) throw error;
          await delay(wait);
        }
      }
    },
  };
  registerDataSource(handler);

  return {
    name,
    transaction: (stepName, fn) => runTransaction(fn, stepName, { dsName: name }),
    client() {
      const client = context.getStore();
      if (!client) throw new Error(`no ${name} transaction is running`);
      return client;
    },
  };
}
