import { canTransition, isTerminal, orderTotal, ORDER_STATUSES } from './order';
import { formatCents } from './money';

describe('order status machine', () => {
  it('allows exactly the transitions of the design', () => {
    const allowed = ORDER_STATUSES.flatMap((from) => ORDER_STATUSES.filter((to) => canTransition(from, to)).map((to) => `${from}->${to}`));
    expect(allowed.sort()).toEqual(['CONFIRMED->CANCELLED', 'PENDING->CANCELLED', 'PENDING->CONFIRMED', 'PENDING->REJECTED']);
  });

  it('treats rejected and cancelled orders as terminal', () => {
    expect(ORDER_STATUSES.filter(isTerminal)).toEqual(['REJECTED', 'CANCELLED']);
  });
});

describe('money', () => {
  it('totals lines in integer cents', () => {
    expect(
      orderTotal([
        { sku: 'A', quantity: 3, unitPriceCents: 1999 },
        { sku: 'B', quantity: 1, unitPriceCents: 1 },
      ]),
    ).toBe(5998);
  });

  it('refuses fractional or negative cents', () => {
    expect(() => orderTotal([{ sku: 'A', quantity: 1, unitPriceCents: 1.5 }])).toThrow(RangeError);
    expect(() => orderTotal([{ sku: 'A', quantity: 1, unitPriceCents: -1 }])).toThrow(RangeError);
  });

  it('formats cents for people', () => {
    expect(formatCents(5998)).toBe('59.98');
    expect(formatCents(7)).toBe('0.07');
  });
});
