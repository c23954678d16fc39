import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * Metric names, offline: what a PromQL expression queries, and what the apps can export (every
 * quoted snake_case name in the non-test sources of apps/ and libs/, and prom-client's default
 * process metrics). Loose on purpose: it catches a renamed or misspelt metric, not a wrong label.
 */

const KEYWORDS = new Set(['by', 'without', 'on', 'ignoring', 'group_left', 'group_right', 'offset', 'and', 'or', 'unless', 'bool', 'inf', 'nan']);
const SUFFIXES = /_(bucket|count|sum)$/;

/** The metric names a PromQL expression selects (histogram series names as written: `x_bucket`). */
export function queriedMetrics(expr: string): string[] {
  const bare = expr
    .replace(/"(?:[^"\\]|\\.)*"/g, '""')
    .replace(/\{[^}]*\}/g, '')
    .replace(/\[[^\]]*\]/g, '')
    .replace(/\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, '');
  // A name not followed by "(" (a function) and not part of a number or duration (10m).
  const names = [...bare.matchAll(/(?<![\w.:])([a-zA-Z_:][\w:]*)(?![\w:])(?!\s*\()/g)].map((m) => m[1]!);
  return [...new Set(names.filter((name) => !KEYWORDS.has(name.toLowerCase())))];
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && /\.(ts|js)$/.test(e.name) && !e.name.endsWith('.test.ts'))
    .map((e) => join(e.parentPath, e.name));
}

/** Every name the apps may export: quoted snake_case strings in apps/*\/src, libs/*\/src and prom-client's defaults. */
export function exportableMetrics(root: string): Set<string> {
  const dirs = ['apps', 'libs'].flatMap((top) => readdirSync(join(root, top)).map((name) => join(root, top, name, 'src')));
  dirs.push(join(root, 'node_modules/prom-client/lib/metrics'));
  const names = new Set<string>();
  for (const file of dirs.filter((dir) => existsSync(dir)).flatMap(sourceFiles)) {
    for (const m of readFileSync(file, 'utf8').matchAll(/'([a-z][a-z0-9]*(?:_[a-z0-9]+)+)'/g)) names.add(m[1]!);
  }
  return names;
}

/** The queried names that no app exports (a histogram's `_bucket`, `_count`, `_sum` count as its own). */
export function unknownMetrics(exprs: string[], exportable: Set<string>): string[] {
  const queried = [...new Set(exprs.flatMap(queriedMetrics))];
  return queried.filter((name) => !exportable.has(name) && !exportable.has(name.replace(SUFFIXES, '')));
}
