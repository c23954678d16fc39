import { existsSync } from 'node:fs';
import { basename, join } from 'node:path';
import { parseEnv } from '@orderflow/config';
import { APP_NAMES, APPS, opsPort, portNumber } from './apps';
import { kustomizationDirs } from './kustomize';
import { Problems } from './problems';
import { isObject, readYamlObject, type Json } from './yaml';

/** Each app's ops port by default (what the compose stack CI starts listens on). */
function defaultOpsPorts(): Map<number, string> {
  return new Map(APP_NAMES.map((app) => [portNumber(parseEnv(APPS[app].env, {}) as Record<string, unknown>, opsPort(app)), app]));
}

/**
 * CI builds an image of every process target, still runs `make test`, probes the ops routes on ops
 * ports, and compares the offline rendering of every overlay with `kubectl kustomize`'s.
 */
export function checkWorkflow(root: string, targets: string[]): Problems {
  const problems = new Problems();
  const file = join(root, '.github', 'workflows', 'ci.yml');
  const where = '.github/workflows/ci.yml';
  if (!problems.check(existsSync(file), where, 'missing')) return problems;
  let workflow;
  try {
    workflow = readYamlObject(file);
  } catch (error) {
    problems.add(where, (error as Error).message);
    return problems;
  }
  const jobs = isObject(workflow.jobs) ? workflow.jobs : {};
  const steps = Object.values(jobs)
    .flatMap((job) => (isObject(job) && Array.isArray(job.steps) ? job.steps : []) as Json[])
    .filter(isObject);
  for (const [name, job] of Object.entries(jobs)) {
    problems.check(isObject(job) && typeof job['runs-on'] === 'string' && Array.isArray(job.steps), where, `job ${name} needs runs-on and steps`);
  }
  problems.check(
    steps.some((s) => typeof s.run === 'string' && /\bmake test\b/.test(s.run)),
    where,
    'no step runs make test',
  );
  const built = steps
    .filter((s) => typeof s.uses === 'string' && s.uses.startsWith('docker/build-push-action'))
    .map((s) => (isObject(s.with) ? String(s.with.target) : ''));
  for (const target of targets) problems.check(built.includes(target), where, `no docker/build-push-action step builds the ${target} target`);
  checkRenderComparison(root, jobs, where, problems);
  const ops = defaultOpsPorts();
  for (const step of steps.filter((s) => typeof s.run === 'string')) {
    for (const [, port, path] of String(step.run).matchAll(/(?:localhost|127\.0\.0\.1):(\d+)\/(healthz|readyz|status|metrics)\b/g)) {
      problems.check(
        ops.has(Number(port)),
        where,
        `step "${String(step.name ?? step.run).split('\n')[0]}" GETs /${path} on port ${port}, which is no app's ops port (${[...ops.keys()].join(', ')})`,
      );
    }
  }
  return problems;
}

/**
 * A step in a job with Node runs `kubectl kustomize` and the compare command (dist/deploy-render,
 * tools/deploy-check/compare-render.ts) over every overlay under k8s/overlays: by name, or all of
 * them with `k8s/overlays/*`.
 */
function checkRenderComparison(root: string, jobs: Record<string, Json>, where: string, problems: Problems): void {
  const steps = Object.values(jobs)
    .filter(isObject)
    .map((job) => (Array.isArray(job.steps) ? job.steps.filter(isObject) : []))
    .filter((jobSteps) => jobSteps.some((s) => typeof s.uses === 'string' && s.uses.startsWith('actions/setup-node')))
    .flat()
    .map((s) => (typeof s.run === 'string' ? s.run : ''))
    .filter((run) => /\bkubectl kustomize\b/.test(run) && /\bnode dist\/deploy-render\/main\.js\b/.test(run));
  if (
    !problems.check(
      steps.length > 0,
      where,
      'no step in a job with Node compares kubectl kustomize with the offline rendering (node dist/deploy-render/main.js <overlay> <kubectl output>)',
    )
  )
    return;
  const overlays = kustomizationDirs(join(root, 'k8s')).filter((dir) => basename(join(dir, '..')) === 'overlays');
  for (const overlay of overlays.map((dir) => basename(dir))) {
    const covered = steps.some(
      (run) => run.includes('k8s/overlays/*') || new RegExp(`k8s/overlays/${overlay.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}(?![\\w.-])`).test(run),
    );
    problems.check(covered, where, `no step compares kubectl kustomize k8s/overlays/${overlay} with the offline rendering`);
  }
}
