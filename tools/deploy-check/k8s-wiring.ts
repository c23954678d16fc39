import { APP_NAMES, appPort, opsPort, type AppName } from './apps';
import { autoscalersOf, mapSelector, quantity, resolvePort, selects, templateLabels, type Cluster } from './k8s-model';
import { containersOf, objectId, podSpecOf, type K8sObject } from './kustomize';
import { Problems } from './problems';
import { isObject, type Json, type JsonObject } from './yaml';

const APP_LABEL = 'app.kubernetes.io/name';

function specOf(object: K8sObject): JsonObject {
  return isObject(object.spec) ? object.spec : {};
}

function appOf(workload: K8sObject): AppName | undefined {
  const name = templateLabels(workload)[APP_LABEL];
  return APP_NAMES.find((app) => app === name && workload.kind === 'Deployment');
}

/** How the objects of a rendering refer to each other: every reference resolves and means what it says. */
export function checkWiring(c: Cluster, problems: Problems): void {
  const ns = (o: K8sObject) => o.metadata.namespace;
  const podsOf = (o: K8sObject, selector: Json | undefined) => c.workloads.filter((w) => ns(w) === ns(o) && selects(selector, templateLabels(w)));

  for (const object of c.rendered.objects) {
    const where = c.where(object);
    const spec = specOf(object);
    if (object.kind === 'Namespace')
      problems.check(
        object.metadata.name === c.rendered.namespace,
        where,
        `the Namespace is not the kustomization's namespace ${c.rendered.namespace ?? '(none)'}`,
      );
    if (object.kind === 'Service' && spec.type !== 'ExternalName') {
      const pods = podsOf(object, mapSelector(spec.selector));
      if (!problems.check(pods.length > 0, where, `selector ${JSON.stringify(spec.selector)} selects no pods`)) continue;
      for (const port of ((spec.ports ?? []) as Json[]).filter(isObject)) {
        const target = port.targetPort ?? port.port;
        for (const pod of pods)
          problems.check(
            resolvePort(pod, target) !== undefined,
            where,
            `port ${String(port.name ?? port.port)}: targetPort ${String(target)} is not a container port of ${pod.kind}/${pod.metadata.name}`,
          );
      }
    }
    if (object.kind === 'HorizontalPodAutoscaler') {
      const ref = isObject(spec.scaleTargetRef) ? spec.scaleTargetRef : {};
      const target = c.find(String(ref.kind), String(ref.name), ns(object));
      if (!problems.check(target !== undefined, where, `scaleTargetRef ${String(ref.kind)}/${String(ref.name)} does not exist`)) continue;
      problems.check(
        specOf(target!).replicas === undefined,
        where,
        `${target!.metadata.name} sets spec.replicas, which every apply would reset under the autoscaler`,
      );
      problems.check(Number(spec.minReplicas ?? 1) <= Number(spec.maxReplicas), where, 'minReplicas is above maxReplicas');
      const cpuScaled = ((spec.metrics ?? []) as Json[]).some((m) => isObject(m) && isObject(m.resource) && m.resource.name === 'cpu');
      const requested = containersOf(target!).every(
        (ct) => isObject(ct.resources) && isObject(ct.resources.requests) && quantity(ct.resources.requests.cpu) !== undefined,
      );
      problems.check(!cpuScaled || requested, where, 'scales on CPU utilization, but its target has containers without a cpu request');
    }
    if (object.kind === 'ScaledObject') {
      const ref = isObject(spec.scaleTargetRef) ? spec.scaleTargetRef : {};
      const target = c.find(String(ref.kind ?? 'Deployment'), String(ref.name), ns(object));
      if (!problems.check(target !== undefined, where, `scaleTargetRef ${String(ref.kind ?? 'Deployment')}/${String(ref.name)} does not exist`)) continue;
      problems.check(
        specOf(target!).replicas === undefined,
        where,
        `${target!.metadata.name} sets spec.replicas, which every apply would reset under the autoscaler`,
      );
      problems.check(Number(spec.minReplicaCount ?? 0) <= Number(spec.maxReplicaCount ?? 100), where, 'minReplicaCount is above maxReplicaCount');
      const triggers = ((spec.triggers ?? []) as Json[]).filter(isObject);
      const requested = containersOf(target!).every(
        (ct) => isObject(ct.resources) && isObject(ct.resources.requests) && quantity(ct.resources.requests.cpu) !== undefined,
      );
      problems.check(
        !triggers.some((t) => t.type === 'cpu') || requested,
        where,
        'scales on CPU utilization, but its target has containers without a cpu request',
      );
      for (const trigger of triggers) {
        const auth = isObject(trigger.authenticationRef) ? trigger.authenticationRef : undefined;
        if (auth && auth.kind !== 'ClusterTriggerAuthentication')
          problems.check(
            c.find('TriggerAuthentication', String(auth.name), ns(object)) !== undefined,
            where,
            `trigger ${String(trigger.type)}: TriggerAuthentication ${String(auth.name)} does not exist`,
          );
      }
    }
    if (object.kind === 'PodDisruptionBudget') {
      const pods = podsOf(object, spec.selector);
      if (!problems.check(pods.length === 1, where, `selects ${pods.length} workloads; expected exactly one`)) continue;
      const autoscaler = autoscalersOf(c, pods[0]!)[0];
      const floor = autoscaler ? autoscaler.min : Number(specOf(pods[0]!).replicas ?? 1);
      problems.check(
        typeof spec.minAvailable !== 'number' || spec.minAvailable < floor,
        where,
        `minAvailable ${String(spec.minAvailable)} with ${floor} replica(s) would block every node drain`,
      );
    }
    const pod = podSpecOf(object);
    if (pod && typeof pod.serviceAccountName === 'string' && pod.serviceAccountName !== 'default') {
      problems.check(
        c.find('ServiceAccount', pod.serviceAccountName, ns(object)) !== undefined,
        where,
        `serviceAccountName ${pod.serviceAccountName} does not exist`,
      );
    }
  }

  for (const deployment of c.workloads.filter((w) => appOf(w))) {
    const app = appOf(deployment)!;
    const where = c.where(deployment);
    const has = (kind: string, test: (o: K8sObject) => boolean) => c.rendered.objects.some((o) => o.kind === kind && ns(o) === ns(deployment) && test(o));
    // One autoscaler each: a CPU HPA, or a KEDA ScaledObject (whose own HPA a second one would fight).
    const autoscalers = autoscalersOf(c, deployment);
    problems.check(autoscalers.length > 0, where, 'has no HorizontalPodAutoscaler (or KEDA ScaledObject)');
    problems.check(autoscalers.length < 2, where, `has more than one autoscaler: ${autoscalers.map((a) => objectId(a.object)).join(', ')}`);
    problems.check(
      has('PodDisruptionBudget', (o) => selects(specOf(o).selector, templateLabels(deployment))),
      where,
      'has no PodDisruptionBudget',
    );
    const services = c.rendered.objects.filter(
      (o) => o.kind === 'Service' && ns(o) === ns(deployment) && selects(mapSelector(specOf(o).selector), templateLabels(deployment)),
    );
    if (app === 'order' || app === 'inventory') {
      const grpc = resolvePort(deployment, 'grpc');
      const headless = services.filter((s) => specOf(s).clusterIP === 'None');
      problems.check(
        grpc !== undefined && headless.some((s) => portsOf(s).some((p) => resolvePort(deployment, p.targetPort ?? p.port) === grpc)),
        where,
        'its gRPC port needs a headless Service (clients balance with round_robin over pod IPs)',
      );
    }
    const api = appPort(app, 'api');
    if (api) {
      const apiPort = resolvePort(deployment, api.name);
      const ops = resolvePort(deployment, opsPort(app).name);
      const publicServices = services.filter((s) => portsOf(s).some((p) => resolvePort(deployment, p.targetPort ?? p.port) === apiPort));
      problems.check(publicServices.length > 0, where, 'the public API needs a Service');
      // /metrics and /status stay off the network the API is published on; Prometheus scrapes the pods.
      for (const service of publicServices.filter(
        (s) => ops !== undefined && portsOf(s).some((p) => resolvePort(deployment, p.targetPort ?? p.port) === ops),
      )) {
        problems.add(c.where(service), `exposes the ${app}'s ops port ${ops!} (/metrics, /status) next to its public API`);
      }
    }
  }
}

function portsOf(service: K8sObject): JsonObject[] {
  return ((specOf(service).ports ?? []) as Json[]).filter(isObject);
}
