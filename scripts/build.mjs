// Bundles each app (and the dev tools) into dist/ with esbuild: our own TypeScript (apps + libs) is
// inlined, npm dependencies stay external and load from node_modules. Usage: node scripts/build.mjs [name…]
import { build } from 'esbuild';
import { readFileSync } from 'node:fs';

const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
const external = [...Object.keys(pkg.dependencies), ...Object.keys(pkg.devDependencies)];

const entries = {
  orchestrator: 'apps/orchestrator/src/main.ts',
  order: 'apps/order/src/main.ts',
  inventory: 'apps/inventory/src/main.ts',
  notification: 'apps/notification/src/main.ts',
  tools: 'tools/cli/main.ts',
};
const wanted = process.argv.slice(2);
const names = wanted.length ? wanted : Object.keys(entries);

await Promise.all(
  names.map((name) => {
    if (!entries[name]) throw new Error(`unknown build entry "${name}" (known: ${Object.keys(entries).join(', ')})`);
    return build({
      entryPoints: [entries[name]],
      outfile: `dist/${name}/main.js`,
      bundle: true,
      platform: 'node',
      target: 'node20',
      format: 'cjs',
      sourcemap: true,
      external: external.flatMap((d) => [d, `${d}/*`]),
      tsconfig: 'tsconfig.json',
      logLevel: 'warning',
    });
  }),
);
