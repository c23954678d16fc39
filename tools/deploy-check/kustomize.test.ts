import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { renderKustomization } from './kustomize';

// The offline renderer does what kustomize does for the features k8s/ uses, and refuses the rest.
let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'kustomize-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

function write(files: Record<string, string>): void {
  for (const [name, text] of Object.entries(files)) {
    mkdirSync(join(dir, name, '..'), { recursive: true });
    writeFileSync(join(dir, name), text);
  }
}

const deployment = `apiVersion: apps/v1
kind: Deployment
metadata: { name: web }
spec:
  selector: { matchLabels: { app: web } }
  template:
    metadata: { labels: { app: web } }
    spec:
      containers:
        - name: web
          image: shop/web
          env: [{ name: A, value: "1" }, { name: B, value: "2" }]
        - name: sidecar
          image: shop/sidecar:1.0
`;
const base = `apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources: [deployment.yaml, service-account.yaml]
`;

describe('renderKustomization', () => {
  beforeEach(() =>
    write({
      'base/kustomization.yaml': base,
      'base/deployment.yaml': deployment,
      'base/service-account.yaml': 'apiVersion: v1\nkind: ServiceAccount\nmetadata: { name: web }\n',
      'overlay/ns.yaml': 'apiVersion: v1\nkind: Namespace\nmetadata: { name: placeholder }\n',
      'overlay/patch.yaml':
        'apiVersion: apps/v1\nkind: Deployment\nmetadata: { name: web }\nspec:\n  template:\n    spec:\n      containers:\n        - name: web\n          env: [{ name: B, value: "3" }, { name: C, value: "4" }]\n',
    }),
  );

  it('sets the namespace on namespaced objects, merges keyed lists, patches by target and sets image tags', () => {
    write({
      'overlay/kustomization.yaml': `kind: Kustomization
namespace: shop
resources: [ns.yaml, ../base]
patches:
  - path: patch.yaml
  - target: { kind: Deployment }
    patch: |-
      - { op: add, path: /spec/replicas, value: 2 }
images:
  - { name: shop/web, newName: registry.example.com/shop/web, newTag: "1.2" }
`,
    });
    const { objects, origin } = renderKustomization(join(dir, 'overlay'), dir);
    const [ns, web] = [objects.find((o) => o.kind === 'Namespace')!, objects.find((o) => o.kind === 'Deployment')!];
    expect(ns.metadata).toEqual({ name: 'shop' }); // renamed to the namespace, like kustomize does
    expect(web.metadata.namespace).toBe('shop');
    expect(origin.get(web)).toBe('base/deployment.yaml');
    const spec = web.spec as any;
    expect(spec.replicas).toBe(2);
    expect(spec.template.spec.containers[0].env).toEqual([
      { name: 'A', value: '1' },
      { name: 'B', value: '3' },
      { name: 'C', value: '4' },
    ]);
    expect(spec.template.spec.containers.map((c: any) => c.image)).toEqual(['registry.example.com/shop/web:1.2', 'shop/sidecar:1.0']);
  });

  it('deletes the object a strategic merge patch with a top-level $patch: delete selects, and refuses other $patch directives', () => {
    write({
      'd/kustomization.yaml': `kind: Kustomization
resources: [../base]
patches:
  - patch: |-
      apiVersion: v1
      kind: ServiceAccount
      metadata: { name: web }
      $patch: delete
`,
    });
    expect(renderKustomization(join(dir, 'd'), dir).objects.map((o) => o.kind)).toEqual(['Deployment']);
    write({
      'e/kustomization.yaml':
        'kind: Kustomization\nresources: [../base]\npatches: [{ patch: "{ apiVersion: v1, kind: ServiceAccount, metadata: { name: web }, $patch: replace }" }]\n',
    });
    expect(() => renderKustomization(join(dir, 'e'), dir)).toThrow(/\$patch: "replace" is not supported/);
  });

  it('refuses a patch that matches nothing, a duplicate object and an unsupported field', () => {
    write({
      'a/kustomization.yaml': 'kind: Kustomization\nresources: [../base]\npatches: [{ target: { kind: Service }, patch: "- { op: remove, path: /spec }" }]\n',
    });
    expect(() => renderKustomization(join(dir, 'a'), dir)).toThrow(/matches no object/);
    write({ 'b/kustomization.yaml': 'kind: Kustomization\nresources: [../base, ../base/deployment.yaml]\n' });
    expect(() => renderKustomization(join(dir, 'b'), dir)).toThrow(/Deployment\/web comes from both/);
    write({ 'c/kustomization.yaml': 'kind: Kustomization\nresources: [../base]\nnamePrefix: x-\n' });
    expect(() => renderKustomization(join(dir, 'c'), dir)).toThrow(/namePrefix not supported by the offline renderer/);
  });
});
