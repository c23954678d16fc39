import { join } from 'node:path';
import { checkContainers, checkKubernetes, checkRuntimeDependencies, checkWorkflow, formatProblems, PROCESS_TARGETS } from './index';

const root = join(__dirname, '..', '..');

describe('the repository deployment files', () => {
  it('render every kustomization and pass the Kubernetes schemas and the consistency checks', () => {
    expect(formatProblems(checkKubernetes(root))).toBe('');
  });

  it('have a Dockerfile and a docker-compose.yml that agree with the apps', () => {
    expect(formatProblems(checkContainers(root))).toBe('');
  });

  it('ship every package the bundles load in the production dependencies', () => {
    expect(formatProblems(checkRuntimeDependencies(root))).toBe('');
  });

  it('build every image target in CI', () => {
    expect(formatProblems(checkWorkflow(root, PROCESS_TARGETS).list)).toBe('');
  });
});
