import { APP_NAMES } from './apps';
import { resolvePort, selects, templateLabels, type Cluster } from './k8s-model';
import type { K8sObject } from './kustomize';
import { Problems } from './problems';
import { isObject, type Json, type JsonObject } from './yaml';

/**
 * NetworkPolicy: ingress is denied by default; only the orchestrator is reachable from outside the
 * namespace; order and inventory gRPC only from the orchestrator; other namespaces (monitoring) reach
 * an app's ops port only. And the traffic the system needs is still allowed.
 */

interface Rule {
  policy: K8sObject;
  /** `anywhere`: no `from`, an ipBlock or any namespace; else the pod selectors of this namespace. */
  sources: 'anywhere' | 'namespaces' | JsonObject[];
  /** undefined: every port. */
  ports?: Json[];
}

const APP_LABEL = 'app.kubernetes.io/name';

function rulesFor(c: Cluster, pod: K8sObject): Rule[] {
  const policies = c.rendered.objects.filter((o) => o.kind === 'NetworkPolicy' && o.metadata.namespace === pod.metadata.namespace);
  return policies.flatMap((policy) => {
    const spec = isObject(policy.spec) ? policy.spec : {};
    if (!selects(spec.podSelector, templateLabels(pod))) return [];
    return ((spec.ingress ?? []) as Json[]).filter(isObject).map((rule): Rule => {
      const from = ((rule.from ?? []) as Json[]).filter(isObject);
      const ports = Array.isArray(rule.ports) && rule.ports.length ? rule.ports.filter(isObject).map((p) => p.port ?? null) : undefined;
      if (from.length === 0 || from.some((peer) => isObject(peer.ipBlock))) return { policy, sources: 'anywhere', ports };
      if (from.some((peer) => isObject(peer.namespaceSelector))) return { policy, sources: 'namespaces', ports };
      return { policy, sources: from.map((peer) => (isObject(peer.podSelector) ? peer.podSelector : {})), ports };
    });
  });
}

function covers(rule: Rule, pod: K8sObject, port: number | undefined): boolean {
  return port !== undefined && (rule.ports === undefined || rule.ports.some((p) => resolvePort(pod, p) === port));
}

export function checkNetworkPolicies(c: Cluster, problems: Problems): void {
  const policies = c.rendered.objects.filter((o) => o.kind === 'NetworkPolicy');
  const denyAll = policies.some((p) => {
    const spec = isObject(p.spec) ? p.spec : {};
    return isObject(spec.podSelector) && Object.keys(spec.podSelector).length === 0 && Array.isArray(spec.policyTypes) && spec.policyTypes.includes('Ingress') && !spec.ingress;
  });
  if (!problems.check(denyAll, c.rendered.dir, 'no default-deny ingress NetworkPolicy (podSelector: {}, policyTypes: [Ingress])')) return;

  const apps = c.workloads.filter((w) => w.kind === 'Deployment' && APP_NAMES.includes(templateLabels(w)[APP_LABEL] as never));
  const orchestrator = apps.find((w) => templateLabels(w)[APP_LABEL] === 'orchestrator');
  const onlyOrchestrator = (selector: JsonObject) =>
    orchestrator !== undefined && selects(selector, templateLabels(orchestrator)) && c.workloads.every((w) => w === orchestrator || w.metadata.namespace !== orchestrator.metadata.namespace || !selects(selector, templateLabels(w)));

  for (const pod of apps) {
    const app = templateLabels(pod)[APP_LABEL];
    const rules = rulesFor(c, pod);
    const http = resolvePort(pod, 'http');
    const grpc = resolvePort(pod, 'grpc');
    for (const rule of rules) {
      const where = c.where(rule.policy);
      if (app === 'orchestrator') continue;
      problems.check(rule.sources !== 'anywhere', where, `lets anyone reach ${app}; only the orchestrator may be reachable from outside`);
      if (rule.sources === 'namespaces') {
        problems.check(rule.ports !== undefined && rule.ports.every((p) => resolvePort(pod, p) === http), where, `lets other namespaces reach ${app} beyond its ops port (${http ?? 'http'})`);
      }
      if (Array.isArray(rule.sources) && covers(rule, pod, grpc)) {
        problems.check(rule.sources.every(onlyOrchestrator), where, `lets pods other than the orchestrator reach ${app} gRPC`);
      }
    }
    if (app === 'orchestrator') {
      problems.check(rules.some((r) => r.sources === 'anywhere' && covers(r, pod, http)), c.where(pod), 'no NetworkPolicy lets clients reach the orchestrator API');
    }
    if (grpc !== undefined) {
      problems.check(rules.some((r) => Array.isArray(r.sources) && covers(r, pod, grpc) && r.sources.some(onlyOrchestrator)), c.where(pod), `no NetworkPolicy lets the orchestrator reach ${app} gRPC`);
    }
  }
}
