import { modelModule, resolveModule, unknownFields } from './k8s-fields';
import type { K8sObject } from './kustomize';
import type { Problem } from './problems';

/**
 * Validates objects against the Kubernetes API schemas, offline, with the `kubernetes-models` package
 * (generated from the Kubernetes OpenAPI spec): its JSON-schema validators check types, required
 * fields, enums and formats; its type declarations name the fields the API does not define.
 */

interface ModelClass {
  new (data: unknown): { validate(): void };
}

// Node's own require, not jest's (which also replaces node:module's createRequire): the KEDA models
// are ES modules only, which Node's require loads (22.12 and later) and jest's CommonJS runtime does not.
const nativeRequire = process.getBuiltinModule('node:module').createRequire(__filename);

function loadModel(object: K8sObject): ModelClass | undefined {
  try {
    const specifier = modelModule(object);
    if (specifier.startsWith('kubernetes-models/')) return (require(specifier) as Record<string, ModelClass>)[object.kind];
    // The package exports only an `import` condition, so load its file by path (found through its types).
    const types = resolveModule(specifier);
    return types ? (nativeRequire(types.replace(/\.d\.ts$/, '.js')) as Record<string, ModelClass>)[object.kind] : undefined;
  } catch {
    return undefined;
  }
}

export function validateSchemas(objects: K8sObject[], where: (object: K8sObject) => string): Problem[] {
  const problems: Problem[] = [];
  for (const object of objects) {
    const Model = loadModel(object);
    if (!Model) {
      problems.push({ where: where(object), message: `no Kubernetes schema for ${object.apiVersion} ${object.kind}` });
      continue;
    }
    try {
      new Model(object).validate();
    } catch (error) {
      problems.push({ where: where(object), message: `schema: ${(error as Error).message}` });
    }
    for (const path of unknownFields(object)) problems.push({ where: where(object), message: `schema: unknown field ${path}` });
  }
  return problems;
}
