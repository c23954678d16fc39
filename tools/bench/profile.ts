// Summaries of V8 CPU profiles (`--cpu-prof`, BENCH_PROFILE=1) for the bench report: where each app's
// samples went, grouped by npm package, Node internals, native work and our own bundle.
import { readFileSync } from 'node:fs';

interface CpuProfile {
  nodes: { id: number; callFrame: { functionName: string; url: string } }[];
  samples: number[];
  timeDeltas: number[];
}

export interface ProfileSummary {
  sampledMs: number;
  /** Biggest groups first, as a share of all samples in percent. */
  top: { group: string; percent: number }[];
}

/** The group a frame's time counts under: `pkg:<name>`, `node:<module>`, `app` (our bundle) or the native function (`writev`, `(garbage collector)`, `(idle)`…). */
export function frameGroup(frame: { functionName: string; url: string }): string {
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(frame.url);
  if (pkg) return `pkg:${pkg[1]}`;
  if (frame.url.startsWith('node:'))
    return frame.url
      .replace(/^node:(internal\/)?/, 'node:')
      .split('/')
      .slice(0, 2)
      .join('/');
  if (/\/dist\/[^/]+\/main\.js$/.test(frame.url)) return 'app';
  return frame.functionName || '(anonymous)';
}

export function summarizeProfile(profile: CpuProfile, limit = 10): ProfileSummary {
  const selfUs = new Map<number, number>();
  profile.samples.forEach((id, i) => selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0)));
  const groups = new Map<string, number>();
  let total = 0;
  for (const node of profile.nodes) {
    const us = selfUs.get(node.id) ?? 0;
    total += us;
    const group = frameGroup(node.callFrame);
    groups.set(group, (groups.get(group) ?? 0) + us);
  }
  const top = [...groups]
    .sort((a, b) => b[1] - a[1])
    .slice(0, limit)
    .map(([group, us]) => ({ group, percent: total ? Math.round((us / total) * 1_000) / 10 : 0 }));
  return { sampledMs: Math.round(total / 1_000), top };
}

export function summarizeProfileFile(file: string, limit?: number): ProfileSummary {
  return summarizeProfile(JSON.parse(readFileSync(file, 'utf8')) as CpuProfile, limit);
}
