import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { parseEnv } from '@orderflow/config';
import { APP_NAMES, APPS, opsPort, portNumber } from './apps';
import { Problems } from './problems';
import { isObject, readYamlObject, type Json } from './yaml';

/** Each app's ops port by default (what the compose stack CI starts listens on). */
function defaultOpsPorts(): Map<number, string> {
  return new Map(APP_NAMES.map((app) => [portNumber(parseEnv(APPS[app].env, {}) as Record<string, unknown>, opsPort(app)), app]));
}

/** CI builds an image of every process target, still runs `make test`, and probes the ops routes on ops ports. */
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
  const steps = Object.values(jobs).flatMap((job) => (isObject(job) && Array.isArray(job.steps) ? job.steps : []) as Json[]).filter(isObject);
  for (const [name, job] of Object.entries(jobs)) {
    problems.check(isObject(job) && typeof job['runs-on'] === 'string' && Array.isArray(job.steps), where, `job ${name} needs runs-on and steps`);
  }
  problems.check(steps.some((s) => typeof s.run === 'string' && /\bmake test\b/.test(s.run)), where, 'no step runs make test');
  const built = steps.filter((s) => typeof s.uses === 'string' && s.uses.startsWith('docker/build-push-action')).map((s) => (isObject(s.with) ? String(s.with.target) : ''));
  for (const target of targets) problems.check(built.includes(target), where, `no docker/build-push-action step builds the ${target} target`);
  const ops = defaultOpsPorts();
  for (const step of steps.filter((s) => typeof s.run === 'string')) {
    for (const [, port, path] of String(step.run).matchAll(/(?:localhost|127\.0\.0\.1):(\d+)\/(healthz|readyz|status|metrics)\b/g)) {
      problems.check(ops.has(Number(port)), where, `step "${String(step.name ?? step.run).split('\n')[0]}" GETs /${path} on port ${port}, which is no app's ops port (${[...ops.keys()].join(', ')})`);
    }
  }
  return problems;
}
