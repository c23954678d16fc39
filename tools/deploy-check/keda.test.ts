import { join } from 'node:path';
import { consumerGroup, taskTopology, topicNames } from '@orderflow/domain';
import { APPS } from './apps';
import { envSources, resolveEnv } from './k8s-env';
import { cluster } from './k8s-model';
import { validateSchemas } from './k8s-schema';
import { checkWiring } from './k8s-wiring';
import { containersOf, renderKustomization, type K8sObject } from './kustomize';
import { Problems } from './problems';
import { readYamlDocuments, type JsonObject } from './yaml';

// The prod-keda overlay: KEDA scales notification on its queue and the orchestrator on its saga's lag.
const root = join(__dirname, '..', '..');
const rendered = renderKustomization(join(root, 'k8s/overlays/prod-keda'), root);
const secrets = readYamlDocuments(join(root, 'k8s/overlays/prod/secret.example.yaml')) as K8sObject[];
const find = (kind: string, name: string) => rendered.objects.find((o) => o.kind === kind && o.metadata.name === name);
const spec = (o: K8sObject | undefined) => (o?.spec ?? {}) as any;
const triggerOf = (app: string, type: string) => spec(find('ScaledObject', app)).triggers.find((t: any) => t.type === type);

/** The config the app loads from the env its Deployment gets in this overlay. */
function appConfig(app: 'orchestrator' | 'notification') {
  const container = containersOf(find('Deployment', app)!)[0] as JsonObject;
  const env = resolveEnv(container, envSources(rendered.objects, rendered.namespace, secrets));
  return APPS[app].load(env.values) as Record<string, unknown>;
}

describe('the prod-keda overlay', () => {
  it('renders on top of prod and passes the Kubernetes and KEDA schemas', () => {
    const prod = renderKustomization(join(root, 'k8s/overlays/prod'), root);
    expect(rendered.objects.length).toBe(prod.objects.length - 2 + 4);
    expect(rendered.objects.filter((o) => o.apiVersion === 'keda.sh/v1alpha1').every((o) => o.metadata.namespace === 'orderflow')).toBe(true);
    expect(validateSchemas(rendered.objects, (o) => o.metadata.name)).toEqual([]);
  });

  it('leaves notification and the orchestrator to KEDA alone: no HPA of their own, one ScaledObject each', () => {
    const hpas = rendered.objects.filter((o) => o.kind === 'HorizontalPodAutoscaler').map((o) => spec(o).scaleTargetRef.name);
    expect(hpas.sort()).toEqual(['inventory', 'order']);
    const problems = new Problems();
    checkWiring(cluster(rendered), problems);
    expect(problems.list).toEqual([]);
  });

  it('scales notification on the depth of the notification.send queue, with the host from orderflow-secrets, and on CPU', () => {
    const scaled = spec(find('ScaledObject', 'notification'));
    expect(scaled.scaleTargetRef).toMatchObject({ kind: 'Deployment', name: 'notification' });
    const rabbit = triggerOf('notification', 'rabbitmq');
    expect(rabbit.metadata).toMatchObject({ queueName: taskTopology(String(appConfig('notification').RESOURCE_PREFIX)).queue, mode: 'QueueLength' });
    expect(Number(rabbit.metadata.value)).toBeGreaterThan(0);
    const auth = spec(find('TriggerAuthentication', rabbit.authenticationRef.name));
    expect(auth.secretTargetRef).toEqual([{ parameter: 'host', name: 'orderflow-secrets', key: 'AMQP_URL' }]);
    expect(triggerOf('notification', 'cpu')).toMatchObject({ metricType: 'Utilization', metadata: { value: '70' } });
    expect([scaled.minReplicaCount, scaled.maxReplicaCount]).toEqual([2, 6]); // the base HPA's bounds
  });

  it('scales the orchestrator on the order-events lag of orchestrator.saga, with the brokers and credentials the app uses, and on CPU', () => {
    const config = appConfig('orchestrator');
    const prefix = String(config.RESOURCE_PREFIX);
    const kafka = triggerOf('orchestrator', 'kafka');
    expect(kafka.metadata).toMatchObject({
      consumerGroup: consumerGroup('orchestrator.saga', prefix),
      topic: topicNames(prefix).orderEvents,
      allowIdleConsumers: 'false',
      bootstrapServersFromEnv: 'KAFKA_BROKERS',
    });
    expect(Number(kafka.metadata.lagThreshold)).toBeGreaterThan(0);
    const container = containersOf(find('Deployment', 'orchestrator')!)[0] as any;
    expect(container.env.find((e: any) => e.name === 'KAFKA_BROKERS').valueFrom.secretKeyRef).toMatchObject({
      name: 'orderflow-secrets',
      key: 'KAFKA_BROKERS',
    });
    // KEDA's spelling of the app's SASL mechanism and TLS flag, as the documented Secret sets them.
    const sasl: Record<string, string> = { plain: 'plaintext', 'scram-sha-256': 'scram_sha256', 'scram-sha-512': 'scram_sha512' };
    expect(kafka.metadata.sasl).toBe(config.KAFKA_SASL_MECHANISM ? sasl[String(config.KAFKA_SASL_MECHANISM)] : 'none');
    expect(kafka.metadata.tls).toBe(config.KAFKA_SSL ? 'enable' : 'disable');
    const auth = spec(find('TriggerAuthentication', kafka.authenticationRef.name));
    expect(auth.secretTargetRef.map((r: any) => [r.parameter, r.key])).toEqual([
      ['username', 'KAFKA_SASL_USERNAME'],
      ['password', 'KAFKA_SASL_PASSWORD'],
    ]);
    expect(triggerOf('orchestrator', 'cpu')).toMatchObject({ metricType: 'Utilization', metadata: { value: '70' } });
  });

  it('caps the orchestrator at the partition count of order-events, so no replica sits idle in the consumer group', () => {
    const partitions = Number(appConfig('orchestrator').KAFKA_TOPIC_PARTITIONS);
    const scaled = spec(find('ScaledObject', 'orchestrator'));
    expect(scaled.maxReplicaCount).toBeLessThanOrEqual(partitions);
    expect(scaled.minReplicaCount).toBe(2); // the base HPA's floor
    expect(scaled.minReplicaCount).toBeLessThanOrEqual(scaled.maxReplicaCount);
  });

  it('reports a KEDA object that breaks its schema, or names a field KEDA does not define', () => {
    const scaled = structuredClone(find('ScaledObject', 'orchestrator')!);
    (scaled.spec as any).triggers[1].metadata.value = 70;
    (scaled.spec as any).maxReplicas = 3;
    const messages = validateSchemas([scaled], () => 'x').map((p) => p.message);
    expect(messages).toEqual([expect.stringMatching(/metadata\/value must be string/), 'schema: unknown field spec.maxReplicas']);
  });
});
