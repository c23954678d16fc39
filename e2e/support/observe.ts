// Reading what the processes expose to operators: Prometheus text from /metrics and JSON log lines.

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

export interface Scrape {
  samples: Sample[];
  /** Every metric family declared with `# TYPE`, with or without samples yet. */
  families: Map<string, string>;
  /** Sum of the samples of `name` whose labels include `labels`. */
  sum(name: string, labels?: Record<string, string>): number;
  has(name: string, labels?: Record<string, string>): boolean;
  /** Names a query may use: families plus the sample names (`_bucket`, `_sum`, `_count`…). */
  names(): Set<string>;
}

const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;

/** Parses the Prometheus text exposition format (what prom-client writes). */
export function parseMetrics(text: string): Scrape {
  const samples: Sample[] = [];
  const families = new Map<string, string>();
  for (const line of text.split('\n')) {
    if (!line) continue;
    const type = /^# TYPE (\S+) (\S+)/.exec(line);
    if (type) families.set(type[1]!, type[2]!);
    if (line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{.*\})? (\S+)/.exec(line);
    if (!m) throw new Error(`not a Prometheus sample line: ${line}`);
    const labels: Record<string, string> = {};
    for (const [, key, value] of (m[2] ?? '').matchAll(LABEL)) labels[key!] = value!;
    samples.push({ name: m[1]!, labels, value: Number(m[3]) });
  }
  const matching = (name: string, labels: Record<string, string> = {}) =>
    samples.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v));
  return {
    samples,
    families,
    sum: (name, labels) => matching(name, labels).reduce((total, s) => total + s.value, 0),
    has: (name, labels) => matching(name, labels).length > 0,
    names: () => new Set([...families.keys(), ...samples.map((s) => s.name)]),
  };
}

export async function scrape(baseUrl: string): Promise<Scrape> {
  const res = await fetch(`${baseUrl}/metrics`);
  if (!res.ok) throw new Error(`${baseUrl}/metrics answered ${res.status}`);
  return parseMetrics(await res.text());
}

export type LogLine = Record<string, unknown> & { service?: string; traceId?: string; spanId?: string; orderId?: string };

/** Parses each line as JSON; a line that is not a JSON object is returned in `invalid`. */
export function parseLogs(lines: string[]): { entries: LogLine[]; invalid: string[] } {
  const entries: LogLine[] = [];
  const invalid: string[] = [];
  for (const line of lines) {
    try {
      const value: unknown = JSON.parse(line);
      if (value && typeof value === 'object' && !Array.isArray(value)) entries.push(value as LogLine);
      else invalid.push(line);
    } catch {
      invalid.push(line);
    }
  }
  return { entries, invalid };
}

/** A fresh W3C `traceparent` (sampled) and its trace id. */
export function newTraceparent(): { traceparent: string; traceId: string } {
  const hex = (bytes: number) => Array.from(crypto.getRandomValues(new Uint8Array(bytes)), (b) => b.toString(16).padStart(2, '0')).join('');
  const traceId = hex(16);
  return { traceparent: `00-${traceId}-${hex(8)}-01`, traceId };
}
