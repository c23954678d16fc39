import { isK8sObject } from './kustomize';
import { isObject, type Json } from './yaml';

/**
 * Compares two renderings of a kustomization: the offline renderer's (kustomize.ts) and the real
 * kustomize's (`kubectl kustomize`). Both are compared as parsed YAML values, so what is only
 * formatting disappears: document order, key order, quoting style, flow or block style, block
 * scalars. Everything else is a difference, including a type: `"8080"` (a string) is not `8080`.
 */

export interface RenderDifference {
  /** `apiVersion Kind namespace/name` (no namespace: `apiVersion Kind name`). */
  object: string;
  /** Where in the object, e.g. `spec.template.spec.containers[name=web].image`; '' for the whole object. */
  path: string;
  message: string;
}

/** The two sides' names in messages. */
export interface Sides {
  ours: string;
  theirs: string;
}

const DEFAULT_SIDES: Sides = { ours: 'offline', theirs: 'kubectl' };

function objectKey(doc: Json): string | undefined {
  if (!isK8sObject(doc)) return undefined;
  const namespace = typeof doc.metadata.namespace === 'string' ? `${doc.metadata.namespace}/` : '';
  return `${doc.apiVersion} ${doc.kind} ${namespace}${doc.metadata.name}`;
}

function show(value: Json): string {
  const text = JSON.stringify(value);
  return text.length > 120 ? `${text.slice(0, 117)}...` : text;
}

function keyPath(path: string, key: string): string {
  if (/^[A-Za-z_$][\w$-]*$/.test(key)) return path ? `${path}.${key}` : key;
  return `${path}[${JSON.stringify(key)}]`;
}

/** The names of a list whose items are all mappings with a distinct string `name` (containers, env, volumes...). */
function names(items: Json[]): string[] | undefined {
  if (items.length === 0) return undefined;
  const found = items.map((item) => (isObject(item) && typeof item.name === 'string' ? item.name : undefined));
  if (found.some((name) => name === undefined) || new Set(found).size !== found.length) return undefined;
  return found as string[];
}

function diffValues(ours: Json, theirs: Json, path: string, report: (path: string, message: string) => void, sides: Sides): void {
  if (isObject(ours) && isObject(theirs)) {
    for (const key of [...new Set([...Object.keys(ours), ...Object.keys(theirs)])].sort()) {
      const at = keyPath(path, key);
      if (!(key in theirs)) report(at, `only ${sides.ours}: ${show(ours[key]!)}`);
      else if (!(key in ours)) report(at, `only ${sides.theirs}: ${show(theirs[key]!)}`);
      else diffValues(ours[key]!, theirs[key]!, at, report, sides);
    }
    return;
  }
  if (Array.isArray(ours) && Array.isArray(theirs)) {
    const ourNames = names(ours);
    const theirNames = names(theirs);
    if (ourNames && theirNames) {
      // Items matched by name, so one inserted item reads as one difference, not a shifted list.
      for (const name of [...new Set([...ourNames, ...theirNames])]) {
        const at = `${path}[name=${name}]`;
        const i = ourNames.indexOf(name);
        const j = theirNames.indexOf(name);
        if (j < 0) report(at, `only ${sides.ours}: ${show(ours[i]!)}`);
        else if (i < 0) report(at, `only ${sides.theirs}: ${show(theirs[j]!)}`);
        else diffValues(ours[i]!, theirs[j]!, at, report, sides);
      }
      const common = (list: string[], other: string[]) => list.filter((name) => other.includes(name));
      const ourOrder = common(ourNames, theirNames);
      const theirOrder = common(theirNames, ourNames);
      if (ourOrder.join('\n') !== theirOrder.join('\n')) report(path, `order: ${sides.ours} ${ourOrder.join(', ')}; ${sides.theirs} ${theirOrder.join(', ')}`);
      return;
    }
    for (let i = 0; i < Math.max(ours.length, theirs.length); i++) {
      const at = `${path}[${i}]`;
      if (i >= theirs.length) report(at, `only ${sides.ours}: ${show(ours[i]!)}`);
      else if (i >= ours.length) report(at, `only ${sides.theirs}: ${show(theirs[i]!)}`);
      else diffValues(ours[i]!, theirs[i]!, at, report, sides);
    }
    return;
  }
  if (ours !== theirs) report(path, `${sides.ours} ${show(ours)}, ${sides.theirs} ${show(theirs)}`);
}

function index(docs: Json[], side: string, differences: RenderDifference[]): Map<string, Json> {
  const byKey = new Map<string, Json>();
  docs.forEach((doc, i) => {
    const key = objectKey(doc);
    if (!key) differences.push({ object: `${side} document ${i + 1}`, path: '', message: 'not a Kubernetes object (apiVersion, kind and metadata.name)' });
    else if (byKey.has(key)) differences.push({ object: key, path: '', message: `twice in ${side}` });
    else byKey.set(key, doc);
  });
  return byKey;
}

/** Every difference between two renderings, objects matched by apiVersion, kind, namespace and name. */
export function diffRenderings(ours: Json[], theirs: Json[], sides: Sides = DEFAULT_SIDES): RenderDifference[] {
  const differences: RenderDifference[] = [];
  const left = index(ours, sides.ours, differences);
  const right = index(theirs, sides.theirs, differences);
  for (const key of [...new Set([...left.keys(), ...right.keys()])].sort()) {
    const report = (path: string, message: string) => differences.push({ object: key, path, message });
    if (!right.has(key)) report('', `only ${sides.ours}`);
    else if (!left.has(key)) report('', `only ${sides.theirs}`);
    else diffValues(left.get(key)!, right.get(key)!, '', report, sides);
  }
  return differences;
}

/** One block per object, one line per path. */
export function formatRenderDifferences(differences: RenderDifference[]): string {
  const lines: string[] = [];
  let current: string | undefined;
  for (const { object, path, message } of differences) {
    if (!path) {
      lines.push(`${object}: ${message}`);
      current = undefined;
      continue;
    }
    if (object !== current) lines.push(object);
    current = object;
    lines.push(`  ${path}: ${message}`);
  }
  return lines.join('\n');
}
