import { backoffMs } from './backoff';

describe('backoffMs', () => {
  it('doubles from the base per attempt up to the cap, without jitter', () => {
    expect([1, 2, 3, 4, 5, 6].map((attempt) => backoffMs(attempt, { baseMs: 100, capMs: 1_000, jitter: false }))).toEqual([100, 200, 400, 800, 1_000, 1_000]);
  });

  it('draws a whole number of milliseconds below the ceiling with full jitter', () => {
    expect(backoffMs(3, { baseMs: 100, capMs: 10_000, random: () => 0.5 })).toBe(200);
    expect(backoffMs(3, { baseMs: 100, capMs: 10_000, random: () => 0.999_999 })).toBe(399);
    expect(backoffMs(3, { baseMs: 100, capMs: 10_000, random: () => 0 })).toBe(0);
  });

  it('stays at the cap for attempts far beyond it instead of overflowing', () => {
    expect(backoffMs(10_000, { baseMs: 250, capMs: 10_000, jitter: false })).toBe(10_000);
    expect(backoffMs(0, { baseMs: 250, capMs: 10_000, jitter: false })).toBe(250);
  });
});
