/** One thing wrong with a deployment file: where (file, and object when there is one) and what. */
export interface Problem {
  where: string;
  message: string;
}

/** Collects problems for one place, so checks read as a list of `expect`-like lines. */
export class Problems {
  readonly list: Problem[] = [];

  add(where: string, message: string): void {
    this.list.push({ where, message });
  }

  /** Adds `message` unless `ok`; returns `ok` so callers can skip checks that depend on it. */
  check(ok: boolean, where: string, message: string): boolean {
    if (!ok) this.add(where, message);
    return ok;
  }
}

/** One line per problem, for test failures and the CLI. */
export function formatProblems(problems: Problem[]): string {
  return problems.map((p) => `${p.where}: ${p.message}`).join('\n');
}

/** Runs `fn`, turning a thrown error into a problem (a file that cannot be read or rendered). */
export function attempt<T>(problems: Problems, where: string, fn: () => T): T | undefined {
  try {
    return fn();
  } catch (error) {
    problems.add(where, error instanceof Error ? error.message : String(error));
    return undefined;
  }
}
