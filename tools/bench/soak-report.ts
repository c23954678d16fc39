// Judging a soak's samples: does a series stop growing once the warm-up is over? Pure functions.

export interface Series {
  name: string;
  unit: 'rows' | 'MiB';
  /** Milliseconds since the soak began, and the value then. */
  points: { t: number; v: number }[];
}

/** Growth a flat series may still show between the two halves after warm-up: purge rounds and GC make both saw-toothed. */
const SLACK = { rows: { ratio: 1.15, absolute: 50 }, MiB: { ratio: 1.1, absolute: 8 } };

/**
 * Flat after the warm-up: the highest value in the second half of what follows the warm-up is no
 * higher (beyond a little slack) than the highest in the first half. A table whose purge keeps up, or
 * a heap that stopped growing, passes; one that climbs for the whole run does not.
 */
export function flatAfterWarmup(series: Series, warmupMs: number): { atWarmupEnd: number; maxAfter: number; last: number; flat: boolean } {
  const after = series.points.filter((p) => p.t >= warmupMs);
  const atWarmupEnd = after[0]?.v ?? series.points.at(-1)?.v ?? 0;
  const last = series.points.at(-1)?.v ?? 0;
  if (after.length < 4) return { atWarmupEnd, maxAfter: Math.max(atWarmupEnd, last), last, flat: false }; // too short to tell
  const middle = Math.floor(after.length / 2);
  const firstMax = Math.max(...after.slice(0, middle).map((p) => p.v));
  const secondMax = Math.max(...after.slice(middle).map((p) => p.v));
  const { ratio, absolute } = SLACK[series.unit];
  return { atWarmupEnd, maxAfter: Math.max(firstMax, secondMax), last, flat: secondMax <= Math.max(firstMax * ratio, firstMax + absolute) };
}
