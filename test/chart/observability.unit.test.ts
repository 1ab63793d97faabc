import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { GENAI_METRICS_PORT_NAME, gatewayLabels } from '../../operator/src/manifests/gateway.ts';
import { chartDir, fixturesDir, readYaml, type Values } from './chart.ts';
import {
  allPanels,
  defaultAlertValues,
  derivedMetricNames,
  expectedRules,
  grafanaToPromql,
  knownMetricNames,
  labelValuesQuery,
  placeholders,
  promqlMetricNames,
  rawRules,
  readDashboard,
  type TemplateVariable,
  unknownMetricNames,
} from './observability.ts';

const defaults = readYaml(join(chartDir, 'values.yaml')) as Values;
const schema = JSON.parse(readFileSync(join(chartDir, 'values.schema.json'), 'utf8')) as {
  properties: {
    metrics: {
      properties: {
        prometheusRule: {
          properties: { disabledAlerts: { items: { enum: string[] } }; alerts: { properties: Values } };
        };
      };
    };
  };
};
/** How every panel and variable names its datasource: Grafana's `datasource` variable. */
// biome-ignore lint/suspicious/noTemplateCurlyInString: Grafana's variable syntax, not a JavaScript template.
const DATASOURCE = { type: 'prometheus', uid: '${datasource}' };
const alertNames = rawRules().groups.flatMap((g) => g.rules.map((r) => r.alert));

