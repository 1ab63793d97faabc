import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { CoreV1Api, CustomObjectsApi, type V1Pod } from '@kubernetes/client-node';
import * as yaml from 'js-yaml';
import { runPythonClient } from '../../test/harness/clients.ts';
import type { ControlPlane } from '../../test/harness/control-plane.ts';
import { eventually } from '../../test/harness/eventually.ts';
import { type Jaeger, startJaeger } from '../../test/harness/jaeger.ts';
import { kubeApply, kubeRequest } from '../../test/harness/kube-apply.ts';
import { type Kwok, startKwok } from '../../test/harness/kwok.ts';
import { startProcessor } from '../../test/harness/llmobs-processor.ts';
import {
  operatorFlags,
  startOperator as startHarnessOperator,
  startLlmobsControlPlane,
  validatingWebhookAt,
} from '../../test/harness/operator.ts';
import { freePorts } from '../../test/harness/ports.ts';
import type { ManagedProcess } from '../../test/harness/process.ts';
import { type MockLlm, startMockLlm } from '../../test/mock-llm/server.ts';
import type { LLMObservabilityStatus } from './api/v1alpha1/types.gen.ts';

type Resource = { metadata: { generation: number }; status?: LLMObservabilityStatus };

describe('the operator process against a real control plane', () => {
  let cp: ControlPlane;
  let kwok: Kwok;
  let operator: ManagedProcess;
  let ports: number[];
  let llm: MockLlm;
  let jaeger: Jaeger;

  const startOperator = () => {
    const [webhookPort, metricsPort, healthPort] = ports as [number, number, number];
    return startHarnessOperator({
      logDir: cp.dir,
      flags: operatorFlags(cp, {
        webhookPort,
        metricsPort,
        healthPort,
        leaderElect: true,
        validatingWebhookConfiguration: 'llmobs',
        processorImage: 'llmobs/processor:test',
      }),
      healthPort,
    });
  };

  const resource = async (name: string): Promise<Resource> =>
    (await cp.kubeConfig().makeApiClient(CustomObjectsApi).getNamespacedCustomObject({
      group: 'llmobs.dev',
      version: 'v1alpha1',
      namespace: 'llm-app',
      plural: 'llmobservabilities',
      name,
    })) as Resource;

  before(async () => {
    [cp, llm, jaeger] = await Promise.all([
      startLlmobsControlPlane({ scheduler: true, controllerManager: true }),
      startMockLlm(),
      startJaeger(),
    ]);
    kwok = await startKwok(cp);
    await kwok.addNode('node-0');
    ports = await freePorts(3);
    await kubeApply(cp, [
      { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'llmobs-system' } },
      {
        apiVersion: 'v1',
        kind: 'Namespace',
        metadata: { name: 'llm-app', labels: { 'data-class': 'customer' } } as { name: string },
      },
      {
        apiVersion: 'llmobs.dev/v1alpha1',
        kind: 'LLMObservabilityPolicy',
        metadata: { name: 'customer-data' },
        spec: {
          namespaceSelector: { matchLabels: { 'data-class': 'customer' } },
          contentCapture: { maxLevel: 'redacted' },
          exporters: { allowedEndpoints: ['http://tempo.observability:*'] },
        },
      },
      validatingWebhookAt(ports[0] as number),
    ]);
    operator = await startOperator();
  });
  after(async () => {
    await operator?.stop();
    await kwok?.stop();
    await cp?.stop();
    await llm?.close();
    await jaeger?.stop();
  });

  test('a resource gets a running gateway and reports Ready with observedGeneration', async () => {
    await kubeApply(cp, [
      {
        apiVersion: 'llmobs.dev/v1alpha1',
        kind: 'LLMObservability',
        metadata: { name: 'chat', namespace: 'llm-app' },
        spec: {
          selector: { matchLabels: { app: 'chat' } },
          contentCapture: 'redacted',
          exporters: [{ name: 'tempo', endpoint: 'http://tempo.observability:4318' }],
        },
      },
    ]);
    const cr = await eventually('Ready=True', async () => {
      const r = await resource('chat');
      return r.status?.conditions?.find((c) => c.type === 'Ready' && c.status === 'True') ? r : undefined;
    });
    assert.equal(cr.status?.observedGeneration, cr.metadata.generation);
    assert.equal(cr.status?.processorEndpoint, 'http://llmobs-processor-chat.llm-app.svc:4318');
    assert.equal(cr.status?.conditions?.find((c) => c.type === 'PolicyCompliant')?.status, 'True');
  });

  test('the policy-validating webhook refuses a resource above the floor, naming the field', async () => {
    const res = await kubeRequest(
      cp,
      'POST',
      '/apis/llmobs.dev/v1alpha1/namespaces/llm-app/llmobservabilities',
      JSON.stringify({
        apiVersion: 'llmobs.dev/v1alpha1',
        kind: 'LLMObservability',
        metadata: { name: 'leaky', namespace: 'llm-app' },
        spec: {
          contentCapture: 'full',
          exporters: [{ name: 'x', endpoint: 'https://collector.example.com:4318' }],
        },
      }),
    );
    assert.equal(res.status, 403, res.body);
    const message = (JSON.parse(res.body) as { message: string }).message;
    assert.match(
      message,
      /denied the request: .*spec\.contentCapture: contentCapture full exceeds the maximum redacted/,
    );
    assert.match(message, /spec\.exporters\[x\]\.endpoint/);
  });

  let pod: V1Pod;
  test('a selected pod comes back instrumented for the gateway, kwok runs it, and status counts it', async () => {
    const core = cp.kubeConfig().makeApiClient(CoreV1Api);
    pod = await core.createNamespacedPod({
      namespace: 'llm-app',
      body: {
        metadata: { name: 'chat-0', labels: { app: 'chat' } },
        spec: { nodeName: 'node-0', containers: [{ name: 'app', image: 'example.invalid/chat:1' }] },
      },
    });
    const env = Object.fromEntries((pod.spec?.containers[0]?.env ?? []).map((e) => [e.name, e.value]));
    assert.equal(env.OTEL_EXPORTER_OTLP_ENDPOINT, 'http://llmobs-processor-chat.llm-app.svc:4318');
    assert.equal(env.OTEL_EXPORTER_OTLP_PROTOCOL, 'http/protobuf');
    assert.equal(
      env.TRACELOOP_TRACE_CONTENT,
      'true',
      'redacted capture: content is recorded, the processor redacts it',
    );
    const status = (await resource('chat')).status;
    assert.equal(pod.metadata?.annotations?.['llmobs.dev/injection-status'], 'injected');
    assert.equal(pod.metadata?.annotations?.['llmobs.dev/config-hash'], status?.configHash);
    await eventually('the pod Running and counted', async () => {
      const p = await core.readNamespacedPod({ namespace: 'llm-app', name: 'chat-0' });
      const s = (await resource('chat')).status;
      return p.status?.phase === 'Running' && s?.instrumentedPods === 1 ? true : undefined;
    });
  });

  test('the env the webhook injected sends a real Python client’s spans through the rendered processor config to Jaeger', async () => {
    const core = cp.kubeConfig().makeApiClient(CoreV1Api);
    const cm = await core.readNamespacedConfigMap({ namespace: 'llm-app', name: 'llmobs-processor-chat' });
    const config = yaml.load(cm.data?.['config.yaml'] ?? '') as {
      receivers: { otlp: { protocols: Record<string, { endpoint: string }> } };
      exporters: Record<string, { endpoint: string }>;
      extensions: { health_check: { endpoint: string } };
      service: { telemetry: { metrics: { address: string } } };
      processors: { llm_metrics: { flush_interval: string } };
    };
    // The rendered config as the gateway would run it, with this machine's addresses in place of the
    // cluster's: loopback ports for the listeners, the test's Jaeger for the Tempo exporter.
    config.receivers.otlp.protocols = {
      http: { endpoint: '127.0.0.1:{{port:http}}' },
      grpc: { endpoint: '127.0.0.1:{{port:grpc}}' },
    };
    config.extensions.health_check.endpoint = '127.0.0.1:{{port:health}}';
    config.service.telemetry.metrics.address = '127.0.0.1:{{port:metrics}}';
    assert.deepEqual(Object.keys(config.exporters).sort(), ['otlp_http/tempo', 'prometheus']);
    (config.exporters['otlp_http/tempo'] as { endpoint: string }).endpoint = jaeger.otlpHttpEndpoint;
    (config.exporters.prometheus as { endpoint: string }).endpoint = '127.0.0.1:{{port:prom}}';
    // Flushed every 15 s in the cluster; sooner here so the test need not wait.
    config.processors.llm_metrics.flush_interval = '500ms';
    const processor = await startProcessor({ config: yaml.dump(config) });
    try {
      // What the kubelet would hand the container: downward-API fields filled in, $(VAR) expanded.
      const fields: Record<string, string> = {
        'metadata.name': 'chat-0',
        'metadata.namespace': 'llm-app',
        'spec.nodeName': 'node-0',
        'metadata.uid': pod.metadata?.uid ?? '',
        'status.podIP': '10.244.0.9',
        'status.hostIP': '127.0.0.1',
      };
      const env: Record<string, string> = {};
      for (const e of pod.spec?.containers[0]?.env ?? []) {
        const raw = e.value ?? fields[e.valueFrom?.fieldRef?.fieldPath ?? ''];
        if (raw !== undefined)
          env[e.name] = raw.replace(/\$\(([A-Za-z0-9_]+)\)/g, (m, v: string) => env[v] ?? m);
      }
      await runPythonClient({
        variant: 'openai-v2',
        scenario: 'chat',
        model: 'gpt-4o-mini',
        prompt: 'My email is jane.doe@example.com and my card is 4111 1111 1111 1111; where is my order?',
        llmBaseUrl: llm.url,
        otlpEndpoint: processor.otlpHttpEndpoint,
        serviceName: 'chat',
        env: {
          ...env,
          OTEL_EXPORTER_OTLP_ENDPOINT: processor.otlpHttpEndpoint,
          OTEL_SERVICE_NAME: 'chat-injected',
        },
      });
      const spans = await jaeger.waitForSpans(
        'chat-injected',
        (s) => s.attributes['gen_ai.usage.input_tokens'] !== undefined,
        30_000,
      );
      assert.ok(spans.length >= 1);
      assert.equal(
        spans[0]?.resource['k8s.namespace.name'],
        'llm-app',
        'resource attributes from the injected env',
      );
      // Captured because the resource asks for redacted content, and redacted on the way through.
      const input = String(spans[0]?.attributes['gen_ai.input.messages'] ?? '');
      assert.match(input, /<EMAIL>/);
      assert.match(input, /<CREDIT_CARD>/);
      assert.doesNotMatch(input, /jane\.doe@example\.com|4111 1111 1111 1111/);
      assert.doesNotThrow(() => JSON.parse(input), 'still valid JSON');
      // Priced by the rendered llm_cost from the built-in catalogue, and counted by llm_metrics.
      assert.equal(spans[0]?.attributes['gen_ai.usage.cost.status'], 'ok');
      assert.equal(typeof spans[0]?.attributes['gen_ai.usage.cost.amount'], 'number');
      await eventually(
        'llmobs_cost_total on the Prometheus endpoint',
        async () => {
          const scrape = await fetch(`http://127.0.0.1:${processor.ports.prom}/metrics`).then((r) =>
            r.text(),
          );
          return /^llmobs_cost_total\{/m.test(scrape) ? true : undefined;
        },
        10_000,
      );
    } finally {
      await processor.stop();
    }
  });

  test('killed mid-flight and restarted, the operator converges on what changed while it was down', async () => {
    const before = (await resource('chat')).status?.configHash;
    operator.kill('SIGKILL');
    await operator.exited();
    // The validating webhook (failurePolicy Fail) refuses resource edits while no replica serves it, as
    // in any cluster; a policy change is what can still happen meanwhile, and it moves this resource.
    await kubeApply(cp, [
      {
        apiVersion: 'llmobs.dev/v1alpha1',
        kind: 'LLMObservabilityPolicy',
        metadata: { name: 'customer-data' },
        spec: {
          namespaceSelector: { matchLabels: { 'data-class': 'customer' } },
          contentCapture: { maxLevel: 'redacted' },
          exporters: { allowedEndpoints: ['http://jaeger.observability:*'] },
        },
      },
    ]);
    operator = await startOperator();
    const r = await eventually('the new generation observed', async () => {
      const x = await resource('chat');
      return x.status?.observedGeneration === x.metadata.generation && x.status.configHash !== before
        ? x
        : undefined;
    });
    assert.equal(r.status?.outdatedPods, 1, 'the pod instrumented before the change is reported outdated');
    assert.equal(r.status?.instrumentedPods, 0);
    const compliant = r.status?.conditions?.find((c) => c.type === 'PolicyCompliant');
    assert.equal(compliant?.status, 'False');
    assert.match(
      compliant?.message ?? '',
      /endpoint http:\/\/tempo\.observability:4318 is not allowed by policy customer-data/,
    );
  });
});
