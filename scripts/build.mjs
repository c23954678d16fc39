// Bundles each app (and the dev tools) into dist/ with esbuild: our own TypeScript (apps + libs) is
// inlined, npm dependencies stay external and load from node_modules. Usage: node scripts/build.mjs [name…]
// dist/tracing/main.js is the OpenTelemetry SDK; each app's bundle requires it on its first line, so
// the instrumentations are in place before the app loads express, pg, grpc-js or ioredis.
// dist/console/ is the operators' web console (browser code, every dependency bundled and minified),
// built with the orchestrator, which serves it at /console.
import { build } from 'esbuild';
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
const external = [...Object.keys(pkg.dependencies), ...Object.keys(pkg.devDependencies)];

const entries = {
  orchestrator: 'apps/orchestrator/src/main.ts',
  order: 'apps/order/src/main.ts',
  inventory: 'apps/inventory/src/main.ts',
  notification: 'apps/notification/src/main.ts',
  tools: 'tools/cli/main.ts',
  bench: 'tools/bench/main.ts',
  'bench-loadgen': 'tools/bench/loadgen.ts',
  soak: 'tools/bench/soak.ts',
  'bench-compare': 'tools/bench/peers/compare.ts',
  'bench-floor': 'tools/bench/peers/floor/server.ts',
  'bench-dbos': 'tools/bench/peers/dbos/server.ts',
  asyncapi: 'tools/asyncapi/main.ts',
  'deploy-render': 'tools/deploy-check/compare-render.ts',
  tracing: 'libs/platform/src/tracing-preload.ts',
};
const APPS = ['orchestrator', 'order', 'inventory', 'notification'];
const browserEntries = { console: 'apps/orchestrator/src/console/app/main.tsx' };
// The newest migration of each app's database (db/<app>/), compiled into the app: it refuses to start
// on a database that has not been migrated that far (libs/db schemaCheck).
const schemaVersion = (app) =>
  readdirSync(new URL(`../db/${app}/`, import.meta.url))
    .filter((f) => f.endsWith('.sql'))
    .sort()
    .at(-1)
    .replace(/\.sql$/, '');
// Shown by GET /status: the package version and, where the tree is a git checkout, its commit.
const commit = (() => {
  try {
    return execFileSync('git', ['rev-parse', '--short', 'HEAD'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return ''; // a Docker build context has no .git
  }
})();
const version = process.env.ORDERFLOW_VERSION || `${pkg.version}${commit ? `+${commit}` : ''}`;
const wanted = process.argv.slice(2);
const names = wanted.length ? wanted : Object.keys(entries);
if (names.some((n) => APPS.includes(n)) && !names.includes('tracing')) names.push('tracing');
if (names.includes('orchestrator') && !names.includes('console')) names.push('console');

/** A browser bundle: dist/<name>/app.js and app.css (the CSS its code imports), same-origin files for a strict CSP. */
const buildBrowser = (name) =>
  build({
    entryPoints: { app: browserEntries[name] },
    outdir: `dist/${name}`,
    bundle: true,
    platform: 'browser',
    target: ['chrome120', 'firefox120', 'safari17'],
    format: 'esm',
    minify: true,
    sourcemap: 'linked',
    jsx: 'automatic',
    jsxImportSource: 'preact',
    tsconfig: 'apps/orchestrator/src/console/app/tsconfig.json',
    logLevel: 'warning',
  });

await Promise.all(
  names.map((name) => {
    if (browserEntries[name]) return buildBrowser(name);
    if (!entries[name]) throw new Error(`unknown build entry "${name}" (known: ${[...Object.keys(entries), ...Object.keys(browserEntries)].join(', ')})`);
    return build({
      entryPoints: [entries[name]],
      outfile: `dist/${name}/main.js`,
      bundle: true,
      platform: 'node',
      target: 'node24',
      format: 'cjs',
      sourcemap: true,
      external: external.flatMap((d) => [d, `${d}/*`]),
      tsconfig: 'tsconfig.json',
      logLevel: 'warning',
      ...(APPS.includes(name)
        ? {
            banner: { js: `'use strict'; require('../tracing/main.js').startTracing(${JSON.stringify(name)});` },
            define: { ORDERFLOW_SCHEMA_VERSION: JSON.stringify(schemaVersion(name)), ORDERFLOW_VERSION: JSON.stringify(version) },
          }
        : {}),
    });
  }),
);
