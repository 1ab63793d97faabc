import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import * as yaml from 'js-yaml';
import { helm } from '../harness/helm.ts';
import type { KubeObject } from '../harness/kube-apply.ts';
import { promtoolCheckRules, promtoolTestRules } from '../harness/prometheus.ts';
import { chartDir, fixturesDir, isMap, mergeValues, readYaml, type Values } from './chart.ts';
import { defaultAlertValues, expectedRules, type RuleFile, rawRules } from './observability.ts';

const RELEASE = 'llmobs';
const NS = 'llmobs-system';
const defaults = readYaml(join(chartDir, 'values.yaml')) as Values;
/** The promtool unit tests: every minute for most alerts, every 5 minutes for the week-over-week ones. */
const fixtures = ['alerts.test.yaml', 'alerts-weekly.test.yaml'] as const;
const fixture = (name: (typeof fixtures)[number]) => readFileSync(join(fixturesDir, name), 'utf8');
const allAlerts = rawRules().groups.flatMap((g) => g.rules.map((r) => r.alert));

type PrometheusRule = KubeObject & { spec: RuleFile; metadata: { labels?: Record<string, string> } };

const tmp = mkdtempSync(join(tmpdir(), 'llmobs-alerts-'));
after(() => rmSync(tmp, { recursive: true, force: true }));
let n = 0;
function valuesFile(values: Values): string {
  const file = join(tmp, `values-${++n}.yaml`);
  writeFileSync(file, yaml.dump(values));
  return file;
}

/** The PrometheusRule `helm template` renders with `values` over the defaults (undefined when none). */
async function renderRule(
  values: Values,
  extra: readonly string[] = [],
): Promise<PrometheusRule | undefined> {
  const { stdout } = await helm([
    'template',
    RELEASE,
    chartDir,
    '--namespace',
    NS,
    '--values',
    valuesFile(values),
    ...extra,
  ]);
  const objs = yaml.loadAll(stdout).filter((d): d is KubeObject => d !== null && typeof d === 'object');
  const rules = objs.filter((o) => o.kind === 'PrometheusRule');
  assert.ok(rules.length <= 1);
  return rules[0] as PrometheusRule | undefined;
}

const enabled = (more: Values = {}): Values => ({ metrics: { prometheusRule: { enabled: true, ...more } } });

