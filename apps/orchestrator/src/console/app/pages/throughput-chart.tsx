import type { Stats } from '../types';

const W = 720;
const H = 180;
const PAD = { left: 36, right: 8, top: 10, bottom: 22 };

/**
 * Completed (up from the 0 axis) and failed (down from it) sagas per minute over the last hour, as SVG
 * bars on one scale (its top and bottom labels); the title sums them up for screen readers.
 */
export function ThroughputChart({ data }: { data: NonNullable<Stats['throughput']> }) {
  if (data.length === 0) return <p data-testid="throughput-chart">No throughput reported yet.</p>;
  const max = Math.max(1, ...data.map((d) => Math.max(d.completed, d.failed)));
  const innerW = W - PAD.left - PAD.right;
  const mid = PAD.top + (H - PAD.top - PAD.bottom) / 2;
  const half = (H - PAD.top - PAD.bottom) / 2;
  const step = innerW / data.length;
  const bar = Math.max(1, step - 2);
  const label = (iso: string) => new Date(iso).toTimeString().slice(0, 5);
  const completed = data.reduce((n, d) => n + d.completed, 0);
  const failed = data.reduce((n, d) => n + d.failed, 0);
  return (
    <figure class="chart" data-testid="throughput-chart">
      <svg viewBox={`0 0 ${W} ${H}`} role="img" aria-labelledby="throughput-title">
        <title id="throughput-title">
          {completed} completed and {failed} failed in the last {data.length} minutes
        </title>
        <line class="axis" x1={PAD.left} x2={W - PAD.right} y1={mid} y2={mid} />
        <text class="tick" x={PAD.left - 4} y={PAD.top + 8} text-anchor="end">
          {max}
        </text>
        <text class="tick" x={PAD.left - 4} y={mid + 4} text-anchor="end">
          0
        </text>
        <text class="tick" x={PAD.left - 4} y={H - PAD.bottom} text-anchor="end">
          {max}
        </text>
        {data.map((d, i) => {
          const x = PAD.left + i * step + 1;
          const up = (d.completed / max) * half;
          const down = (d.failed / max) * half;
          return (
            <g key={d.minute}>
              {up > 0 && <rect class="bar-completed" x={x} y={mid - up} width={bar} height={up} />}
              {down > 0 && <rect class="bar-failed" x={x} y={mid} width={bar} height={down} />}
            </g>
          );
        })}
        {[0, Math.floor(data.length / 2), data.length - 1].map((i, n) => (
          <text key={i} class="tick" x={PAD.left + i * step + step / 2} y={H - 6} text-anchor={['start', 'middle', 'end'][n]}>
            {label(data[i]!.minute)}
          </text>
        ))}
      </svg>
      <figcaption>
        <span class="legend legend-completed">completed</span> <span class="legend legend-failed">failed</span>
      </figcaption>
    </figure>
  );
}
