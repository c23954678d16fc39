import { lineChart, perSecond, percentiles } from './report';

describe('bench report maths', () => {
  it('takes nearest-rank percentiles', () => {
    const values = Array.from({ length: 100 }, (_, i) => i + 1);
    expect(percentiles(values)).toEqual({ p50: 50, p95: 95, p99: 99 });
    expect(percentiles([])).toEqual({ p50: 0, p95: 0, p99: 0 });
  });

  it('buckets events per second from the start', () => {
    expect(perSecond([1_000, 1_500, 2_100, 4_000], 1_000)).toEqual([2, 1, 0, 1]);
  });

  it('draws one labelled line per series', () => {
    const svg = lineChart('t', [{ name: 'orders/s', unit: '/s', values: [1, 2, 3], color: 'red' }]);
    expect(svg).toMatch(/^<svg/);
    expect(svg).toContain('orders/s (max 3 /s)');
    expect(svg.match(/<polyline/g)).toHaveLength(1);
  });
});
