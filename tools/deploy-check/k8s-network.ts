import { APP_NAMES, appPort, opsPort, type AppName } from './apps';
import { resolvePort, selects, templateLabels, type Cluster } from './k8s-model';
import type { K8sObject } from './kustomize';
import { Problems } from './problems';
import { isObject, type Json, type JsonObject } from './yaml';

/**
 * NetworkPolicy: ingress is denied by default; only the orchestrator's API port is reachable from
 * anywhere; order and inventory gRPC only from the orchestrator; every app's ops port (the
 * orchestrator's OPS_PORT, the others' HTTP_PORT: /metrics, /status) only from one other namespace,
 * the monitoring one. And the traffic the system needs is still allowed.
 */

interface Rule {
  policy: K8sObject;
  /** `anywhere`: no `from` or an ipBlock; `namespaces`: a peer selects namespaces; else the pod selectors of this namespace. */
  sources: 'anywhere' | 'namespaces' | JsonObject[];
  /** The rule's `from` peers. */
  peers: JsonObject[];
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
      const peers = ((rule.from ?? []) as Json[]).filter(isObject);
      const ports = Array.isArray(rule.ports) && rule.ports.length ? rule.ports.filter(isObject).map((p) => p.port ?? null) : undefined;
      if (peers.length === 0 || peers.some((peer) => isObject(peer.ipBlock))) return { policy, sources: 'anywhere', peers, ports };
      if (peers.some((peer) => isObject(peer.namespaceSelector))) return { policy, sources: 'namespaces', peers, ports };
      return { policy, sources: peers.map((peer) => (isObject(peer.podSelector) ? peer.podSelector : {})), peers, ports };
    });
  });
}

/** Whether a peer selects exactly one namespace, by name (namespaceSelector on kubernetes.io/metadata.name). */
function namesOneNamespace(peer: JsonObject): boolean {
  const selector = isObject(peer.namespaceSelector) ? peer.namespaceSelector : {};
  const labels = isObject(selector.matchLabels) ? selector.matchLabels : {};
  return typeof labels['kubernetes.io/metadata.name'] === 'string' && !Array.isArray(selector.matchExpressions);
}

function covers(rule: Rule, pod: K8sObject, port: number | undefined): boolean {
  return port !== undefined && (rule.ports === undefined || rule.ports.some((p) => resolvePort(pod, p) === port));
}

export function checkNetworkPolicies(c: Cluster, problems: Problems): void {
  const policies = c.rendered.objects.filter((o) => o.kind === 'NetworkPolicy');
  const denyAll = policies.some((p) => {
    const spec = isObject(p.spec) ? p.spec : {};
    return (
      isObject(spec.podSelector) &&
      Object.keys(spec.podSelector).length === 0 &&
      Array.isArray(spec.policyTypes) &&
      spec.policyTypes.includes('Ingress') &&
      !spec.ingress
    );
  });
  if (!problems.check(denyAll, c.rendered.dir, 'no default-deny ingress NetworkPolicy (podSelector: {}, policyTypes: [Ingress])')) return;

  const apps = c.workloads.filter((w) => w.kind === 'Deployment' && APP_NAMES.includes(templateLabels(w)[APP_LABEL] as never));
  const orchestrator = apps.find((w) => templateLabels(w)[APP_LABEL] === 'orchestrator');
  const onlyOrchestrator = (selector: JsonObject) =>
    orchestrator !== undefined &&
    selects(selector, templateLabels(orchestrator)) &&
    c.workloads.every((w) => w === orchestrator || w.metadata.namespace !== orchestrator.metadata.namespace || !selects(selector, templateLabels(w)));

  for (const pod of apps) {
    const app = templateLabels(pod)[APP_LABEL] as AppName;
    const rules = rulesFor(c, pod);
    const portOf = (role: 'api' | 'grpc' | 'ops') => (appPort(app, role) ? resolvePort(pod, appPort(app, role)!.name) : undefined);
    const [ops, api, grpc] = [portOf('ops'), portOf('api'), portOf('grpc')];
    const apiName = appPort(app, 'api')?.name;
    const only = (rule: Rule, allowed: (number | undefined)[]) =>
      rule.ports !== undefined && rule.ports.every((p) => allowed.includes(resolvePort(pod, p)) && resolvePort(pod, p) !== undefined);
    for (const rule of rules) {
      const where = c.where(rule.policy);
      if (rule.sources === 'anywhere') {
        if (!apiName) problems.add(where, `lets anyone reach ${app}; only the orchestrator may be reachable from outside`);
        else problems.check(only(rule, [api, ops]), where, `lets anyone reach ${app} beyond its API port (${api})`);
      }
      if (rule.sources === 'namespaces') {
        problems.check(only(rule, [ops, api]), where, `lets other namespaces reach ${app} beyond its ops port (${ops ?? opsPort(app).name})`);
      }
      if (covers(rule, pod, ops)) checkOpsRule(problems, where, app, ops!, rule);
      if (Array.isArray(rule.sources) && covers(rule, pod, grpc)) {
        problems.check(rule.sources.every(onlyOrchestrator), where, `lets pods other than the orchestrator reach ${app} gRPC`);
      }
    }
    if (apiName) {
      problems.check(
        rules.some((r) => r.sources === 'anywhere' && covers(r, pod, api)),
        c.where(pod),
        `no NetworkPolicy lets clients reach the ${app} API`,
      );
    }
    if (grpc !== undefined) {
      problems.check(
        rules.some((r) => Array.isArray(r.sources) && covers(r, pod, grpc) && r.sources.some(onlyOrchestrator)),
        c.where(pod),
        `no NetworkPolicy lets the orchestrator reach ${app} gRPC`,
      );
    }
    problems.check(
      rules.some((r) => r.sources === 'namespaces' && covers(r, pod, ops)),
      c.where(pod),
      `no NetworkPolicy lets the monitoring namespace reach ${app}'s ops port (${ops ?? opsPort(app).name}): Prometheus scrapes /metrics there`,
    );
  }
}

/** The ops port (/metrics, /status) answers the monitoring namespace only: one namespace, named. */
function checkOpsRule(problems: Problems, where: string, app: AppName, ops: number, rule: Rule): void {
  const message = `${app}'s ops port ${ops} (/metrics, /status); only the monitoring namespace may`;
  if (rule.sources === 'anywhere') problems.add(where, `lets anyone reach ${message}`);
  else if (Array.isArray(rule.sources)) problems.add(where, `lets pods of its own namespace reach ${message}`);
  else {
    for (const peer of rule.peers.filter((p) => !namesOneNamespace(p))) {
      if (!isObject(peer.namespaceSelector)) problems.add(where, `lets pods of its own namespace reach ${message}`);
      else
        problems.add(
          where,
          `lets every namespace matching ${JSON.stringify(peer.namespaceSelector)} reach ${message} (select it by kubernetes.io/metadata.name)`,
        );
    }
  }
}
