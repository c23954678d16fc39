import { objectId, podSpecOf, type K8sObject, type Rendered } from './kustomize';
import { isObject, type Json, type JsonObject } from './yaml';

/** A rendered kustomization plus the lookups every check needs. */
export interface Cluster {
  rendered: Rendered;
  /** How problems name an object: `k8s/overlays/dev Deployment/orderflow-dev/order (k8s/base/order.yaml)`. */
  where(object: K8sObject): string;
  find(kind: string, name: string, namespace: string | undefined): K8sObject | undefined;
  /** Deployments, StatefulSets, DaemonSets and Jobs: everything with a pod template. */
  workloads: K8sObject[];
}

export function cluster(rendered: Rendered): Cluster {
  const where = (o: K8sObject) => `${rendered.dir} ${objectId(o)} (${rendered.origin.get(o) ?? '?'})`;
  const find = (kind: string, name: string, namespace: string | undefined) =>
    rendered.objects.find((o) => o.kind === kind && o.metadata.name === name && o.metadata.namespace === namespace);
  const workloads = rendered.objects.filter((o) => ['Deployment', 'StatefulSet', 'DaemonSet', 'Job'].includes(o.kind));
  return { rendered, where, find, workloads };
}

export function templateLabels(object: K8sObject): Record<string, string> {
  const spec = isObject(object.spec) ? object.spec : {};
  const template = isObject(spec.template) ? spec.template : {};
  const metadata = isObject(template.metadata) ? template.metadata : {};
  return (isObject(metadata.labels) ? metadata.labels : {}) as Record<string, string>;
}

/** Whether a label selector (`matchLabels` and simple `matchExpressions`) selects these labels. */
export function selects(selector: Json | undefined, labels: Record<string, string>): boolean {
  if (!isObject(selector)) return false;
  const matchLabels = isObject(selector.matchLabels) ? selector.matchLabels : {};
  const expressions = Array.isArray(selector.matchExpressions) ? selector.matchExpressions.filter(isObject) : [];
  return (
    Object.entries(matchLabels).every(([key, value]) => labels[key] === value) &&
    expressions.every((e) => {
      const values = (Array.isArray(e.values) ? e.values : []).map(String);
      const key = String(e.key);
      if (e.operator === 'In') return values.includes(labels[key] ?? '\0');
      if (e.operator === 'NotIn') return !values.includes(labels[key] ?? '\0');
      if (e.operator === 'Exists') return key in labels;
      return !(key in labels);
    })
  );
}

/** A Service's `selector` is a plain map; turn it into a label selector. */
export function mapSelector(map: Json | undefined): JsonObject | undefined {
  return isObject(map) && Object.keys(map).length ? { matchLabels: map } : undefined;
}

export function containerPorts(object: K8sObject): JsonObject[] {
  const pod = podSpecOf(object);
  return ((pod?.containers ?? []) as Json[]).filter(isObject).flatMap((c) => ((c.ports ?? []) as Json[]).filter(isObject));
}

/** The container port a Service's targetPort (or a probe's port) names: by name or by number. */
export function resolvePort(object: K8sObject, port: Json | undefined): number | undefined {
  const ports = containerPorts(object);
  const match = typeof port === 'string' ? ports.find((p) => p.name === port) : ports.find((p) => p.containerPort === port);
  return typeof match?.containerPort === 'number' ? match.containerPort : undefined;
}

/** A Kubernetes quantity as a number (cpu in cores, memory in bytes). */
export function quantity(value: Json | undefined): number | undefined {
  if (typeof value === 'number') return value;
  if (typeof value !== 'string') return undefined;
  const match = /^([0-9.]+)(m|k|M|G|T|Ki|Mi|Gi|Ti)?$/.exec(value);
  if (!match) return undefined;
  const factor: Record<string, number> = { m: 1e-3, k: 1e3, M: 1e6, G: 1e9, T: 1e12, Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40 };
  return Number(match[1]) * (match[2] ? factor[match[2]]! : 1);
}

/**
 * What scales a workload: its HorizontalPodAutoscalers and KEDA ScaledObjects (KEDA creates and owns
 * an HPA for each), with their replica bounds and KEDA's defaults (0 and 100).
 */
export interface Autoscaler {
  object: K8sObject;
  min: number;
  max: number;
}

export function autoscalersOf(c: Cluster, workload: K8sObject): Autoscaler[] {
  return c.rendered.objects.flatMap((o) => {
    const spec = isObject(o.spec) ? o.spec : {};
    const ref = isObject(spec.scaleTargetRef) ? spec.scaleTargetRef : {};
    if (o.metadata.namespace !== workload.metadata.namespace || ref.name !== workload.metadata.name) return [];
    if (o.kind === 'HorizontalPodAutoscaler' && ref.kind === workload.kind)
      return [{ object: o, min: Number(spec.minReplicas ?? 1), max: Number(spec.maxReplicas) }];
    if (o.kind === 'ScaledObject' && (ref.kind ?? 'Deployment') === workload.kind)
      return [{ object: o, min: Number(spec.minReplicaCount ?? 0), max: Number(spec.maxReplicaCount ?? 100) }];
    return [];
  });
}
