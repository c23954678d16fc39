import { unknownFields } from './k8s-fields';
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

function loadModel(object: K8sObject): ModelClass | undefined {
  try {
    // kubernetes-models/<group>/<version>/<Kind>; the core group is plain `v1`.
    return (require(`kubernetes-models/${object.apiVersion}/${object.kind}`) as Record<string, ModelClass>)[object.kind];
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
