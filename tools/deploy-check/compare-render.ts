// Compares the offline kustomize renderer (kustomize.ts, which `make test` relies on) with the real
// kustomize, for one kustomization. CI runs it for every overlay, where kubectl is installed:
//   kubectl kustomize k8s/overlays/dev > rendered.yaml
//   node dist/deploy-render/main.js k8s/overlays/dev rendered.yaml
// Bundled to dist/deploy-render/main.js by `node scripts/build.mjs deploy-render`. Exits 1 listing
// every difference by object and path, 2 on a usage or render error.
import { relative, resolve } from 'node:path';
import { renderKustomization } from './kustomize';
import { diffRenderings, formatRenderDifferences } from './render-diff';
import { readYamlDocuments } from './yaml';

function main(args: string[]): number {
  const [dir, kubectlOutput] = args;
  if (!dir || !kubectlOutput || args.length !== 2) {
    process.stderr.write('usage: deploy-render <kustomization dir> <kubectl kustomize output.yaml>\n');
    return 2;
  }
  const root = process.cwd();
  const name = relative(root, resolve(dir)) || '.';
  const ours = renderKustomization(resolve(dir), root).objects;
  const differences = diffRenderings(ours, readYamlDocuments(kubectlOutput));
  if (differences.length) {
    process.stderr.write(
      `${name}: the offline rendering (tools/deploy-check/kustomize.ts) and kubectl kustomize differ:\n${formatRenderDifferences(differences)}\n`,
    );
    return 1;
  }
  process.stdout.write(`${name}: the offline rendering matches kubectl kustomize (${ours.length} objects)\n`);
  return 0;
}

try {
  process.exitCode = main(process.argv.slice(2));
} catch (error) {
  process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
  process.exitCode = 2;
}