describe('files/alerts.yaml', () => {
  test('names every alert once, with LLMObs in front', () => {
    assert.equal(new Set(alertNames).size, alertNames.length);
    for (const n of alertNames) assert.match(n, /^LLMObs[A-Z][A-Za-z0-9]+$/);
  });

  test('covers every alert the issue asks for', () => {
    for (const n of [
      'LLMObsLatencyP95OverBudget',
      'LLMObsErrorBurst',
      'LLMObsTimeoutBurst',
      'LLMObsCostWeekOverWeekJump',
      'LLMObsTokenBudgetFastBurn',
      'LLMObsTokenBudgetSlowBurn',
      'LLMObsUnknownModelSpike',
      'LLMObsRedactionFailClosed',
      'LLMObsExporterQueueFull',
      'LLMObsWebhookSkippingPods',
    ])
      assert.ok(alertNames.includes(n), n);
  });

  test('gives every alert a for, a severity and summary / description annotations', () => {
    for (const g of rawRules().groups) {
      for (const r of g.rules) {
        assert.match(r.for ?? '', /^[0-9]+[smhd]$/, `${r.alert}.for`);
        assert.ok(['warning', 'critical'].includes(r.labels?.severity ?? ''), `${r.alert} severity`);
        assert.deepEqual(Object.keys(r.annotations ?? {}).sort(), ['description', 'summary'], r.alert);
        assert.ok((r.annotations?.description ?? '').length > 120, `${r.alert} says what to do`);
      }
    }
  });

  test('uses exactly the keys of metrics.prometheusRule.alerts as placeholders, and the schema lists each', () => {
    const used = placeholders(
      readFileSync(join(chartDir, 'files', 'alerts.yaml'), 'utf8').replace(/^\s*#.*$/gm, ''),
    );
    const keys = Object.keys(defaultAlertValues(defaults));
    assert.deepEqual([...used].sort(), [...keys].sort());
    const schemaKeys = Object.keys(
      schema.properties.metrics.properties.prometheusRule.properties.alerts.properties,
    );
    assert.deepEqual(schemaKeys.sort(), [...keys].sort());
  });

  test('is what values.schema.json lets metrics.prometheusRule.disabledAlerts name', () => {
    assert.deepEqual(
      [...schema.properties.metrics.properties.prometheusRule.properties.disabledAlerts.items.enum].sort(),
      [...alertNames].sort(),
    );
  });

  test('selects only metrics the processor, the operator or the kube-apiserver emit', async () => {
    const exprs = expectedRules(defaultAlertValues(defaults)).groups.flatMap((g) =>
      g.rules.map((r) => r.expr),
    );
    assert.deepEqual(unknownMetricNames(exprs, await knownMetricNames()), []);
  });

  test('the promtool fixtures fire and stay quiet at least once for every alert', () => {
    const cases = ['alerts.test.yaml', 'alerts-weekly.test.yaml'].flatMap((name) => {
      const fixture = readYaml(join(fixturesDir, name)) as {
        rule_files: string[];
        tests: { alert_rule_test: { alertname: string; exp_alerts?: unknown[] }[] }[];
      };
      assert.deepEqual(fixture.rule_files, ['alerts.rules.yaml'], name);
      return fixture.tests.flatMap((t) => t.alert_rule_test);
    });
    for (const n of alertNames) {
      assert.ok(
        cases.some((c) => c.alertname === n && (c.exp_alerts ?? []).length > 0),
        `${n}: no case where it fires`,
      );
      assert.ok(
        cases.some((c) => c.alertname === n && (c.exp_alerts ?? []).length === 0),
        `${n}: no case where it stays quiet`,
      );
    }
    assert.deepEqual(
      cases.map((c) => c.alertname).filter((n) => !alertNames.includes(n)),
      [],
      'cases for alerts that do not exist',
    );
  });
});

describe('promqlMetricNames', () => {
  test('finds metric names, not labels, functions, keywords or durations', () => {
    assert.deepEqual(
      promqlMetricNames(
        'histogram_quantile(0.95, sum by (le, gen_ai_request_model) (rate(llmobs_duration_seconds_bucket{llmobs_stage="llm", x=~"a|b"}[5m] offset 1w))) > 1e+08 and on (k8s_namespace_name) sum(up) / ignoring (a) group_left () b_total',
      ),
      { names: ['llmobs_duration_seconds_bucket', 'up', 'b_total'], nameRegexes: [] },
    );
    assert.deepEqual(promqlMetricNames('rate({__name__=~"a_(x|y)_total", ns="n"}[5m])'), {
      names: [],
      nameRegexes: ['a_(x|y)_total'],
    });
  });
});

describe('files/dashboard.json', () => {
  const d = readDashboard();
  const panels = allPanels(d);
  const targets = panels.flatMap((p) => (p.targets ?? []).map((t) => ({ panel: p.title, ...t })));

  test('is a dashboard with a fixed uid, a Prometheus datasource variable and namespace / service / model variables', () => {
    assert.equal(d.uid, 'llmobs-overview');
    const vars = d.templating.list;
    assert.deepEqual(
      vars.map((v) => [v.name, v.type]),
      [
        ['datasource', 'datasource'],
        ['namespace', 'query'],
        ['service', 'query'],
        ['model', 'query'],
      ],
    );
    assert.equal((vars[0] as TemplateVariable & { query: string }).query, 'prometheus');
    for (const v of vars.slice(1)) {
      assert.equal(v.allValue, '.*', v.name);
      assert.deepEqual(v.datasource, DATASOURCE, v.name);
      assert.ok(labelValuesQuery(typeof v.query === 'string' ? v.query : v.query.query), v.name);
    }
  });

  test('queries through the datasource variable only, with unique panel ids and refIds per panel', () => {
    assert.equal(new Set(panels.map((p) => p.id)).size, panels.length);
    for (const p of panels.filter((x) => x.type !== 'row')) {
      assert.deepEqual(p.datasource, DATASOURCE, p.title);
      assert.ok((p.targets ?? []).length > 0, `${p.title} has no query`);
      assert.ok(p.description, `${p.title} has no description`);
      const refs = (p.targets ?? []).map((t) => t.refId);
      assert.equal(new Set(refs).size, refs.length, p.title);
      for (const t of p.targets ?? []) assert.deepEqual(t.datasource, p.datasource, p.title);
      assert.ok(p.gridPos.x + p.gridPos.w <= 24, `${p.title} is wider than the grid`);
    }
  });

  test('has the panels the issue lists', () => {
    const titles = panels.map((p) => p.title.toLowerCase()).join('\n');
    for (const want of [
      /calls \/ s/,
      /llm latency by model \(p50 \/ p95 \/ p99\)/,
      /latency by stage \(p50 \/ p95 \/ p99\)/,
      /time to first token/,
      /tokens \/ s by type/,
      /cost \/ hour by namespace/,
      /cost \/ hour by service/,
      /cost \/ hour by model/,
      /cache hit ratio/,
      /redactions \/ s by entity/,
      /sending queue fill/,
      /spans \/ s in and out/,
    ])
      assert.match(titles, want);
  });

  test('selects only metrics the processor or the operator emit', async () => {
    const known = await knownMetricNames();
    const exprs = [
      ...targets.map((t) => grafanaToPromql(t.expr)),
      ...d.templating.list.flatMap((v) => {
        const q = labelValuesQuery(typeof v.query === 'string' ? v.query : v.query.query);
        return q ? [grafanaToPromql(q.selector)] : [];
      }),
    ];
    assert.deepEqual(unknownMetricNames(exprs, known), []);
    // Every derived GenAI metric family the issue names is on the dashboard.
    const used = new Set(exprs.flatMap((e) => promqlMetricNames(e).names));
    for (const n of [
      'llmobs_calls_total',
      'llmobs_duration_seconds_bucket',
      'gen_ai_client_operation_time_to_first_chunk_seconds_bucket',
      'llmobs_tokens_total',
      'llmobs_cost_total',
      'llmobs_cache_hit_ratio',
      'llmobs_redactions_total',
      'otelcol_exporter_queue_size',
      'otelcol_exporter_sent_spans_total',
    ])
      assert.ok(used.has(n), `${n} is on no panel`);
  });

  test('filters span-derived metrics by namespace, service and model, and processor metrics by namespace', () => {
    const derivedNames = new Set(derivedMetricNames());
    for (const t of targets) {
      const { names } = promqlMetricNames(grafanaToPromql(t.expr));
      const derived = names.some((n) => derivedNames.has(n));
      if (derived) {
        for (const v of [
          'k8s_namespace_name=~"$namespace"',
          'service_name=~"$service"',
          'gen_ai_request_model=~"$model"',
        ])
          assert.ok(t.expr.includes(v), `${t.panel}: ${t.expr} lacks ${v}`);
      } else if (!names.some((n) => n.startsWith('llmobs_webhook_') || n.startsWith('llmobs_operator_'))) {
        assert.ok(t.expr.includes('namespace=~"$namespace"'), `${t.panel}: ${t.expr}`);
      }
    }
  });
});

describe('the processor PodMonitor', () => {
  test('selects the gateway pods by labels the operator sets, on the port names it declares', () => {
    const tpl = readFileSync(join(chartDir, 'templates', 'podmonitor.yaml'), 'utf8');
    const labels = gatewayLabels({
      apiVersion: 'llmobs.dev/v1alpha1',
      kind: 'LLMObservability',
      metadata: { name: 'default', namespace: 'team-a' },
    });
    for (const key of [
      'app.kubernetes.io/name',
      'app.kubernetes.io/component',
      'app.kubernetes.io/managed-by',
    ]) {
      assert.ok(tpl.includes(`${key}: ${labels[key]}`), `${key}: ${labels[key]}`);
    }
    assert.match(tpl, /- port: metrics\n/);
    assert.ok(tpl.includes(`- port: ${GENAI_METRICS_PORT_NAME}\n`));
  });
});
