import { flatAfterWarmup, type Series } from './soak-report';

const series = (unit: Series['unit'], values: number[]): Series => ({ name: 'x', unit, points: values.map((v, i) => ({ t: i * 10_000, v })) });

describe('flatAfterWarmup', () => {
  it('passes a table that grows during the warm-up and then saw-tooths around a level', () => {
    const result = flatAfterWarmup(series('rows', [0, 900, 1_800, 2_400, 2_100, 2_450, 2_150, 2_420, 2_180, 2_460]), 30_000);
    expect(result).toEqual({ atWarmupEnd: 2_400, maxAfter: 2_460, last: 2_460, flat: true });
  });

  it('fails a table that keeps growing after the warm-up', () => {
    expect(flatAfterWarmup(series('rows', [0, 900, 1_800, 2_700, 3_600, 4_500, 5_400, 6_300, 7_200, 8_100]), 30_000).flat).toBe(false);
  });

  it('fails an RSS that climbs steadily, and passes one that only wobbles', () => {
    expect(flatAfterWarmup(series('MiB', [90, 120, 140, 150, 160, 170, 180, 190, 200, 210]), 30_000).flat).toBe(false);
    expect(flatAfterWarmup(series('MiB', [90, 120, 140, 150, 148, 153, 149, 155, 151, 154]), 30_000).flat).toBe(true);
  });

  it('cannot call a run flat when too few samples follow the warm-up', () => {
    expect(flatAfterWarmup(series('rows', [0, 10, 10, 10]), 20_000).flat).toBe(false);
  });
});
