// The peers are benchmark tools: their packages must never reach the apps' images, which install
// only `dependencies` (npm ci --omit=dev in the Dockerfile's runtime stage).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from '@orderflow/config';

it('keeps the peers’ packages out of the production dependencies', () => {
  const pkg = JSON.parse(readFileSync(join(repoRoot(), 'package.json'), 'utf8'));
  const peerPackages = Object.keys(pkg.devDependencies).filter((name: string) => name.startsWith('@dbos-inc/'));
  expect(peerPackages).toEqual(['@dbos-inc/dbos-sdk']);
  expect(Object.keys(pkg.dependencies).filter((name) => name.startsWith('@dbos-inc/'))).toEqual([]);
  // And pinned, like every other dependency.
  expect(pkg.devDependencies['@dbos-inc/dbos-sdk']).toMatch(/^\d+\.\d+\.\d+$/);
});
