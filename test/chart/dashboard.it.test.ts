import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import * as yaml from 'js-yaml';
import { helm } from '../harness/helm.ts';
import type { KubeObject } from '../harness/kube-apply.ts';
import { PromQueryError, type RunningPrometheus, startPrometheus } from '../harness/prometheus.ts';
import { chartDir } from './chart.ts';
import { allPanels, grafanaToPromql, labelValuesQuery, readDashboard } from './observability.ts';

const RELEASE = 'llmobs';
const NS = 'llmobs-system';

type ConfigMap = KubeObject & {
  metadata: { labels?: Record<string, string>; annotations?: Record<string, string> };
  data: Record<string, string>;
};

async function renderDashboard(args: readonly string[]): Promise<ConfigMap | undefined> {
  const { stdout } = await helm(['template', RELEASE, chartDir, '--namespace', NS, ...args]);
  const objs = yaml.loadAll(stdout).filter((d): d is KubeObject => d !== null && typeof d === 'object');
  return objs.find((o) => o.kind === 'ConfigMap') as ConfigMap | undefined;
}

describe('the Grafana dashboard ConfigMap', () => {
  test('is off by default', async () => {
    assert.equal(await renderDashboard([]), undefined);
  });

  test('carries files/dashboard.json as written, labelled for the Grafana sidecar', async () => {
    const cm = await renderDashboard(['--set', 'metrics.grafanaDashboard.enabled=true']);
    assert.ok(cm);
    assert.equal(cm.metadata.namespace, NS);
    assert.equal(cm.metadata.labels?.grafana_dashboard, '1');
    assert.deepEqual(Object.keys(cm.data), ['llmobs.json']);
    assert.deepEqual(JSON.parse(cm.data['llmobs.json'] ?? ''), readDashboard());
  });

  test('goes to the namespace, label and annotations the values name', async () => {
    const cm = await renderDashboard([
      '--set',
      'metrics.grafanaDashboard.enabled=true,metrics.grafanaDashboard.namespace=monitoring',
      '--set',
      'metrics.grafanaDashboard.label=grafana.com/dashboard,metrics.grafanaDashboard.labelValue=llmobs',
      '--set',
      'metrics.grafanaDashboard.annotations.grafana_folder=LLM',
    ]);
    assert.ok(cm);
    assert.equal(cm.metadata.namespace, 'monitoring');
    assert.equal(cm.metadata.labels?.['grafana.com/dashboard'], 'llmobs');
    assert.equal(cm.metadata.labels?.grafana_dashboard, undefined);
    assert.deepEqual(cm.metadata.annotations, { grafana_folder: 'LLM' });
  });
});

describe('every query of the dashboard on a real Prometheus', () => {
  let prom: RunningPrometheus;
  before(async () => {
    // Nothing to scrape: an empty TSDB still parses and evaluates every query.
    prom = await startPrometheus({ scrapeTargets: [], waitForFirstScrape: false });
  });
  after(async () => {
    await prom?.stop();
  });

  const dashboard = readDashboard();
  for (const panel of allPanels(dashboard)) {
    for (const t of panel.targets ?? []) {
      test(`${panel.title} (${t.refId}) is valid PromQL`, async () => {
        const promql = grafanaToPromql(t.expr);
        assert.doesNotMatch(promql, /\$/, 'a template variable is left');
        await prom.query(promql).catch((err: unknown) => {
          assert.fail(
            err instanceof PromQueryError ? `${err.errorType}: ${err.message}\n${promql}` : String(err),
          );
        });
      });
    }
  }

  for (const v of dashboard.templating.list) {
    const q = labelValuesQuery(typeof v.query === 'string' ? v.query : v.query.query);
    if (!q) continue;
    test(`variable ${v.name}: its label_values selector is valid PromQL`, async () => {
      await prom.query(`count by (${q.label}) (${grafanaToPromql(q.selector)})`);
    });
  }

  test('a malformed query would have been caught', async () => {
    await assert.rejects(
      prom.query(grafanaToPromql('sum by (le (rate(llmobs_calls_total[$__rate_interval]))')),
      {
        name: 'PromQueryError',
      },
    );
  });
});
