import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { makeMigrateCommand } from './apps';
import { checkBundleDependencies } from './bundle-deps';
import { checkCompose } from './compose';
import { checkDockerfile, dockerIgnore, PROCESS_TARGETS } from './dockerfile';
import { checkAppWorkloads } from './k8s-apps';
import { cluster } from './k8s-model';
import { checkNetworkPolicies } from './k8s-network';
import { validateSchemas } from './k8s-schema';
import { checkWiring } from './k8s-wiring';
import { kustomizationDirs, objectId, renderKustomization, type K8sObject } from './kustomize';
import { attempt, Problems, type Problem } from './problems';
import { readYamlDocuments, readYamlObject, type Json } from './yaml';

/** Offline validation of everything that deploys orderflow; `make test` runs it through jest. */

export { formatProblems, type Problem } from './problems';

/**
 * Secrets an overlay documents but does not apply (`*.example.yaml`): created out of band. An overlay
 * built on another (prod-keda on prod) uses the same ones, so those of the directories it includes count.
 */
function exampleSecrets(dir: string): K8sObject[] {
  const own = readdirSync(dir)
    .filter((name) => name.endsWith('.example.yaml'))
    .flatMap((name) => readYamlDocuments(join(dir, name)) as K8sObject[]);
  const file = ['kustomization.yaml', 'kustomization.yml', 'Kustomization'].map((name) => join(dir, name)).find((f) => existsSync(f));
  const resources = file ? ((readYamlObject(file).resources ?? []) as Json[]) : [];
  const included = resources
    .filter((entry): entry is string => typeof entry === 'string')
    .map((entry) => resolve(dir, entry))
    .filter((path) => existsSync(path) && statSync(path).isDirectory());
  return [...own, ...included.flatMap(exampleSecrets)];
}

/**
 * Renders and checks every kustomization under `k8sDir`. All of them get the schema, reference and
 * network checks; the overlays (what gets applied) also get the per-app checks, which need the
 * overlay's Secrets and ConfigMaps to resolve each container's env.
 */
export function checkKubernetes(root: string, k8sDir = join(root, 'k8s')): Problem[] {
  const problems = new Problems();
  const migrate = makeMigrateCommand(root);
  const dirs = kustomizationDirs(k8sDir);
  problems.check(
    dirs.some((d) => d.endsWith('overlays/dev')) && dirs.some((d) => d.endsWith('overlays/prod')),
    relative(root, k8sDir),
    'expected the base and the dev and prod overlays',
  );
  const schemaChecks: { object: K8sObject; where: string }[] = [];
  for (const dir of dirs) {
    const rendered = attempt(problems, relative(root, dir), () => renderKustomization(dir, root));
    if (!rendered) continue;
    const c = cluster(rendered);
    const examples = exampleSecrets(dir);
    schemaChecks.push(...rendered.objects.map((object) => ({ object, where: c.where(object) })));
    schemaChecks.push(...examples.map((object) => ({ object, where: `${relative(root, dir)} example ${objectId(object)}` })));
    if (rendered.namespace) checkAppWorkloads(c, problems, examples, migrate);
    checkWiring(c, problems);
    checkNetworkPolicies(c, problems);
  }
  const whereOf = new Map(schemaChecks.map(({ object, where }) => [object, where]));
  problems.list.push(...validateSchemas([...whereOf.keys()], (object) => whereOf.get(object)!));
  return problems.list;
}

/** The Dockerfile, docker-compose.yml, the runtime dependencies of the bundles and the CI workflow. */
export function checkContainers(root: string, files: { compose?: string; dockerfile?: string } = {}): Problem[] {
  const { compose: composeFile = join(root, 'docker-compose.yml'), dockerfile = join(root, 'Dockerfile') } = files;
  const migrate = makeMigrateCommand(root);
  const docker = checkDockerfile(root, migrate, dockerfile);
  return [...docker.problems.list, ...checkCompose(root, composeFile, docker.targets, migrate).list];
}

/**
 * The bundles the image runs (scripts/build.mjs's entries from apps/, libs/ and tools/cli; not the
 * dev-only tools such as the bench) load only production dependencies.
 */
export function checkRuntimeDependencies(root: string): Problem[] {
  const script = readFileSync(join(root, 'scripts', 'build.mjs'), 'utf8');
  const entries = Object.fromEntries(
    [...script.matchAll(/^\s*'?([\w-]+)'?: '((?:apps|libs)\/[^']+\.ts|tools\/cli\/main\.ts)',?$/gm)].map((m) => [m[1]!, m[2]!]),
  );
  if (!existsSync(join(root, 'libs/proto/src/gen'))) return [{ where: 'libs/proto/src/gen', message: 'missing: run `make proto` first' }];
  const missing = ['orchestrator', 'order', 'inventory', 'notification', 'tools'].filter((name) => !(name in entries));
  if (missing.length) return [{ where: 'scripts/build.mjs', message: `no build entry found for ${missing.join(', ')}` }];
  const ignore = existsSync(join(root, '.dockerignore')) ? dockerIgnore(readFileSync(join(root, '.dockerignore'), 'utf8')) : () => false;
  // The generated proto code is excluded on purpose: the build stage generates it.
  const inContext = (path: string) => path.startsWith('libs/proto/src/gen/') || !ignore(path);
  return checkBundleDependencies(root, entries, inContext).list;
}

export { checkWorkflow } from './workflow';
export { PROCESS_TARGETS };
