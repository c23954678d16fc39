import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { checkBundleDependencies } from './bundle-deps';
import { checkContainers, checkKubernetes, checkWorkflow, formatProblems, PROCESS_TARGETS, type Problem } from './index';

// Each test breaks one thing in a temporary copy and expects the validation to name it.
const root = join(__dirname, '..', '..');

function inCopy(paths: string[], file: string, edit: (text: string) => string, check: (dir: string) => Problem[]): string {
  const dir = mkdtempSync(join(tmpdir(), 'deploy-check-'));
  try {
    for (const path of paths) cpSync(join(root, path), join(dir, path), { recursive: true });
    const before = readFileSync(join(dir, file), 'utf8');
    const after = edit(before);
    expect(after).not.toBe(before); // the edit found its target
    writeFileSync(join(dir, file), after);
    return formatProblems(check(dir));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const brokenK8s = (file: string, edit: (text: string) => string) => inCopy(['k8s'], `k8s/${file}`, edit, (dir) => checkKubernetes(root, join(dir, 'k8s')));
const brokenCompose = (file: string, edit: (text: string) => string) =>
  inCopy(['docker-compose.yml', 'deploy'], file, edit, (dir) => checkContainers(root, { compose: join(dir, 'docker-compose.yml') }));
const brokenDockerfile = (edit: (text: string) => string) =>
  inCopy(['Dockerfile'], 'Dockerfile', edit, (dir) => checkContainers(root, { dockerfile: join(dir, 'Dockerfile') }));

describe('the Kubernetes validation fails, naming the object, when', () => {
  it('a probe path has a typo', () => {
    const problems = brokenK8s('base/order.yaml', (t) => t.replace('httpGet: { path: /readyz, port: http }', 'httpGet: { path: /ready, port: http }'));
    expect(problems).toMatch(/overlays\/dev Deployment\/orderflow-dev\/order .*readinessProbe path \/ready should be \/readyz/);
  });

  it('a field is misspelt (the API would reject it)', () => {
    const problems = brokenK8s('base/inventory.yaml', (t) => t.replace('revisionHistoryLimit: 5', 'revisionHistoryLimt: 5'));
    expect(problems).toMatch(/Deployment\/orderflow-dev\/inventory .*unknown field spec\.revisionHistoryLimt/);
  });

  it('a field has the wrong type', () => {
    const problems = brokenK8s('base/order.yaml', (t) => t.replace('containerPort: 50051', 'containerPort: "50051"'));
    expect(problems).toMatch(/Deployment\/order .*schema: .*containerPort must be integer/);
  });

  it('a ConfigMap sets a variable the app does not read', () => {
    const problems = brokenK8s('base/order.yaml', (t) => t.replace('  LOG_LEVEL: info', '  LOG_LEVEL: info\n  DATBASE_URL: postgres://x/y'));
    expect(problems).toMatch(/Deployment\/orderflow-dev\/order .*env DATBASE_URL is not a variable order reads/);
  });

  it('the app config and the container ports disagree', () => {
    const problems = brokenK8s('base/notification.yaml', (t) => t.replace('HTTP_PORT: "8083"', 'HTTP_PORT: "8093"'));
    expect(problems).toMatch(/Deployment\/orderflow-dev\/notification .*container ports .* do not match the app's config/);
    expect(problems).toMatch(/livenessProbe port http is not the app's HTTP_PORT 8093/);
  });

  it('a Service selects no pods', () => {
    const problems = brokenK8s('base/order.yaml', (t) => t.replace(/(clusterIP: None\n\s+selector:\n\s+app.kubernetes.io\/name: )order/, '$1ordr'));
    expect(problems).toMatch(/Service\/order-grpc .*selects no pods/);
    expect(problems).toMatch(/Deployment\/orderflow-dev\/order .*its gRPC port needs a headless Service/);
  });

  it('an app points at a port its Service does not have', () => {
    const problems = brokenK8s('overlays/dev/secret.yaml', (t) => t.replace('KAFKA_BROKERS: kafka:9092', 'KAFKA_BROKERS: kafka:9093'));
    expect(problems).toMatch(/Deployment\/orderflow-dev\/inventory .*KAFKA_BROKERS: Service kafka has no port 9093/);
  });

  it('the autoscalers may start more replicas than the dev Postgres has connections for', () => {
    const problems = brokenK8s('overlays/dev/kustomization.yaml', (t) =>
      t.replace('{ op: replace, path: /spec/maxReplicas, value: 2 }', '{ op: replace, path: /spec/maxReplicas, value: 12 }'),
    );
    expect(problems).toMatch(
      /overlays\/dev StatefulSet\/orderflow-dev\/postgres .*max_connections 300 is below what the apps may open at their largest: orchestrator HPA max 12 × 23 \+ .* = \d+/,
    );
  });

  it('an autoscaler targets a Deployment that does not exist', () => {
    const problems = brokenK8s('base/inventory.yaml', (t) => t.replace('kind: Deployment, name: inventory }', 'kind: Deployment, name: inventroy }'));
    expect(problems).toMatch(/HorizontalPodAutoscaler\/inventory .*scaleTargetRef Deployment\/inventroy does not exist/);
  });

  it('a NetworkPolicy opens order gRPC to other namespaces', () => {
    const problems = brokenK8s('base/network-policies.yaml', (t) =>
      t.replace(
        /(name: order-ingress[\s\S]*?- from:\n)(\s+)- podSelector:\n\s+matchLabels:\n\s+app.kubernetes.io\/name: orchestrator/,
        '$1$2- namespaceSelector: {}',
      ),
    );
    expect(problems).toMatch(/NetworkPolicy\/order-ingress .*lets other namespaces reach order beyond its ops port/);
    expect(problems).toMatch(/no NetworkPolicy lets the orchestrator reach order gRPC/);
  });

  it("the orchestrator's readiness probe goes to the public API port instead of the ops port", () => {
    const problems = brokenK8s('base/orchestrator.yaml', (t) => t.replace('httpGet: { path: /readyz, port: ops }', 'httpGet: { path: /readyz, port: http }'));
    expect(problems).toMatch(/overlays\/prod Deployment\/orderflow\/orchestrator .*readinessProbe port http is not the app's OPS_PORT 8084, its ops port/);
  });

  it("a NetworkPolicy opens the orchestrator's ops port to everyone", () => {
    const problems = brokenK8s('base/network-policies.yaml', (t) =>
      t.replace(
        /(name: orchestrator-ingress[\s\S]*?- ports:\n)(\s+)- \{ port: http, protocol: TCP \}/,
        '$1$2- { port: http, protocol: TCP }\n$2- { port: ops, protocol: TCP }',
      ),
    );
    expect(problems).toMatch(
      /NetworkPolicy\/orderflow\/orchestrator-ingress .*lets anyone reach orchestrator's ops port 8084 \(\/metrics, \/status\); only the monitoring namespace may/,
    );
  });

  it("a NetworkPolicy opens an app's ops port to every namespace", () => {
    const problems = brokenK8s('base/network-policies.yaml', (t) =>
      t.replace(
        /(name: notification-ingress[\s\S]*?)namespaceSelector:\n\s+matchLabels:\n\s+kubernetes.io\/metadata.name: monitoring/,
        '$1namespaceSelector: {}',
      ),
    );
    expect(problems).toMatch(/NetworkPolicy\/orderflow-dev\/notification-ingress .*lets every namespace matching \{\} reach notification's ops port 8083/);
  });

  it("the public Service also exposes the orchestrator's ops port", () => {
    const problems = brokenK8s('base/orchestrator.yaml', (t) =>
      t.replace(
        '- { name: http, port: 8080, targetPort: http, protocol: TCP }',
        '- { name: http, port: 8080, targetPort: http, protocol: TCP }\n    - { name: ops, port: 8084, targetPort: ops, protocol: TCP }',
      ),
    );
    expect(problems).toMatch(/Service\/orderflow\/orchestrator .*exposes the orchestrator's ops port 8084 \(\/metrics, \/status\) next to its public API/);
  });

  it('Prometheus would scrape the public port', () => {
    const problems = brokenK8s('base/orchestrator.yaml', (t) => t.replace('prometheus.io/port: "8084"', 'prometheus.io/port: "8080"'));
    expect(problems).toMatch(/Deployment\/orderflow\/orchestrator .*prometheus.io\/port 8080 is not the app's OPS_PORT 8084/);
  });

  it('one failed background check would take a pod out of its Services', () => {
    const problems = brokenK8s('base/order.yaml', (t) => t.replace(/(readinessProbe:[\s\S]*?failureThreshold: )3/, '$11'));
    expect(problems).toMatch(
      /Deployment\/orderflow\/order .*the readinessProbe takes a pod out after 0 s of failed answers, within one background check round/,
    );
  });

  it('the migration Job runs something else than make migrate', () => {
    const problems = brokenK8s('base/migrate-job.yaml', (t) => t.replace('"migrate"]', '"migrate", "--down"]'));
    expect(problems).toMatch(/Job\/orderflow-dev\/orderflow-migrate .*not make migrate's "node dist\/tools\/main.js migrate"/);
  });

  it('the pods would be killed before their drain ends', () => {
    const problems = brokenK8s('base/orchestrator.yaml', (t) => t.replace('terminationGracePeriodSeconds: 30', 'terminationGracePeriodSeconds: 10'));
    expect(problems).toMatch(/Deployment\/orderflow\/orchestrator .*terminationGracePeriodSeconds 10 is shorter/);
  });

  it('the documented prod Secret lacks a key a Deployment reads', () => {
    const problems = brokenK8s('overlays/prod/secret.example.yaml', (t) => t.replace(/\n\s+AMQP_URL: .*/, ''));
    expect(problems).toMatch(/overlays\/prod Deployment\/orderflow\/orchestrator .*AMQP_URL: Secret orderflow-secrets has no key AMQP_URL/);
  });

  it('a kustomization uses a feature the offline renderer does not implement', () => {
    const problems = brokenK8s('overlays/dev/kustomization.yaml', (t) =>
      t.replace('namespace: orderflow-dev', 'namespace: orderflow-dev\ncommonLabels: { team: shop }'),
    );
    expect(problems).toMatch(/overlays\/dev\/kustomization.yaml: commonLabels not supported by the offline renderer/);
  });
});

describe('the compose validation fails, naming the service, when', () => {
  it('Postgres has fewer connections than the apps hold', () => {
    const problems = brokenCompose('docker-compose.yml', (t) => t.replace("'max_connections=300'", "'max_connections=50'"));
    expect(problems).toMatch(
      /services\.postgres: Postgres max_connections 50 is below what the apps may open at their largest: .*orchestrator 1 × 23 .* = \d+/,
    );
  });

  it('an app does not wait for the migration', () => {
    const problems = brokenCompose('docker-compose.yml', (t) =>
      t.replace(/(order:\n[\s\S]*?)\n\s+migrate: \{ condition: service_completed_successfully \}/, '$1'),
    );
    expect(problems).toMatch(/services\.order: must wait for migrate with condition service_completed_successfully/);
  });

  it('an app starts before its infrastructure is healthy', () => {
    const problems = brokenCompose('docker-compose.yml', (t) =>
      t.replace(/(orchestrator:\n[\s\S]*?kafka: \{ condition: )service_healthy/, '$1service_started'),
    );
    expect(problems).toMatch(/services\.orchestrator: KAFKA_BROKERS talks to kafka, so it must depend on kafka with condition service_healthy/);
  });

  it('the file does not follow the Compose Specification', () => {
    const problems = brokenCompose('docker-compose.yml', (t) => t.replace("test: ['CMD', 'redis-cli', 'ping']", "tset: ['CMD', 'redis-cli', 'ping']"));
    expect(problems).toMatch(/docker-compose.yml: schema: \/services\/redis\/healthcheck must NOT have additional properties \(tset\)/);
  });

  it('the env file misspells a variable, leaving an app on its loopback default', () => {
    const problems = brokenCompose('deploy/compose.env', (t) => t.replace('KAFKA_BROKERS=', 'KAFKA_BROKER='));
    expect(problems).toMatch(/deploy\/compose.env: KAFKA_BROKER is not a variable any app or tool reads/);
    expect(problems).toMatch(/services\.inventory: KAFKA_BROKERS points at 127.0.0.1/);
  });

  it("the orchestrator's healthcheck probes its public port instead of the ops port", () => {
    const problems = brokenCompose('docker-compose.yml', (t) => t.replace("'/readyz', 'OPS_PORT=8084'", "'/readyz', '8080'"));
    expect(problems).toMatch(/services\.orchestrator: healthcheck .* should GET \/readyz on OPS_PORT 8084, its ops port/);
  });

  it('a healthcheck probes the wrong port', () => {
    const problems = brokenCompose('docker-compose.yml', (t) => t.replace("'/readyz', '8082'", "'/readyz', '8081'"));
    expect(problems).toMatch(/services\.inventory: healthcheck .* should GET \/readyz on HTTP_PORT 8082/);
  });
});

describe('the Dockerfile validation fails when', () => {
  it('an app runs through a shell (which does not pass SIGTERM on) or as root', () => {
    const problems = brokenDockerfile((t) =>
      t
        .replace(
          'CMD ["node", "--enable-source-maps", "--max-old-space-size=160", "--max-semi-space-size=16", "dist/order/main.js"]',
          'CMD node dist/order/main.js',
        )
        .replace('USER 1000:1000', 'USER root'),
    );
    expect(problems).toMatch(/Dockerfile target order: CMD must be the exec form of node dist\/order\/main.js/);
    expect(problems).toMatch(/Dockerfile target order: USER root: run as a non-root numeric user/);
  });

  it('the orchestrator image checks its health on the public port and does not expose the ops port', () => {
    const problems = brokenDockerfile((t) => t.replace('EXPOSE 8080 8084', 'EXPOSE 8080').replace('"/healthz", "OPS_PORT=8084"', '"/healthz", "8080"'));
    expect(problems).toMatch(/Dockerfile target orchestrator: EXPOSE 8080 should be the app's ports 8080 8084/);
    expect(problems).toMatch(/Dockerfile target orchestrator: HEALTHCHECK should GET \/healthz on OPS_PORT 8084, its ops port/);
  });

  it('npm ci runs without a workspace manifest', () => {
    const problems = brokenDockerfile((t) => t.replace('COPY libs/db/package.json libs/db/\n', ''));
    expect(problems).toMatch(/Dockerfile stage build: npm ci runs before libs\/db\/package.json is copied/);
  });
});

describe('the CI workflow check fails when', () => {
  it("a step waits for the orchestrator's readiness on the public port", () => {
    const problems = inCopy(
      ['.github'],
      '.github/workflows/ci.yml',
      (t) => t.replace('127.0.0.1:8084/readyz', '127.0.0.1:8080/readyz'),
      (dir) => checkWorkflow(dir, PROCESS_TARGETS).list,
    );
    expect(problems).toMatch(
      /\.github\/workflows\/ci.yml: step "Start the stack from the images and wait until the API is ready" GETs \/readyz on port 8080, which is no app's ops port \(8084, 8081, 8082, 8083\)/,
    );
  });

  it('no step compares the offline kustomize rendering with kubectl kustomize', () => {
    const problems = inCopy(
      ['.github'],
      '.github/workflows/ci.yml',
      (t) => t.replace('node dist/deploy-render/main.js', 'echo'),
      (dir) => checkWorkflow(dir, PROCESS_TARGETS).list,
    );
    expect(problems).toMatch(/\.github\/workflows\/ci.yml: no step in a job with Node compares kubectl kustomize with the offline rendering/);
  });

  it('an overlay is left out of the comparison', () => {
    const problems = inCopy(
      ['.github', 'k8s'],
      '.github/workflows/ci.yml',
      (t) => t.replace('k8s/overlays/*/', 'k8s/overlays/dev/'),
      (dir) => checkWorkflow(dir, PROCESS_TARGETS).list,
    );
    expect(problems.split('\n')).toEqual([
      '.github/workflows/ci.yml: no step compares kubectl kustomize k8s/overlays/prod with the offline rendering',
      '.github/workflows/ci.yml: no step compares kubectl kustomize k8s/overlays/prod-keda with the offline rendering',
    ]);
  });
});

describe('the runtime dependency check fails when', () => {
  it('a bundle loads a devDependency, which the image does not install', () => {
    const dir = mkdtempSync(join(tmpdir(), 'deploy-check-'));
    try {
      writeFileSync(join(dir, 'package.json'), JSON.stringify({ dependencies: { pg: '1' }, devDependencies: { yaml: '1' } }));
      writeFileSync(join(dir, 'tsconfig.json'), '{}');
      writeFileSync(join(dir, 'main.ts'), "import 'pg';\nimport { parse } from 'yaml';\nimport { join } from 'node:path';\nconsole.log(parse, join);\n");
      expect(formatProblems(checkBundleDependencies(dir, { app: 'main.ts' }).list)).toBe(
        'package.json: dist/app.js loads yaml at run time, but it is not in dependencies (the image omits devDependencies)',
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
