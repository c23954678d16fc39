import { isObject, type Json, type JsonObject } from './yaml';

// Lists that a strategic merge patch merges item by item (by this key) instead of replacing; the
// subset of Kubernetes' patchMergeKey annotations that pod specs and Services use.
const MERGE_KEYS: Record<string, string[]> = {
  containers: ['name'],
  initContainers: ['name'],
  env: ['name'],
  volumes: ['name'],
  volumeMounts: ['mountPath'],
  imagePullSecrets: ['name'],
  ports: ['containerPort', 'port'],
};

function mergeKey(field: string, items: Json[]): string | undefined {
  return MERGE_KEYS[field]?.find((key) => items.some((item) => isObject(item) && key in item));
}

/**
 * Whether a strategic merge patch deletes the object it selects (`$patch: delete` at its top level).
 * Any other `$patch` directive is refused: strategicMerge throws on it.
 */
export function isDeletePatch(patch: Json): boolean {
  if (!isObject(patch) || !('$patch' in patch)) return false;
  if (patch.$patch !== 'delete')
    throw new Error(`$patch: ${JSON.stringify(patch.$patch)} is not supported by the offline renderer (only a top-level $patch: delete)`);
  return true;
}

/** Applies a strategic merge patch to `target` in place (maps merge, `null` deletes, keyed lists merge). */
export function strategicMerge(target: JsonObject, patch: JsonObject): void {
  for (const [field, value] of Object.entries(patch)) {
    if (field === '$patch') throw new Error('$patch directives are not supported by the offline renderer, except a top-level $patch: delete');
    const current = target[field];
    if (value === null) delete target[field];
    else if (isObject(value) && isObject(current)) strategicMerge(current, value);
    else if (Array.isArray(value) && Array.isArray(current) && mergeKey(field, [...value, ...current])) {
      const key = mergeKey(field, [...value, ...current])!;
      for (const item of value) {
        const existing = isObject(item) ? current.find((c) => isObject(c) && c[key] === item[key]) : undefined;
        if (isObject(existing) && isObject(item)) strategicMerge(existing, item);
        else current.push(structuredClone(item));
      }
    } else target[field] = structuredClone(value);
  }
}

function unescape(token: string): string {
  return token.replace(/~1/g, '/').replace(/~0/g, '~');
}

/** Applies RFC 6902 `add`, `replace` and `remove` operations to `target` in place. */
export function jsonPatch(target: JsonObject, operations: Json[]): void {
  for (const operation of operations) {
    if (!isObject(operation) || typeof operation.path !== 'string' || !operation.path.startsWith('/')) {
      throw new Error(`invalid JSON patch operation ${JSON.stringify(operation)}`);
    }
    const { op, path, value } = operation;
    if (op !== 'add' && op !== 'replace' && op !== 'remove') throw new Error(`JSON patch op "${String(op)}" is not supported by the offline renderer`);
    const tokens = path.slice(1).split('/').map(unescape);
    const last = tokens.pop()!;
    let parent: Json = target;
    for (const token of tokens) {
      const next: Json | undefined = Array.isArray(parent) ? parent[Number(token)] : isObject(parent) ? parent[token] : undefined;
      if (next === undefined) throw new Error(`JSON patch path ${path} does not exist`);
      parent = next;
    }
    if (Array.isArray(parent)) {
      const index = last === '-' ? parent.length : Number(last);
      if (!Number.isInteger(index) || index < 0 || index > parent.length) throw new Error(`JSON patch path ${path} does not exist`);
      if (op !== 'add' && index >= parent.length) throw new Error(`JSON patch path ${path} does not exist`);
      if (op === 'remove') parent.splice(index, 1);
      else parent.splice(index, op === 'replace' ? 1 : 0, structuredClone(value ?? null));
    } else if (isObject(parent)) {
      if (op !== 'add' && !(last in parent)) throw new Error(`JSON patch path ${path} does not exist`);
      if (op === 'remove') delete parent[last];
      else parent[last] = structuredClone(value ?? null);
    } else {
      throw new Error(`JSON patch path ${path} does not exist`);
    }
  }
}
