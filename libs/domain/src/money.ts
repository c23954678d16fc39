/** Money is integer cents everywhere; these keep it that way. */
export type Cents = number;

/** Sums cents, refusing anything that is not a safe non-negative integer. */
export function addCents(...amounts: Cents[]): Cents {
  let total = 0;
  for (const amount of amounts) {
    if (!Number.isSafeInteger(amount) || amount < 0) throw new RangeError(`not a cents amount: ${amount}`);
    total += amount;
  }
  if (!Number.isSafeInteger(total)) throw new RangeError('total exceeds the safe integer range');
  return total;
}

/** `1234` → `"12.34"`, for people (e-mails), never for arithmetic. */
export function formatCents(cents: Cents): string {
  return `${Math.floor(cents / 100)}.${String(cents % 100).padStart(2, '0')}`;
}
