import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { renderKustomization } from './kustomize';
import { exportableMetrics, unknownMetrics } from './metric-names';
import { isObject, parseYamlDocuments, readYamlObject, type Json, type JsonObject } from './yaml';

// The alert rules of deploy/prometheus/alerts.yml: valid, unit-tested with promtool (the Debian
// package prometheus, which `make system-deps` installs), runbooks that exist, and the same rules in
// the Kubernetes copies.
const root = join(__dirname, '..', '..');
const RULES = 'deploy/prometheus/alerts.yml';
const RUNBOOKS = 'https://github.com/orderflow/orderflow/blob/main/README.md';
const SYNC = 'run `node scripts/sync-alert-rules.mjs` after changing deploy/prometheus/alerts.yml';

/** Runs promtool from the repository root; throws with its output when it fails. */
function promtool(...args: string[]): string {
  const run = spawnSync('promtool', args, { cwd: root, encoding: 'utf8' });
  if (run.error) throw new Error(`promtool ${args[0]}: ${run.error.message} (make system-deps installs it: Debian package prometheus)`);
  const output = `${run.stdout}${run.stderr}`;
  if (run.status !== 0) throw new Error(`promtool ${args.join(' ')} failed:\n${output}`);
  return output;
}

interface Rule {
  alert: string;
  expr: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

const rulesText = readFileSync(join(root, RULES), 'utf8');
const rules = ((readYamlObject(join(root, RULES)).groups ?? []) as unknown as { rules: Rule[] }[]).flatMap((g) => g.rules);

/** GitHub's anchor for a Markdown heading. */
const anchor = (heading: string) =>
  heading
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\s_-]/gu, '')
    .replace(/\s/g, '-');

describe('the alert rules', () => {
  it('pass promtool check rules, and compose’s prometheus.yml loads them', () => {
    expect(promtool('check', 'rules', RULES)).toContain(`SUCCESS: ${rules.length} rules found`);
    expect(promtool('check', 'config', 'deploy/prometheus/prometheus.yml')).toContain(RULES);
  });

  it('pass their promtool unit tests (deploy/prometheus/alerts.test.yml)', () => {
    expect(promtool('test', 'rules', 'deploy/prometheus/alerts.test.yml')).toContain('SUCCESS');
  });

  it('query only metrics the apps export', () => {
    expect(
      unknownMetrics(
        rules.map((r) => r.expr),
        exportableMetrics(root),
      ),
    ).toEqual([]);
  });

  it('each have a unit test where they fire and one where they do not', () => {
    const tests = readYamlObject(join(root, 'deploy/prometheus/alerts.test.yml'));
    const cases = ((tests.tests ?? []) as JsonObject[]).flatMap((t) => (t.alert_rule_test ?? []) as { alertname: string; exp_alerts?: Json[] }[]);
    const coverage = rules.map(({ alert }) => ({
      alert,
      fires: cases.some((c) => c.alertname === alert && (c.exp_alerts ?? []).length > 0),
      staysQuiet: cases.some((c) => c.alertname === alert && (c.exp_alerts ?? []).length === 0),
    }));
    expect(coverage).toEqual(rules.map(({ alert }) => ({ alert, fires: true, staysQuiet: true })));
  });

  it('each carry a severity, a summary, a description and a runbook_url to their section of the README', () => {
    const readme = readFileSync(join(root, 'README.md'), 'utf8');
    const anchors = new Set([...readme.matchAll(/^#{1,6} (.+)$/gm)].map((m) => anchor(m[1]!)));
    expect(rules.length).toBeGreaterThanOrEqual(7);
    for (const { alert, labels = {}, annotations = {} } of rules) {
      const id = `alert-${alert.toLowerCase()}`;
      expect({
        alert,
        severity: labels.severity,
        summary: !!annotations.summary,
        description: !!annotations.description,
        runbook: annotations.runbook_url,
      }).toEqual({
        alert,
        severity: expect.stringMatching(/^(critical|warning)$/),
        summary: true,
        description: true,
        runbook: `${RUNBOOKS}#${id}`,
      });
      expect({ alert, readmeHeading: anchors.has(id) }).toEqual({ alert, readmeHeading: true });
    }
  });
});

describe('the Kubernetes copies of the alert rules', () => {
  it('k8s/base ships them byte for byte in the ConfigMap orderflow-prometheus-rules', () => {
    const base = renderKustomization(join(root, 'k8s/base'), root);
    const configMap = base.objects.find((o) => o.kind === 'ConfigMap' && o.metadata.name === 'orderflow-prometheus-rules');
    expect(configMap).toBeDefined();
    const data = isObject(configMap!.data) ? configMap!.data : {};
    if (data['orderflow-alerts.yml'] !== rulesText) throw new Error(`k8s/base/prometheus-rules.yaml differs from ${RULES}: ${SYNC}`);
  });

  it('k8s/monitoring/prometheus-rule.yaml has the same groups as a PrometheusRule', () => {
    const file = join(root, 'k8s/monitoring/prometheus-rule.yaml');
    const [rule, ...more] = parseYamlDocuments(readFileSync(file, 'utf8'), file) as JsonObject[];
    expect({ apiVersion: rule?.apiVersion, kind: rule?.kind, more: more.length }).toEqual({
      apiVersion: 'monitoring.coreos.com/v1',
      kind: 'PrometheusRule',
      more: 0,
    });
    const same = JSON.stringify(rule!.spec) === JSON.stringify(readYamlObject(join(root, RULES)));
    if (!same) throw new Error(`k8s/monitoring/prometheus-rule.yaml differs from ${RULES}: ${SYNC}`);
  });
});
