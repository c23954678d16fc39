import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { exportableMetrics, unknownMetrics } from './metric-names';

// The provisioned Grafana dashboard, offline (e2e/observability.test.ts checks its metric names
// against a running system).
const root = join(__dirname, '..', '..');
const dashboard = JSON.parse(readFileSync(join(root, 'deploy/grafana/orderflow-dashboard.json'), 'utf8')) as {
  panels: { id: number; title: string; gridPos: { x: number; y: number; w: number; h: number }; targets?: { expr: string }[] }[];
};
const queries = dashboard.panels.flatMap((p) => (p.targets ?? []).map((t) => ({ panel: p.title, expr: t.expr })));

/** Every replica reports the same value of these (one database, one consumer group): sum would multiply it. */
const GLOBAL_GAUGES = [
  'orderflow_sagas_in_flight',
  'orderflow_outbox_backlog_messages',
  'orderflow_outbox_oldest_message_age_seconds',
  'orderflow_kafka_consumer_lag_messages',
];

describe('the Grafana dashboard', () => {
  it('aggregates the gauges every replica reports alike with max, never sum or avg', () => {
    const global = queries.filter((q) => GLOBAL_GAUGES.some((name) => q.expr.includes(name)));
    expect(GLOBAL_GAUGES.filter((name) => !global.some((q) => q.expr.includes(name)))).toEqual([]);
    expect(global.filter((q) => !/^max\b/.test(q.expr) || /\b(sum|avg)\b/.test(q.expr))).toEqual([]);
  });

  it('queries only metrics the apps export', () => {
    expect(
      unknownMetrics(
        queries.map((q) => q.expr),
        exportableMetrics(root),
      ),
    ).toEqual([]);
  });

  it('shows the dependency checks', () => {
    expect(queries.some((q) => q.expr.includes('orderflow_dependency_up{'))).toBe(true);
  });

  it('has unique panel ids and no overlapping panels', () => {
    const ids = dashboard.panels.map((p) => p.id);
    expect(new Set(ids).size).toBe(ids.length);
    const overlaps = dashboard.panels.flatMap((a, i) =>
      dashboard.panels
        .slice(i + 1)
        .filter(
          (b) =>
            a.gridPos.x < b.gridPos.x + b.gridPos.w &&
            b.gridPos.x < a.gridPos.x + a.gridPos.w &&
            a.gridPos.y < b.gridPos.y + b.gridPos.h &&
            b.gridPos.y < a.gridPos.y + a.gridPos.h,
        )
        .map((b) => `${a.title} / ${b.title}`),
    );
    expect(overlaps).toEqual([]);
  });
});
