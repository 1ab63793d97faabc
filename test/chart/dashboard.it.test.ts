import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { connect } from 'node:http2';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import * as yaml from 'js-yaml';
import { Registry } from 'prom-client';
import { countKubeRequests } from '../../operator/src/runtime/request-metrics.ts';
import { ensureWebhookCertificate, MemorySecretStore } from '../../operator/src/webhook/certs.ts';
import { RateLimitedEventRecorder } from '../../operator/src/webhook/event-limit.ts';
import { MemoryEventRecorder } from '../../operator/src/webhook/events.ts';
import { InMemoryConfigSource } from '../../operator/src/webhook/podmutation/config.ts';
import {
  deploymentPod,
  podRequest,
  settings,
  source,
} from '../../operator/src/webhook/podmutation/testdata.ts';
import { startWebhookServer, type WebhookServer } from '../../operator/src/webhook/server.ts';
import { helm } from '../harness/helm.ts';
import type { KubeObject } from '../harness/kube-apply.ts';
import { PromQueryError, type RunningPrometheus, startPrometheus } from '../harness/prometheus.ts';
import { chartDir } from './chart.ts';
import {
  allPanels,
  grafanaToPromql,
  labelValuesQuery,
  promqlMetricNames,
  readDashboard,
} from './observability.ts';

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

/** The series names a registry exposes, histograms by their _bucket/_sum/_count series. */
async function seriesNames(registry: Registry): Promise<Set<string>> {
  const names = new Set<string>();
  for (const m of await registry.getMetricsAsJSON()) {
    if (String(m.type) === 'histogram')
      for (const s of ['_bucket', '_sum', '_count']) names.add(`${m.name}${s}`);
    else names.add(m.name);
  }
  return names;
}

describe('the operator panels on the webhook’s own metrics, scraped by a real Prometheus', () => {
  const registry = new Registry();
  let webhook: WebhookServer;
  let metrics: Server;
  let prom: RunningPrometheus;

  before(async () => {
    // A client whose every request is counted (and fails: nothing listens there); the counter is what is read.
    const kc = new KubeConfig();
    kc.loadFromOptions({
      clusters: [{ name: 'c', server: 'http://127.0.0.1:9', skipTLSVerify: true }],
      users: [{ name: 'u' }],
      contexts: [{ name: 'x', cluster: 'c', user: 'u' }],
      currentContext: 'x',
    });
    countKubeRequests(kc, registry);
    await kc
      .makeApiClient(CoreV1Api)
      .readNamespace({ name: 'team-a' })
      .catch(() => undefined);
    const { certificate } = await ensureWebhookCertificate(new MemorySecretStore(), {
      secretNamespace: 'x',
      secretName: 'y',
      dnsNames: ['localhost'],
      ipAddresses: ['127.0.0.1'],
    });
    // One Event of each type at once, then none: the admissions below overflow it.
    const events = new RateLimitedEventRecorder(new MemoryEventRecorder(), registry, {
      limits: { Normal: { burst: 1, perSecond: 0.001 }, Warning: { burst: 1, perSecond: 0.001 } },
    });
    webhook = await startWebhookServer({
      configSource: new InMemoryConfigSource([source('obs')]),
      namespaces: { get: () => ({}) },
      settings,
      events,
      registry,
      tls: certificate,
      host: '127.0.0.1',
    });
    const session = connect(webhook.url, { ca: certificate.caPem });
    const admit = (uid: string) =>
      new Promise<void>((resolve, reject) => {
        const stream = session.request({ ':method': 'POST', ':path': '/mutate-v1-pod' });
        stream.on('data', () => undefined);
        stream.on('end', resolve);
        stream.on('error', reject);
        stream.end(
          JSON.stringify({
            apiVersion: 'admission.k8s.io/v1',
            kind: 'AdmissionReview',
            request: podRequest(deploymentPod(), { uid }),
          }),
        );
      });
    await Promise.all(['a', 'b', 'c'].map(admit));
    session.close();
    metrics = createServer((_req, res) => {
      void registry.metrics().then((text) => {
        res.setHeader('content-type', registry.contentType);
        res.end(text);
      });
    });
    await new Promise<void>((resolve) => metrics.listen(0, '127.0.0.1', resolve));
    prom = await startPrometheus({
      scrapeTargets: [`127.0.0.1:${(metrics.address() as AddressInfo).port}`],
    });
  });
  after(async () => {
    await prom?.stop();
    await webhook?.stop();
    metrics?.close();
  });

  const operatorTargets = allPanels(readDashboard()).flatMap((panel) =>
    (panel.targets ?? [])
      .filter((t) =>
        promqlMetricNames(t.expr).names.some(
          (n) => n.startsWith('llmobs_webhook_') || n.startsWith('llmobs_operator_kube_'),
        ),
      )
      .map((t) => ({ panel: panel.title, ...t })),
  );

  test('the dashboard shows every metric the webhook and the request counter export', async () => {
    const shown = new Set(operatorTargets.flatMap((t) => promqlMetricNames(t.expr).names));
    for (const n of await seriesNames(registry)) {
      if (
        n.startsWith('llmobs_') &&
        !n.endsWith('_sum') &&
        !(n.endsWith('_count') && shown.has(n.replace(/_count$/, '_bucket')))
      )
        assert.ok(shown.has(n), `${n} is on no panel`);
    }
  });

  for (const t of operatorTargets) {
    test(`${t.panel} (${t.refId}) draws a series from the scraped metrics`, async () => {
      const promql = grafanaToPromql(t.expr);
      // rate() needs two scrapes of a series; the scrape interval is 1 s.
      const result = await prom.waitForQuery(promql, (r) => r.length > 0, 30_000);
      assert.ok(result.length > 0, promql);
    });
  }
});
