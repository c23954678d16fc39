import { setTimeout as delay } from 'node:timers/promises';

export interface WaitOptions {
  timeoutMs?: number;
  intervalMs?: number;
  /** What was awaited, for the timeout message. */
  what?: string;
  /** Gives up at once when aborted, with the abort reason (e.g. the process being waited for exited). */
  signal?: AbortSignal;
}

/**
 * Polls `probe` until it returns a value other than undefined/false (or stops throwing), with a deadline.
 * Tests use this instead of sleeping a fixed time.
 */
export async function waitFor<T>(probe: () => Promise<T | undefined | false> | T | undefined | false, options: WaitOptions = {}): Promise<T> {
  const { timeoutMs = 10_000, intervalMs = 50, what = 'condition', signal } = options;
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    signal?.throwIfAborted();
    try {
      const value = await probe();
      if (value !== undefined && value !== false) return value as T;
      lastError = undefined;
    } catch (error) {
      lastError = error;
    }
    if (Date.now() >= deadline) {
      const reason = lastError instanceof Error ? `: last error: ${lastError.message}` : '';
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${reason}`);
    }
    await delay(intervalMs, undefined, signal ? { signal } : {}).catch(() => signal?.throwIfAborted());
  }
}

/** How long `promise` takes to fail, and its error (a result instead of a failure becomes the error). */
export async function failureOf(promise: Promise<unknown>): Promise<{ error: Error & { code?: string }; ms: number }> {
  const started = Date.now();
  const error = await promise.then(
    () => new Error('expected a failure, got a result'),
    (e: Error) => e,
  );
  return { error, ms: Date.now() - started };
}