describe('the PrometheusRule helm renders from files/alerts.yaml', () => {
  let rule: PrometheusRule;
  before(async () => {
    const r = await renderRule(enabled());
    assert.ok(r, 'no PrometheusRule rendered');
    rule = r;
  });

  test('is off by default', async () => {
    assert.equal(await renderRule({}), undefined);
  });

  test('holds exactly the groups of files/alerts.yaml, placeholders set to the default thresholds', () => {
    assert.equal(rule.apiVersion, 'monitoring.coreos.com/v1');
    assert.equal(rule.metadata.namespace, NS);
    assert.deepEqual(rule.spec, expectedRules(defaultAlertValues(defaults)));
    assert.deepEqual(
      rule.spec.groups.flatMap((g) => g.rules.map((x) => x.alert)),
      allAlerts,
    );
    assert.doesNotMatch(JSON.stringify(rule.spec), /\$\{/);
  });

  test('promtool check rules accepts the rendered groups', async () => {
    const res = await promtoolCheckRules({ groups: rule.spec.groups });
    assert.ok(res.ok, res.message);
    assert.match(res.message, new RegExp(`SUCCESS: ${allAlerts.length} rules found`));
  });

  for (const name of fixtures) {
    test(`promtool test rules: every alert fires and stays quiet where fixtures/${name} says`, async () => {
      const res = await promtoolTestRules(fixture(name), {
        'alerts.rules.yaml': { groups: rule.spec.groups },
      });
      assert.ok(res.ok, res.message);
      assert.match(res.message, /SUCCESS/);
    });
  }

  test('other thresholds reach the expressions, and the fixture notices them', async () => {
    const alerts = {
      errorRatio: 0.5,
      latencyP95Seconds: 100,
      tokenBudgetPerDay: 2_000_000_000,
      costWindow: '2h',
    };
    const r = await renderRule(enabled({ alerts }), [
      '--set',
      'metrics.prometheusRule.alerts.timeoutRatio=1',
    ]);
    assert.ok(r);
    const merged = { ...defaultAlertValues(defaults), ...alerts, timeoutRatio: 1 };
    assert.deepEqual(r.spec, expectedRules(merged));
    const expr = (name: string) =>
      r.spec.groups.flatMap((g) => g.rules).find((x) => x.alert === name)?.expr ?? '';
    assert.match(expr('LLMObsLatencyP95OverBudget'), /\) > 100\n/);
    assert.match(expr('LLMObsTokenBudgetFastBurn'), /\* 86400 \/ 2000000000\n/);
    assert.match(expr('LLMObsCostWeekOverWeekJump'), /increase\(llmobs_cost_total\[2h\] offset 1w\)/);
    assert.match(expr('LLMObsTimeoutBurst'), /\n> 1\n/);
    assert.ok((await promtoolCheckRules({ groups: r.spec.groups })).ok);
    const res = await promtoolTestRules(fixture('alerts.test.yaml'), {
      'alerts.rules.yaml': { groups: r.spec.groups },
    });
    assert.equal(res.ok, false, 'the fixture is written for the default thresholds');
    for (const name of ['LLMObsErrorBurst', 'LLMObsLatencyP95OverBudget', 'LLMObsTimeoutBurst'])
      assert.match(res.message, new RegExp(`alertname: ${name},`));
    assert.doesNotMatch(res.message, /alertname: LLMObsRedactionFailClosed,/);
  });

  test('disabledAlerts leaves alerts out, and a group left empty with them', async () => {
    const off = [
      'LLMObsWebhookSkippingPods',
      'LLMObsWebhookFailingOpen',
      'LLMObsWebhookSlowAdmissions',
      'LLMObsOperatorReconcileErrors',
    ];
    const r = await renderRule(enabled({ disabledAlerts: [...off, 'LLMObsTimeoutBurst'] }));
    assert.ok(r);
    assert.deepEqual(
      r.spec.groups.map((g) => g.name),
      ['llmobs.genai', 'llmobs.quality', 'llmobs.processor'],
    );
    assert.deepEqual(r.spec, expectedRules(defaultAlertValues(defaults), [...off, 'LLMObsTimeoutBurst']));
    assert.ok(!JSON.stringify(r.spec).includes('LLMObsTimeoutBurst'));
    assert.ok((await promtoolCheckRules({ groups: r.spec.groups })).ok);
  });

  test('ci/observability-values.yaml: its labels, thresholds and disabled alert, accepted by promtool', async () => {
    const ci = readYaml(join(chartDir, 'ci', 'observability-values.yaml')) as Values;
    const r = await renderRule(ci);
    assert.ok(r);
    assert.equal(r.metadata.labels?.release, 'prometheus');
    const merged = mergeValues(defaults, ci);
    const p = (merged.metrics as Values).prometheusRule;
    assert.ok(isMap(p) && isMap(p.alerts) && Array.isArray(p.disabledAlerts));
    assert.deepEqual(r.spec, expectedRules(p.alerts, p.disabledAlerts as string[]));
    const res = await promtoolCheckRules({ groups: r.spec.groups });
    assert.ok(res.ok, res.message);
  });

  test('a wrong alert value fails helm, naming the key', async () => {
    const cases: readonly [Values, RegExp][] = [
      [enabled({ disabledAlerts: ['LLMObsNoSuchAlert'] }), /\/metrics\/prometheusRule\/disabledAlerts\/0/],
      [enabled({ alerts: { errorRatio: 'high' } }), /\/metrics\/prometheusRule\/alerts\/errorRatio/],
      [enabled({ alerts: { errorRatio: 1.5 } }), /\/metrics\/prometheusRule\/alerts\/errorRatio/],
      [enabled({ alerts: { costWindow: '1 hour' } }), /\/metrics\/prometheusRule\/alerts\/costWindow/],
      [
        enabled({ alerts: { timeoutErrorTypes: 'a"b' } }),
        /\/metrics\/prometheusRule\/alerts\/timeoutErrorTypes/,
      ],
      [
        enabled({ alerts: { latencyP99Seconds: 3 } }),
        /additional properties 'latencyP99Seconds' not allowed/,
      ],
    ];
    for (const [values, path] of cases) await assert.rejects(renderRule(values), path);
  });
});
