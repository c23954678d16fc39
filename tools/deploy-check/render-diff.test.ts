import { diffRenderings, formatRenderDifferences } from './render-diff';
import { parseYamlDocuments } from './yaml';

// What CI does for each overlay: the offline rendering against `kubectl kustomize`'s output.
const compare = (ours: string, theirs: string) =>
  formatRenderDifferences(diffRenderings(parseYamlDocuments(ours, 'ours'), parseYamlDocuments(theirs, 'theirs')));

const offline = `apiVersion: apps/v1
kind: Deployment
metadata: { name: web, namespace: shop, annotations: { prometheus.io/port: "8081" } }
spec:
  replicas: 2
  template:
    spec:
      containers:
        - name: web
          image: shop/web:1.0
          args: [--port, "8080"]
          env: [{ name: A, value: "1" }, { name: B, value: "2" }]
          command: ["sh", "-c", "exec web\\n"]
---
apiVersion: v1
kind: Namespace
metadata: { name: shop }
`;

describe('diffRenderings', () => {
  it('reports no difference for the same objects in another order and key order', () => {
    // kubectl's way of writing the same thing: block style, sorted keys, other quoting, a block scalar.
    const kubectl = `apiVersion: v1
kind: Namespace
metadata:
  name: 'shop'
---
apiVersion: apps/v1
kind: Deployment
metadata:
  annotations:
    prometheus.io/port: '8081'
  name: web
  namespace: shop
spec:
  replicas: 2
  template:
    spec:
      containers:
      - args:
        - --port
        - "8080"
        command:
        - sh
        - -c
        - |
          exec web
        env:
        - name: A
          value: "1"
        - name: B
          value: "2"
        image: shop/web:1.0
        name: web
`;
    expect(compare(offline, kubectl)).toBe('');
  });

  it('reports a field that differs, with its object and path', () => {
    const kubectl = offline
      .replace('replicas: 2', 'replicas: 3')
      .replace('prometheus.io/port: "8081"', 'prometheus.io/port: 8081')
      .replace('{ name: B, value: "2" }', '{ name: B, value: "2", extra: x }')
      .replace('env: [{ name: A, value: "1" }, { name: B, value: "2", extra: x }]', 'env: [{ name: B, value: "2", extra: x }, { name: A, value: "1" }]')
      .replace('[--port, "8080"]', '[--port, "8080", --verbose]');
    expect(compare(offline, kubectl)).toBe(
      [
        'apps/v1 Deployment shop/web',
        '  metadata.annotations["prometheus.io/port"]: offline "8081", kubectl 8081',
        '  spec.replicas: offline 2, kubectl 3',
        '  spec.template.spec.containers[name=web].args[2]: only kubectl: "--verbose"',
        '  spec.template.spec.containers[name=web].env[name=B].extra: only kubectl: "x"',
        '  spec.template.spec.containers[name=web].env: order: offline A, B; kubectl B, A',
      ].join('\n'),
    );
  });

  it('reports an object only one side has', () => {
    const service = `apiVersion: v1
kind: Service
metadata: { name: web, namespace: shop }
spec: { ports: [{ port: 80 }] }
`;
    // The same name in another namespace, or under another apiVersion, is another object.
    const kubectl = `${offline}---\n${service}---\n${service.replace('namespace: shop', 'namespace: other')}`;
    expect(compare(offline, kubectl)).toBe(['v1 Service other/web: only kubectl', 'v1 Service shop/web: only kubectl'].join('\n'));
    expect(compare(`${offline}---\n${offline.split('---')[0]!.replace('apps/v1', 'apps/v2')}`, offline)).toBe('apps/v2 Deployment shop/web: only offline');
  });
});
