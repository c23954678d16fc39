import { isObject, type Json, type JsonObject } from './yaml';
import type { K8sObject } from './kustomize';

/** Secrets and ConfigMaps a container may read, by name, in its namespace. */
export interface EnvSources {
  configMaps: Map<string, Record<string, string>>;
  /** Rendered Secrets, plus the documented ones created out of band (an overlay's *.example.yaml). */
  secrets: Map<string, Record<string, string>>;
}

export interface ResolvedEnv {
  /** Every variable the container gets, whether its source resolved or not. */
  names: string[];
  /** Values of the ones that resolved (an optional reference that does not is simply unset). */
  values: Record<string, string>;
  problems: string[];
}

function dataOf(object: K8sObject): Record<string, string> {
  const data: Record<string, string> = {};
  if (isObject(object.data)) {
    for (const [key, value] of Object.entries(object.data))
      data[key] = object.kind === 'Secret' ? Buffer.from(String(value), 'base64').toString('utf8') : String(value);
  }
  if (isObject(object.stringData)) for (const [key, value] of Object.entries(object.stringData)) data[key] = String(value);
  return data;
}

export function envSources(objects: K8sObject[], namespace: string | undefined, externalSecrets: K8sObject[] = []): EnvSources {
  const inNamespace = objects.filter((o) => o.metadata.namespace === namespace);
  const byKind = (kind: string, list: K8sObject[]) => new Map(list.filter((o) => o.kind === kind).map((o) => [o.metadata.name, dataOf(o)]));
  const secrets = byKind('Secret', externalSecrets);
  for (const [name, data] of byKind('Secret', inNamespace)) secrets.set(name, data);
  return { configMaps: byKind('ConfigMap', inNamespace), secrets };
}

/** Resolves a container's `envFrom` and `env` against the namespace's ConfigMaps and Secrets. */
export function resolveEnv(container: JsonObject, sources: EnvSources): ResolvedEnv {
  const names: string[] = [];
  const values: Record<string, string> = {};
  const problems: string[] = [];
  const lookup = (kind: 'ConfigMap' | 'Secret', ref: JsonObject): Record<string, string> | undefined => {
    const data = (kind === 'ConfigMap' ? sources.configMaps : sources.secrets).get(String(ref.name));
    if (!data && ref.optional !== true) problems.push(`references ${kind} ${String(ref.name)}, which does not exist`);
    return data;
  };
  for (const from of (container.envFrom ?? []) as Json[]) {
    if (!isObject(from)) continue;
    const ref = isObject(from.configMapRef)
      ? (['ConfigMap', from.configMapRef] as const)
      : isObject(from.secretRef)
        ? (['Secret', from.secretRef] as const)
        : undefined;
    if (!ref) continue;
    for (const [key, value] of Object.entries(lookup(ref[0], ref[1]) ?? {})) {
      const name = `${typeof from.prefix === 'string' ? from.prefix : ''}${key}`;
      names.push(name);
      values[name] = value;
    }
  }
  for (const entry of (container.env ?? []) as Json[]) {
    if (!isObject(entry) || typeof entry.name !== 'string') continue;
    names.push(entry.name);
    if (typeof entry.value === 'string') values[entry.name] = entry.value;
    const from = isObject(entry.valueFrom) ? entry.valueFrom : undefined;
    const ref = isObject(from?.configMapKeyRef)
      ? (['ConfigMap', from.configMapKeyRef] as const)
      : isObject(from?.secretKeyRef)
        ? (['Secret', from.secretKeyRef] as const)
        : undefined;
    if (!ref) continue;
    const data = lookup(ref[0], ref[1]);
    const value = data?.[String(ref[1].key)];
    if (value !== undefined) values[entry.name] = value;
    else if (data && ref[1].optional !== true) problems.push(`${entry.name}: ${ref[0]} ${String(ref[1].name)} has no key ${String(ref[1].key)}`);
  }
  return { names: [...new Set(names)], values, problems: [...new Set(problems)] };
}
