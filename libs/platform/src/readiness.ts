/** One dependency that `/readyz` and start-up check: resolves when it answers, rejects with why not. */
export interface DependencyCheck {
  /** Short name shown to operators: `postgres`, `kafka`, `rabbitmq`, `redis`, `grpc:order`… */
  name: string;
  check(): Promise<void>;
  /** Ends the connection a long-lived check holds (called when the app stops). */
  close?(): void | Promise<void>;
}

export interface DependencyStatus {
  name: string;
  ok: boolean;
  error?: string;
}

/** Rejects after `ms` with a message naming what timed out. */
export function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not answer within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** Runs every check in parallel, each bounded by `timeoutMs`. */
export async function checkDependencies(checks: DependencyCheck[], timeoutMs = 2_000): Promise<DependencyStatus[]> {
  return Promise.all(
    checks.map(async ({ name, check }) => {
      try {
        await withTimeout(check(), timeoutMs, name);
        return { name, ok: true };
      } catch (error) {
        return { name, ok: false, error: error instanceof Error ? error.message : String(error) };
      }
    }),
  );
}
