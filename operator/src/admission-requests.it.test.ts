import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { ControlPlane } from '../../test/harness/control-plane.ts';
import { eventually } from '../../test/harness/eventually.ts';
import { kubeApply, kubeRequest } from '../../test/harness/kube-apply.ts';
import { operatorFlags, startLlmobsControlPlane, startOperator } from '../../test/harness/operator.ts';
import { freePorts } from '../../test/harness/ports.ts';
import type { ManagedProcess } from '../../test/harness/process.ts';

// What bench/operator.bench.ts relies on, checked against the operator process and a real apiserver:
// admissions are answered from the informers (no apiserver read per pod), every admission is timed, and
// the request counter sees the operator's traffic.

/** Sum of the samples of `name` whose labels include `labels`, from Prometheus text. */
function metric(text: string, name: string, labels: Record<string, string> = {}): number {
  let total = 0;
  for (const line of text.split('\n')) {
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)/.exec(line);
    if (!m || m[1] !== name) continue;
    const have = Object.fromEntries([...(m[2] ?? '').matchAll(/(\w+)="([^"]*)"/g)].map((x) => [x[1], x[2]]));
    if (Object.entries(labels).every(([k, v]) => have[k] === v)) total += Number(m[3]);
  }
  return total;
}

describe('operator admissions against a real apiserver', () => {
  let cp: ControlPlane;
  let operator: ManagedProcess;
  let metricsUrl: string;
  const scrape = async () => (await fetch(metricsUrl)).text();

  before(async () => {
    cp = await startLlmobsControlPlane();
    const [webhookPort, metricsPort, healthPort] = (await freePorts(3)) as [number, number, number];
    metricsUrl = `http://127.0.0.1:${metricsPort}/metrics`;
    await kubeApply(cp, [
      { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'llmobs-system' } },
      { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'llm-app' } },
      {
        apiVersion: 'llmobs.dev/v1alpha1',
        kind: 'LLMObservability',
        metadata: { name: 'chat', namespace: 'llm-app' },
        spec: {
          processor: { mode: 'sidecar' },
          exporters: [{ name: 'tempo', endpoint: 'http://tempo.observability:4318' }],
        },
      },
    ]);
    operator = await startOperator({
      logDir: cp.dir,
      flags: operatorFlags(cp, { webhookPort, metricsPort, healthPort }),
      healthPort,
    });
    // The resource reconciled once (its status written), so nothing of the controller's first pass is left.
    await eventually('the resource Ready', async () => {
      const res = await kubeRequest(
        cp,
        'GET',
        '/apis/llmobs.dev/v1alpha1/namespaces/llm-app/llmobservabilities/chat',
      );
      const cr = JSON.parse(res.body) as { status?: { conditions?: { type: string; status: string }[] } };
      return cr.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ? true : undefined;
    });
  });
  after(async () => {
    await operator?.stop();
    await cp?.stop();
  });

  test('pods are injected with no apiserver read on the admission path, and every admission is timed', async () => {
    const before = await scrape();
    const pods = 20;
    for (let i = 0; i < pods; i++) {
      const res = await kubeRequest(
        cp,
        'POST',
        '/api/v1/namespaces/llm-app/pods',
        JSON.stringify({
          metadata: { name: `chat-${i}` },
          spec: { containers: [{ name: 'app', image: 'example.invalid/chat:1' }] },
        }),
      );
      assert.equal(res.status, 201, res.body);
      assert.match(res.body, /"llmobs\.dev\/injection-status":"injected"/);
    }
    const after = await scrape();
    const delta = (name: string, labels: Record<string, string> = {}) =>
      metric(after, name, labels) - metric(before, name, labels);
    assert.equal(delta('llmobs_webhook_injections_total', { outcome: 'injected' }), pods);
    assert.equal(delta('llmobs_webhook_admission_duration_seconds_count', { outcome: 'injected' }), pods);
    for (const resource of [
      'namespaces',
      'llmobservabilities.llmobs.dev',
      'llmobservabilitypolicies.llmobs.dev',
    ]) {
      for (const verb of ['get', 'list']) {
        assert.equal(
          delta('llmobs_operator_kube_requests_total', { verb, resource }),
          0,
          `${verb} ${resource}`,
        );
      }
    }
    // The counter does see the operator's traffic: its informers listed at start, and Events go out.
    assert.ok(metric(after, 'llmobs_operator_kube_requests_total', { verb: 'list', resource: 'pods' }) >= 1);
    assert.ok(delta('llmobs_operator_kube_requests_total', { verb: 'create', resource: 'events' }) >= 1);
  });
});
