/**
 * Capped exponential backoff, the one formula every retry loop here uses: `baseMs · 2^(attempt − 1)`,
 * at most `capMs`. With full jitter (the default) the wait is drawn uniformly below that, so clients
 * failing together do not retry together; without it (`jitter: false`) it is that exact value, for a
 * single loop reconnecting to its own dependency.
 */
export function backoffMs(attempt: number, options: { baseMs: number; capMs: number; jitter?: boolean; random?: () => number }): number {
  const { baseMs, capMs, jitter = true, random = Math.random } = options;
  // The exponent is bounded so a long outage cannot overflow into Infinity before the cap applies.
  const ceiling = Math.min(capMs, baseMs * 2 ** Math.min(30, Math.max(0, attempt - 1)));
  return jitter ? Math.floor(random() * ceiling) : ceiling;
}
