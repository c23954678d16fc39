import { existsSync, readdirSync, statSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { isDeletePatch, jsonPatch, strategicMerge } from './patch';
import { isObject, parseYamlDocuments, readYamlDocuments, readYamlObject, type Json, type JsonObject } from './yaml';

/**
 * A minimal, offline `kustomize build` for the features k8s/ uses: `resources` (files and directories
 * with their own kustomization), `namespace`, `patches` (strategic merge or JSON 6902, from a file or
 * inline, with an optional kind/name target; a strategic merge patch may be a top-level `$patch: delete`)
 * and `images`. Anything else in a kustomization is an
 * error, so a manifest can never silently mean something else here than under kubectl.
 */

export interface K8sObject extends JsonObject {
  apiVersion: string;
  kind: string;
  metadata: JsonObject & { name: string; namespace?: string };
}

export interface Rendered {
  /** The kustomization directory, relative to the repository root. */
  dir: string;
  namespace?: string;
  objects: K8sObject[];
  /** The file each object came from, relative to the repository root. */
  origin: Map<K8sObject, string>;
}

const SUPPORTED = new Set(['apiVersion', 'kind', 'resources', 'namespace', 'patches', 'images']);
const CLUSTER_SCOPED = new Set([
  'Namespace',
  'ClusterRole',
  'ClusterRoleBinding',
  'CustomResourceDefinition',
  'PersistentVolume',
  'StorageClass',
  'PriorityClass',
  'IngressClass',
]);

/** `Kind/name`, or `Kind/namespace/name` when namespaced: how problems name an object. */
export function objectId(object: K8sObject): string {
  return [object.kind, object.metadata.namespace, object.metadata.name].filter(Boolean).join('/');
}

/** Whether a YAML document is a Kubernetes object: apiVersion, kind and metadata.name. */
export function isK8sObject(doc: Json): doc is K8sObject {
  return isObject(doc) && typeof doc.apiVersion === 'string' && typeof doc.kind === 'string' && isObject(doc.metadata) && typeof doc.metadata.name === 'string';
}

function asK8sObject(doc: Json, file: string): K8sObject {
  if (!isK8sObject(doc)) throw new Error(`${file}: every document needs apiVersion, kind and metadata.name`);
  return doc;
}

function kustomizationFile(dir: string): string | undefined {
  return ['kustomization.yaml', 'kustomization.yml', 'Kustomization'].map((name) => join(dir, name)).find((file) => existsSync(file));
}

/** Renders the kustomization in `dir`; paths in problems are relative to `root`. */
export function renderKustomization(dir: string, root: string): Rendered {
  const file = kustomizationFile(dir);
  const rel = (path: string) => relative(root, path) || '.';
  if (!file) throw new Error(`${rel(dir)}: no kustomization.yaml`);
  const k = readYamlObject(file);
  const unsupported = Object.keys(k).filter((key) => !SUPPORTED.has(key));
  if (unsupported.length) throw new Error(`${rel(file)}: ${unsupported.join(', ')} not supported by the offline renderer (tools/deploy-check/kustomize.ts)`);
  if (k.kind !== 'Kustomization') throw new Error(`${rel(file)}: kind must be Kustomization`);

  const objects: K8sObject[] = [];
  const origin = new Map<K8sObject, string>();
  const seen = new Map<string, string>();
  const add = (object: K8sObject, from: string) => {
    const id = `${object.apiVersion}/${objectId(object)}`;
    if (seen.has(id)) throw new Error(`${rel(file)}: ${objectId(object)} comes from both ${seen.get(id)} and ${from}`);
    seen.set(id, from);
    objects.push(object);
    origin.set(object, from);
  };
  for (const entry of (k.resources ?? []) as Json[]) {
    if (typeof entry !== 'string') throw new Error(`${rel(file)}: resources must be paths`);
    const path = resolve(dir, entry);
    if (!existsSync(path)) throw new Error(`${rel(file)}: resource ${entry} does not exist`);
    if (statSync(path).isDirectory()) {
      const sub = renderKustomization(path, root);
      for (const object of sub.objects) add(object, sub.origin.get(object)!);
    } else {
      for (const doc of readYamlDocuments(path)) add(asK8sObject(doc, rel(path)), rel(path));
    }
  }

  // kustomize's order: patches, then the namespace, then images. So a patch selects objects by the
  // namespace they had before this kustomization set one (none, for the base).
  for (const patch of (k.patches ?? []) as Json[]) applyPatch(patch, objects, dir, rel(file));
  const namespace = typeof k.namespace === 'string' ? k.namespace : undefined;
  if (namespace) {
    for (const object of objects) {
      // kustomize renames Namespace objects too: whatever an overlay lists is its own namespace.
      if (object.kind === 'Namespace') object.metadata.name = namespace;
      else if (!CLUSTER_SCOPED.has(object.kind)) object.metadata.namespace = namespace;
    }
    const ids = objects.map((o) => `${o.apiVersion}/${objectId(o)}`);
    const clash = ids.find((id, i) => ids.indexOf(id) !== i);
    if (clash) throw new Error(`${rel(file)}: namespace ${namespace} makes two objects ${clash}`);
  }
  for (const image of (k.images ?? []) as Json[]) setImage(image, objects, rel(file));
  return { dir: rel(dir), namespace, objects, origin };
}

function applyPatch(entry: Json, objects: K8sObject[], dir: string, file: string): void {
  if (!isObject(entry)) throw new Error(`${file}: a patch must be a mapping`);
  const source = typeof entry.path === 'string' ? join(dir, entry.path) : file;
  const docs = typeof entry.path === 'string' ? readYamlDocuments(source) : parseYamlDocuments(String(entry.patch ?? ''), file);
  if (docs.length !== 1) throw new Error(`${file}: patch ${String(entry.path ?? '')} must hold exactly one document`);
  const body = docs[0]!;
  const target = isObject(entry.target) ? entry.target : undefined;
  if (target && Object.keys(target).some((key) => !['kind', 'name', 'namespace'].includes(key))) {
    throw new Error(`${file}: patch targets may only select by kind, name and namespace here`);
  }
  const selector =
    target ?? (isObject(body) && isObject(body.metadata) ? { kind: body.kind, name: body.metadata.name, namespace: body.metadata.namespace } : undefined);
  if (!selector) throw new Error(`${file}: a JSON 6902 patch needs a target`);
  const matches = objects.filter(
    (o) =>
      (selector.kind == null || o.kind === selector.kind) &&
      (selector.name == null || o.metadata.name === selector.name) &&
      (selector.namespace == null || o.metadata.namespace === selector.namespace),
  );
  if (matches.length === 0) throw new Error(`${file}: patch ${String(entry.path ?? JSON.stringify(target))} matches no object`);
  if (!target && matches.length > 1) throw new Error(`${file}: patch ${String(entry.path)} matches more than one object`);
  // A strategic merge patch whose top level is `$patch: delete` removes the objects it selects.
  if (isDeletePatch(body)) {
    for (const object of matches) objects.splice(objects.indexOf(object), 1);
    return;
  }
  for (const object of matches) {
    if (Array.isArray(body)) jsonPatch(object, body);
    else if (isObject(body)) {
      // The patch's name and namespace select the object; they are not changes to it.
      const { metadata, ...rest } = body;
      const { name: _name, namespace: _namespace, ...metaChanges } = isObject(metadata) ? metadata : {};
      strategicMerge(object, { ...rest, metadata: metaChanges });
    } else throw new Error(`${file}: a patch must be a mapping or a list of operations`);
  }
}

/** Splits `registry/name:tag@digest` into name and the rest. */
function splitImage(image: string): { name: string; tag?: string; digest?: string } {
  const [withTag, digest] = image.split('@') as [string, string | undefined];
  const slash = withTag.lastIndexOf('/');
  const colon = withTag.lastIndexOf(':');
  return colon > slash ? { name: withTag.slice(0, colon), tag: withTag.slice(colon + 1), digest } : { name: withTag, digest };
}

/** The containers (and init containers) of any object that has a pod template. */
export function podSpecOf(object: K8sObject): JsonObject | undefined {
  const spec = object.spec;
  if (!isObject(spec)) return undefined;
  if (object.kind === 'Pod') return spec;
  const template = object.kind === 'CronJob' && isObject(spec.jobTemplate) && isObject(spec.jobTemplate.spec) ? spec.jobTemplate.spec.template : spec.template;
  return isObject(template) && isObject(template.spec) ? template.spec : undefined;
}

export function containersOf(object: K8sObject): JsonObject[] {
  const pod = podSpecOf(object);
  if (!pod) return [];
  return [...((pod.initContainers ?? []) as Json[]), ...((pod.containers ?? []) as Json[])].filter(isObject);
}

function setImage(entry: Json, objects: K8sObject[], file: string): void {
  if (!isObject(entry) || typeof entry.name !== 'string') throw new Error(`${file}: images entries need a name`);
  const unknown = Object.keys(entry).filter((key) => !['name', 'newName', 'newTag', 'digest'].includes(key));
  if (unknown.length) throw new Error(`${file}: images: ${unknown.join(', ')} not supported by the offline renderer`);
  for (const container of objects.flatMap(containersOf)) {
    if (typeof container.image !== 'string') continue;
    const image = splitImage(container.image);
    if (image.name !== entry.name) continue;
    const name = typeof entry.newName === 'string' ? entry.newName : image.name;
    const digest = typeof entry.digest === 'string' ? entry.digest : undefined;
    const tag = entry.newTag != null ? String(entry.newTag) : image.tag;
    container.image = digest ? `${name}@${digest}` : tag ? `${name}:${tag}` : image.digest ? `${name}@${image.digest}` : name;
  }
}

/** The kustomization directories under k8s/ that are meant to be applied: the base and each overlay. */
export function kustomizationDirs(k8sDir: string): string[] {
  const overlays = join(k8sDir, 'overlays');
  const dirs = [join(k8sDir, 'base')];
  if (existsSync(overlays)) {
    for (const name of readdirSync(overlays).sort()) dirs.push(join(overlays, name));
  }
  return dirs.filter((dir) => kustomizationFile(dir)).map((dir) => resolve(dir));
}
