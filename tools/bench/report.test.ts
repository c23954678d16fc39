import { frameGroup, summarizeProfile } from './profile';
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

describe('CPU profile summary', () => {
  const frame = (functionName: string, url: string) => ({ functionName, url });

  it('groups frames by package, Node module, our bundle and native work', () => {
    expect(frameGroup(frame('submit', '/srv/node_modules/pg/lib/query.js'))).toBe('pkg:pg');
    expect(frameGroup(frame('x', 'file:///srv/node_modules/@grpc/grpc-js/build/src/client.js'))).toBe('pkg:@grpc/grpc-js');
    expect(frameGroup(frame('emit', 'node:events'))).toBe('node:events');
    expect(frameGroup(frame('writevGeneric', 'node:internal/stream_base_commons'))).toBe('node:stream_base_commons');
    expect(frameGroup(frame('apply', '/srv/dist/orchestrator/main.js'))).toBe('app');
    expect(frameGroup(frame('writev', ''))).toBe('writev');
  });

  it('adds up self time per group as a share of all samples, biggest first', () => {
    const profile = {
      nodes: [
        { id: 1, callFrame: frame('(root)', '') },
        { id: 2, callFrame: frame('writev', '') },
        { id: 3, callFrame: frame('query', '/srv/node_modules/pg/lib/client.js') },
        { id: 4, callFrame: frame('submit', '/srv/node_modules/pg/lib/query.js') },
      ],
      samples: [2, 2, 3, 4, 2],
      timeDeltas: [1_000, 1_000, 1_000, 1_000, 1_000],
    };
    expect(summarizeProfile(profile)).toEqual({
      sampledMs: 5,
      top: [
        { group: 'writev', percent: 60 },
        { group: 'pkg:pg', percent: 40 },
        { group: '(root)', percent: 0 },
      ],
    });
  });
});
