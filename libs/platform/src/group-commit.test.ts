import { AsyncLocalStorage } from 'node:async_hooks';
import { createGroupCommit } from './group-commit';

/** A run whose batches stay open until released, recording what each batch held. */
function gatedRun() {
  const batches: number[][] = [];
  const gates: (() => void)[] = [];
  const run = async (inputs: number[]) => {
    batches.push(inputs);
    await new Promise<void>((resolve) => gates.push(resolve));
    return inputs.map((n) => (n < 0 ? new Error(`negative ${n}`) : n * 10));
  };
  return { batches, run, releaseNext: () => gates.shift()?.(), pending: () => gates.length };
}

const turn = () => new Promise((resolve) => setImmediate(resolve));

describe('group commit', () => {
  it('runs the items added in one turn of the event loop as one batch', async () => {
    const gated = gatedRun();
    const group = createGroupCommit({ run: gated.run, maxBatch: 10 });
    const answers = Promise.all([1, 2, 3].map((n) => group.add(n)));
    await turn();
    gated.releaseNext();
    await expect(answers).resolves.toEqual([10, 20, 30]);
    expect(gated.batches).toEqual([[1, 2, 3]]);
  });

  it('gathers items arriving while a batch is under way into the next batch', async () => {
    const gated = gatedRun();
    const group = createGroupCommit({ run: gated.run, maxBatch: 10 });
    const first = group.add(1);
    await turn();
    const later = [2, 3, 4].map((n) => group.add(n));
    await turn();
    expect(gated.batches).toEqual([[1]]); // still one batch under way: the others wait for it
    gated.releaseNext();
    await expect(first).resolves.toBe(10);
    await turn();
    gated.releaseNext();
    await expect(Promise.all(later)).resolves.toEqual([20, 30, 40]);
    expect(gated.batches).toEqual([[1], [2, 3, 4]]);
  });

  it('splits a queue longer than maxBatch and runs up to maxConcurrent batches at once', async () => {
    const gated = gatedRun();
    const group = createGroupCommit({ run: gated.run, maxBatch: 2, maxConcurrent: 2 });
    const answers = Promise.all([1, 2, 3, 4, 5].map((n) => group.add(n)));
    await turn();
    expect(gated.batches).toEqual([
      [1, 2],
      [3, 4],
    ]);
    gated.releaseNext();
    gated.releaseNext();
    while (gated.pending() === 0) await turn();
    gated.releaseNext();
    await expect(answers).resolves.toEqual([10, 20, 30, 40, 50]);
    expect(gated.batches).toEqual([[1, 2], [3, 4], [5]]);
  });

  it('rejects only the caller whose slot holds an error', async () => {
    const group = createGroupCommit({ run: async (inputs: number[]) => inputs.map((n) => (n < 0 ? new Error(`negative ${n}`) : n)), maxBatch: 10 });
    const results = await Promise.allSettled([group.add(1), group.add(-2), group.add(3)]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect((results[1] as PromiseRejectedResult).reason.message).toBe('negative -2');
  });

  it('rejects every caller of a batch whose run throws, and runs the next batch', async () => {
    let calls = 0;
    const group = createGroupCommit({
      run: async (inputs: number[]) => {
        if (calls++ === 0) throw new Error('database down');
        return inputs;
      },
      maxBatch: 10,
    });
    const failed = await Promise.allSettled([group.add(1), group.add(2)]);
    expect(failed.map((r) => r.status)).toEqual(['rejected', 'rejected']);
    await expect(group.add(3)).resolves.toBe(3);
  });

  it('rejects every caller when the run answers the wrong number of results', async () => {
    const group = createGroupCommit({ run: async () => [1], maxBatch: 10 });
    await expect(Promise.all([group.add(1), group.add(2)])).rejects.toThrow('1 results for 2 inputs');
  });

  it("runs a batch in its creator's async context, not in the first caller's", async () => {
    const store = new AsyncLocalStorage<string>();
    const seen: (string | undefined)[] = [];
    const group = store.run('creator', () => createGroupCommit({ run: async (inputs: number[]) => (seen.push(store.getStore()), inputs), maxBatch: 10 }));
    await store.run('first caller', () => group.add(1));
    expect(seen).toEqual(['creator']);
  });

  it('drain waits for the batches under way', async () => {
    const gated = gatedRun();
    const group = createGroupCommit({ run: gated.run, maxBatch: 10 });
    let settled = false;
    void group.add(1).then(() => (settled = true));
    await turn();
    const drained = group.drain();
    gated.releaseNext();
    await drained;
    expect(settled).toBe(true);
  });
});
