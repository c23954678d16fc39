import { AsyncLocalStorage } from 'node:async_hooks';

/**
 * Group commit in the application: callers add one item each and get its own result, while the work
 * runs for many items at once (one statement, one transaction, one batched call). Batching is
 * natural, not timed: the first item after a quiet spell waits only for the current turn of the event
 * loop (what else arrived in it joins), and items arriving while `maxConcurrent` batches are under
 * way form the next batch as soon as one ends. So a lone request pays no added latency, and under
 * load batches grow with the load (up to `maxBatch`).
 */
export interface GroupCommitOptions<In, Out> {
  /**
   * Runs one batch and answers one result per input, in input order; an `Error` in a slot rejects
   * that input's caller only. A thrown error rejects every caller of the batch.
   */
  run(inputs: In[]): Promise<(Out | Error)[]>;
  maxBatch: number;
  /** Batches under way at once (default 1). */
  maxConcurrent?: number;
}

export interface GroupCommit<In, Out> {
  add(input: In): Promise<Out>;
  /** Resolves once every batch taken so far has ended (for a clean stop). */
  drain(): Promise<void>;
}

interface Waiting<In, Out> {
  input: In;
  resolve(value: Out): void;
  reject(error: unknown): void;
}

export function createGroupCommit<In, Out>(options: GroupCommitOptions<In, Out>): GroupCommit<In, Out> {
  const { run, maxBatch, maxConcurrent = 1 } = options;
  if (!Number.isInteger(maxBatch) || maxBatch < 1) throw new Error(`group commit: maxBatch must be a positive integer, got ${maxBatch}`);
  let queue: Waiting<In, Out>[] = [];
  let underWay = 0;
  let scheduled = false;
  const batches = new Set<Promise<void>>();
  // A batch serves many callers: it runs in the context (trace, log fields) of whoever made the group
  // commit, not in that of the caller who happened to come first.
  const inOwnContext = AsyncLocalStorage.snapshot();

  async function runBatch(batch: Waiting<In, Out>[]): Promise<void> {
    try {
      const results = await run(batch.map((w) => w.input));
      if (results.length !== batch.length) throw new Error(`group commit: ${results.length} results for ${batch.length} inputs`);
      batch.forEach((w, i) => (results[i] instanceof Error ? w.reject(results[i]) : w.resolve(results[i] as Out)));
    } catch (error) {
      for (const w of batch) w.reject(error);
    }
  }

  function flush(): void {
    scheduled = false;
    while (queue.length && underWay < maxConcurrent) {
      const batch = queue.length <= maxBatch ? queue : queue.slice(0, maxBatch);
      queue = queue.length <= maxBatch ? [] : queue.slice(maxBatch);
      underWay++;
      const p = runBatch(batch).finally(() => {
        underWay--;
        batches.delete(p);
        flush();
      });
      batches.add(p);
    }
  }

  return {
    add(input) {
      return new Promise<Out>((resolve, reject) => {
        queue.push({ input, resolve, reject });
        if (!scheduled && underWay < maxConcurrent) {
          scheduled = true;
          setImmediate(() => inOwnContext(flush));
        }
      });
    },
    async drain() {
      // A queue with no batch under way is about to be flushed (next turn): wait for that turn.
      while (batches.size || queue.length) await (batches.size ? Promise.allSettled([...batches]) : new Promise((resolve) => setImmediate(resolve)));
    },
  };
}
