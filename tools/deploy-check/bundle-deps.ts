import { builtinModules } from 'node:module';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildSync } from 'esbuild';
import { Problems } from './problems';

/**
 * The runtime image installs `dependencies` only (npm ci --omit=dev). Bundles each entry the way
 * scripts/build.mjs does (npm packages external) and checks that every package it loads at run time
 * is a production dependency: a devDependency imported by an app would crash only in the image.
 */
export function checkBundleDependencies(root: string, entries: Record<string, string>, inContext: (path: string) => boolean = () => true): Problems {
  const problems = new Problems();
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { dependencies: Record<string, string>; devDependencies: Record<string, string> };
  const external = [...Object.keys(pkg.dependencies), ...Object.keys(pkg.devDependencies)];
  const result = buildSync({
    entryPoints: Object.fromEntries(Object.entries(entries).map(([name, file]) => [name, join(root, file)])),
    outdir: join(root, 'dist'),
    write: false,
    bundle: true,
    platform: 'node',
    format: 'cjs',
    metafile: true,
    logLevel: 'silent',
    external: external.flatMap((d) => [d, `${d}/*`]),
    tsconfig: join(root, 'tsconfig.json'),
    absWorkingDir: root,
  });
  // Every source the bundles are built from must be in the Docker build context (.dockerignore).
  for (const input of Object.keys(result.metafile.inputs)) {
    problems.check(inContext(input), '.dockerignore', `excludes ${input}, which the image's bundles are built from`);
  }
  for (const [output, meta] of Object.entries(result.metafile.outputs)) {
    for (const imported of meta.imports.filter((i) => i.external)) {
      const name = imported.path.startsWith('@') ? imported.path.split('/').slice(0, 2).join('/') : imported.path.split('/')[0]!;
      if (name.startsWith('node:') || builtinModules.includes(name)) continue;
      problems.check(
        name in pkg.dependencies,
        `package.json`,
        `${output.replace(/^.*dist\//, 'dist/')} loads ${name} at run time, but it is not in dependencies (the image omits devDependencies)`,
      );
    }
  }
  return problems;
}
