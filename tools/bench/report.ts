// Turning raw bench samples into the report's numbers, Markdown and chart. Pure functions.

export interface Percentiles {
  p50: number;
  p95: number;
  p99: number;
}

export function percentiles(values: number[]): Percentiles {
  const sorted = [...values].sort((a, b) => a - b);
  const at = (q: number) => (sorted.length ? sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)]! : 0);
  return { p50: round(at(0.5)), p95: round(at(0.95)), p99: round(at(0.99)) };
}

export const round = (n: number, digits = 1) => Math.round(n * 10 ** digits) / 10 ** digits;

/** Counts per whole second from `start`, for the chart. */
export function perSecond(times: number[], start: number): number[] {
  const buckets: number[] = [];
  for (const t of times) {
    const i = Math.max(0, Math.floor((t - start) / 1_000));
    buckets[i] = (buckets[i] ?? 0) + 1;
  }
  return Array.from(buckets, (v) => v ?? 0);
}

/** A small SVG line chart: one or more series over seconds, each on its own scale, labelled. */
export function lineChart(title: string, series: { name: string; unit: string; values: number[]; color: string }[]): string {
  const width = 800;
  const height = 140 * series.length + 40;
  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif" font-size="12">`,
    `<text x="10" y="20" font-size="14">${title}</text>`,
  ];
  series.forEach((s, i) => {
    const top = 40 + i * 140;
    const max = Math.max(1, ...s.values);
    const step = (width - 80) / Math.max(1, s.values.length - 1);
    const points = s.values.map((v, x) => `${(60 + x * step).toFixed(1)},${(top + 100 - (v / max) * 100).toFixed(1)}`).join(' ');
    parts.push(`<text x="10" y="${top - 4}">${s.name} (max ${round(max)} ${s.unit})</text>`);
    parts.push(`<line x1="60" y1="${top + 100}" x2="${width - 20}" y2="${top + 100}" stroke="#999"/>`);
    parts.push(`<polyline fill="none" stroke="${s.color}" stroke-width="2" points="${points}"/>`);
    parts.push(`<text x="60" y="${top + 116}" fill="#666">0 s</text><text x="${width - 60}" y="${top + 116}" fill="#666">${s.values.length} s</text>`);
  });
  parts.push('</svg>');
  return parts.join('\n');
}
