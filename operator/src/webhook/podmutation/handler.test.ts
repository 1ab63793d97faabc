import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { V1Pod } from '@kubernetes/client-node';
import { applyResponse, decodePatch } from '../admission.ts';
import {
  type ConfigSource,
  defaultWebhookSettings,
  InMemoryConfigSource,
  type NamespaceMeta,
} from './config.ts';
import { admitPod, type PodAdmissionDeps } from './handler.ts';
import type { PodMutator } from './mutator.ts';
import { deploymentPod, envOf, podRequest, settings, source } from './testdata.ts';

function deps(
  sources: ConfigSource | ReturnType<typeof source>[] = [source('obs')],
  ns: NamespaceMeta = {},
  overrides: Partial<PodAdmissionDeps> = {},
): PodAdmissionDeps {
  return {
    configSource: Array.isArray(sources) ? new InMemoryConfigSource(sources) : sources,
    namespaces: { get: () => ns },
    settings,
    ...overrides,
  };
}

/** Admits `pod` and returns the pod the apiserver would store (the patch applied to the original). */
async function admitted(pod: V1Pod, d: PodAdmissionDeps = deps(), opts: { dryRun?: boolean } = {}) {
  const res = await admitPod(podRequest(pod, opts), d);
  assert.equal(res.response.allowed, true);
  return { ...res, pod: applyResponse(pod, res.response) };
}

const PY_PATH =
  '/llmobs-instrumentation/python/opentelemetry/instrumentation/auto_instrumentation:/llmobs-instrumentation/python';

describe('admitPod on a Deployment pod selected by an LLMObservability', () => {
  test('produces exactly the expected pod: env, bundle init container, volume, annotations (gateway, python)', async () => {
    const d = deps([
      source('obs', {
        languages: ['python'],
        contentCapture: 'redacted',
        env: [{ name: 'LLMOBS_TEAM', value: 'a' }],
        resourceAttributes: { 'deployment.environment.name': 'prod' },
      }),
    ]);
    const { pod, outcome, reason } = await admitted(deploymentPod(), d);
    assert.equal(outcome, 'injected');
    assert.equal(reason, 'Injected');

    const expected: V1Pod = deploymentPod();
    expected.metadata = {
      ...expected.metadata,
      annotations: {
        'llmobs.dev/injection-status': 'injected',
        'llmobs.dev/injection-reason':
          'Injected: matched the label selector -> team-a/obs; containers app; auto-instrumentation python; processor gateway',
        'llmobs.dev/config-hash': 'c0ffee',
        'llmobs.dev/applied-by': 'team-a/obs',
      },
    };
    expected.spec = {
      initContainers: [
        {
          name: 'llmobs-python',
          image: 'registry.example/llmobs/python:1.0.0',
          imagePullPolicy: 'IfNotPresent',
          command: ['cp', '-r', '/autoinstrumentation/.', '/llmobs-instrumentation/python'],
          volumeMounts: [{ name: 'llmobs-python', mountPath: '/llmobs-instrumentation/python' }],
          securityContext: {
            runAsUser: 10001,
            runAsNonRoot: true,
            seccompProfile: { type: 'RuntimeDefault' },
            allowPrivilegeEscalation: false,
            privileged: false,
            readOnlyRootFilesystem: true,
            capabilities: { drop: ['ALL'] },
          },
          // Never more than the pod already asks for: scheduling and QoS are unchanged.
          resources: { requests: { cpu: '50m', memory: '64Mi' }, limits: { cpu: '500m', memory: '256Mi' } },
        },
      ],
      containers: [
        {
          name: 'app',
          image: 'registry.example/chat-api:2.3.1',
          env: [
            { name: 'OPENAI_BASE_URL', value: 'http://mock-llm:8080/v1' },
            { name: 'PYTHONPATH', value: PY_PATH },
            {
              name: 'OTEL_RESOURCE_ATTRIBUTES_POD_NAME',
              valueFrom: { fieldRef: { fieldPath: 'metadata.name' } },
            },
            {
              name: 'OTEL_RESOURCE_ATTRIBUTES_POD_UID',
              valueFrom: { fieldRef: { fieldPath: 'metadata.uid' } },
            },
            {
              name: 'OTEL_RESOURCE_ATTRIBUTES_NODE_NAME',
              valueFrom: { fieldRef: { fieldPath: 'spec.nodeName' } },
            },
            { name: 'OTEL_SERVICE_NAME', value: 'chat-api' },
            { name: 'OTEL_EXPORTER_OTLP_ENDPOINT', value: 'http://llmobs-processor-obs.team-a.svc:4318' },
            { name: 'OTEL_EXPORTER_OTLP_PROTOCOL', value: 'http/protobuf' },
            { name: 'OTEL_TRACES_SAMPLER', value: 'parentbased_traceidratio' },
            { name: 'OTEL_TRACES_SAMPLER_ARG', value: '0.25' },
            { name: 'OTEL_SEMCONV_STABILITY_OPT_IN', value: 'gen_ai_latest_experimental' },
            { name: 'OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT', value: 'SPAN_ONLY' },
            { name: 'TRACELOOP_TRACE_CONTENT', value: 'true' },
            { name: 'OPENINFERENCE_HIDE_INPUTS', value: 'false' },
            { name: 'OPENINFERENCE_HIDE_OUTPUTS', value: 'false' },
            { name: 'OPENINFERENCE_HIDE_INPUT_MESSAGES', value: 'false' },
            { name: 'OPENINFERENCE_HIDE_OUTPUT_MESSAGES', value: 'false' },
            { name: 'OPENINFERENCE_HIDE_INPUT_IMAGES', value: 'false' },
            { name: 'OPENINFERENCE_HIDE_INPUT_TEXT', value: 'false' },
            { name: 'OPENINFERENCE_HIDE_OUTPUT_TEXT', value: 'false' },
            { name: 'OPENINFERENCE_HIDE_PROMPTS', value: 'false' },
            { name: 'OPENINFERENCE_HIDE_CHOICES', value: 'false' },
            { name: 'OPENINFERENCE_HIDE_EMBEDDINGS_TEXT', value: 'false' },
            { name: 'OPENINFERENCE_HIDE_EMBEDDINGS_VECTORS', value: 'false' },
            { name: 'OPENINFERENCE_HIDE_RETRIEVAL_DOCUMENTS', value: 'false' },
            { name: 'LLMOBS_TEAM', value: 'a' },
            {
              name: 'OTEL_RESOURCE_ATTRIBUTES',
              value:
                'k8s.namespace.name=team-a,k8s.pod.name=$(OTEL_RESOURCE_ATTRIBUTES_POD_NAME),' +
                'k8s.pod.uid=$(OTEL_RESOURCE_ATTRIBUTES_POD_UID),k8s.node.name=$(OTEL_RESOURCE_ATTRIBUTES_NODE_NAME),' +
                'k8s.container.name=app,k8s.deployment.name=chat-api,k8s.replicaset.name=chat-api-7d9f8b6c5d,' +
                'deployment.environment.name=prod',
            },
          ],
          resources: { requests: { cpu: '250m', memory: '256Mi' }, limits: { cpu: '1', memory: '512Mi' } },
          securityContext: { runAsUser: 10001, runAsNonRoot: true },
          volumeMounts: [
            { name: 'llmobs-python', mountPath: '/llmobs-instrumentation/python', readOnly: true },
          ],
        },
      ],
      volumes: [{ name: 'llmobs-python', emptyDir: { sizeLimit: '200Mi' } }],
    };
    assert.deepEqual(pod, expected);
  });

  test('a second admission of the mutated pod is a no-op (empty patch)', async () => {
    const d = deps([
      source('obs', {
        languages: ['python', 'nodejs'],
        mode: 'sidecar',
        sidecar: { image: 'p:1', configMapName: 'cm' },
      }),
    ]);
    const first = await admitted(deploymentPod(), d);
    const second = await admitPod(podRequest(first.pod), d);
    assert.equal(second.outcome, 'ignored');
    assert.equal(second.reason, 'AlreadyInstrumented');
    assert.equal(second.response.patch, undefined);
    assert.deepEqual(decodePatch(second.response), []);
  });

  test('every mutator is idempotent on its own output, even without the marker', async () => {
    const d = deps([
      source('obs', {
        languages: ['python', 'nodejs'],
        mode: 'sidecar',
        sidecar: { image: 'p:1', configMapName: 'cm' },
      }),
    ]);
    const once = (await admitted(deploymentPod(), d)).pod;
    const annotations = { ...once.metadata?.annotations };
    delete annotations['llmobs.dev/injection-status'];
    const unmarked: V1Pod = { ...once, metadata: { ...once.metadata, annotations } };
    const twice = (await admitted(unmarked, d)).pod;
    assert.deepEqual(twice, once);
  });

  test('does not change the pod object it was given', async () => {
    const pod = deploymentPod();
    const before = structuredClone(pod);
    await admitPod(podRequest(pod), deps([source('obs', { languages: ['python'] })]));
    assert.deepEqual(pod, before);
  });

  test('a dry-run is mutated the same way and says so', async () => {
    const real = await admitted(deploymentPod(), deps());
    const dry = await admitted(deploymentPod(), deps(), { dryRun: true });
    assert.equal(dry.dryRun, true);
    assert.equal(real.dryRun, false);
    assert.deepEqual(dry.pod, real.pod);
  });
});

describe('admitPod leaves pods that are not ours untouched', () => {
  const cases: readonly { id: string; pod: V1Pod; ns?: NamespaceMeta; namespace?: string; reason: string }[] =
    [
      {
        id: 'pod annotation false',
        pod: deploymentPod({ annotations: { 'llmobs.dev/inject': 'false' } }),
        reason: 'OptedOut',
      },
      {
        id: 'namespace annotation false',
        pod: deploymentPod(),
        ns: { annotations: { 'llmobs.dev/inject': 'false' } },
        reason: 'OptedOut',
      },
      { id: 'kube-system', pod: deploymentPod(), namespace: 'kube-system', reason: 'ExcludedNamespace' },
      {
        id: 'the operator own pods',
        pod: deploymentPod({ labels: { 'app.kubernetes.io/part-of': 'llmobs' } }),
        reason: 'OperatorPod',
      },
    ];
  for (const c of cases) {
    test(`${c.id}: no patch, outcome ignored`, async () => {
      const res = await admitPod(
        podRequest(c.pod, { namespace: c.namespace ?? 'team-a' }),
        deps([source('obs')], c.ns ?? {}),
      );
      assert.equal(res.response.allowed, true);
      assert.equal(res.response.patch, undefined);
      assert.equal(res.outcome, 'ignored');
      assert.equal(res.reason, c.reason);
    });
  }

  test('kube-system pods cost no lookup at all', async () => {
    let lookups = 0;
    const d = deps(
      {
        forNamespace: () => {
          lookups++;
          return [];
        },
      },
      {},
    );
    await admitPod(podRequest(deploymentPod(), { namespace: 'kube-system' }), d);
    assert.equal(lookups, 0);
  });

  test('a namespace without LLMObservability: untouched', async () => {
    const res = await admitPod(podRequest(deploymentPod()), deps([]));
    assert.equal(res.response.patch, undefined);
    assert.equal(res.reason, 'NoLLMObservability');
  });
});

describe('admitPod marks the pod when it asked for injection but cannot get it', () => {
  test('inject=true in a namespace without LLMObservability: skipped with the reason', async () => {
    const { pod, outcome } = await admitted(
      deploymentPod({ annotations: { 'llmobs.dev/inject': 'true' } }),
      deps([]),
    );
    assert.equal(outcome, 'skipped');
    assert.equal(pod.metadata?.annotations?.['llmobs.dev/injection-status'], 'skipped');
    assert.match(
      pod.metadata?.annotations?.['llmobs.dev/injection-reason'] ?? '',
      /^NoLLMObservability: pod annotated/,
    );
    assert.deepEqual(pod.spec, deploymentPod().spec);
  });

  test('container-names that match nothing: skipped, spec untouched', async () => {
    const { pod, reason } = await admitted(
      deploymentPod({ annotations: { 'llmobs.dev/container-names': 'nope' } }),
    );
    assert.equal(reason, 'NoTargetContainer');
    assert.equal(pod.metadata?.annotations?.['llmobs.dev/injection-status'], 'skipped');
    assert.deepEqual(pod.spec, deploymentPod().spec);
  });

  test('sidecar mode on a run-to-completion pod without native sidecars: skipped', async () => {
    const job = deploymentPod();
    job.spec = { ...job.spec, containers: job.spec?.containers ?? [], restartPolicy: 'Never' };
    const d = deps(
      [source('obs', { mode: 'sidecar', sidecar: { image: 'p:1', configMapName: 'cm' } })],
      {},
      {
        settings: defaultWebhookSettings({ nativeSidecars: false }),
      },
    );
    const { pod, reason } = await admitted(job, d);
    assert.equal(reason, 'SidecarNeedsNativeSupport');
    assert.deepEqual(pod.spec, job.spec);
  });
});

describe('admitPod fails open, visibly', () => {
  test('a throwing config source: allowed, status error with the reason, a warning', async () => {
    const broken: ConfigSource = {
      forNamespace: () => {
        throw new Error('cache not synced');
      },
    };
    const res = await admitPod(podRequest(deploymentPod()), deps(broken));
    assert.equal(res.response.allowed, true);
    assert.equal(res.outcome, 'error');
    assert.equal(res.reason, 'InternalError');
    const pod = applyResponse(deploymentPod(), res.response);
    assert.equal(pod.metadata?.annotations?.['llmobs.dev/injection-status'], 'error');
    assert.equal(
      pod.metadata?.annotations?.['llmobs.dev/injection-reason'],
      'InternalError: cache not synced',
    );
    assert.deepEqual(pod.spec, deploymentPod().spec);
    assert.match(res.response.warnings?.[0] ?? '', /admitted without it: cache not synced/);
  });

  test('a throwing mutator: the same, and nothing half-done reaches the pod', async () => {
    const boom: PodMutator = {
      name: 'boom',
      mutate: () => {
        throw new Error('boom');
      },
    };
    const res = await admitPod(podRequest(deploymentPod()), deps(undefined, {}, { mutators: [boom] }));
    const pod = applyResponse(deploymentPod(), res.response);
    assert.equal(pod.metadata?.annotations?.['llmobs.dev/injection-status'], 'error');
    assert.deepEqual(pod.spec, deploymentPod().spec);
  });

  test('a config source slower than the deadline: error before the apiserver gives up', async () => {
    const slow: ConfigSource = {
      forNamespace: () => new Promise((r) => setTimeout(() => r([]), 5_000).unref()),
    };
    const started = Date.now();
    const res = await admitPod(
      podRequest(deploymentPod()),
      deps(slow, {}, { settings: defaultWebhookSettings({ deadlineMs: 50 }) }),
    );
    assert.ok(Date.now() - started < 2_000);
    assert.equal(res.outcome, 'error');
    assert.match(res.message, /took longer than 50ms/);
  });

  test('an invalid effective config: status error InvalidConfig listing every problem', async () => {
    const res = await admitPod(
      podRequest(deploymentPod()),
      deps([source('obs', { samplingRatio: 2, mode: 'sidecar', languages: ['python'], images: {} })]),
    );
    assert.equal(res.outcome, 'error');
    assert.equal(res.reason, 'InvalidConfig');
    const reason =
      applyResponse(deploymentPod(), res.response).metadata?.annotations?.['llmobs.dev/injection-reason'] ??
      '';
    assert.match(reason, /samplingRatio 2/);
    assert.match(reason, /sidecar mode without a sidecar spec/);
    assert.match(reason, /no image for language python/);
  });

  test('not a pod CREATE: allowed untouched', async () => {
    const req = { ...podRequest(deploymentPod()), operation: 'UPDATE' as const };
    const res = await admitPod(req, deps());
    assert.equal(res.outcome, 'ignored');
    assert.equal(res.response.patch, undefined);
  });
});

describe('admitPod chooses among several LLMObservability deterministically', () => {
  test('the oldest applies, and the reason names the others', async () => {
    const d = deps([
      source('newer', { configHash: 'new' }, { created: '2026-05-01T00:00:00Z' }),
      source('older', { configHash: 'old' }, { created: '2025-05-01T00:00:00Z' }),
    ]);
    const { pod } = await admitted(deploymentPod(), d);
    assert.equal(pod.metadata?.annotations?.['llmobs.dev/applied-by'], 'team-a/older');
    assert.equal(pod.metadata?.annotations?.['llmobs.dev/config-hash'], 'old');
    assert.match(
      pod.metadata?.annotations?.['llmobs.dev/injection-reason'] ?? '',
      /also selected by newer, using older/,
    );
  });
});

describe('admitPod in sidecar mode', () => {
  const sidecar = { image: 'registry.example/llmobs/processor:0.1.0', configMapName: 'llmobs-processor-obs' };

  test('native sidecar: the processor is an init container with restartPolicy Always, the app exports to localhost', async () => {
    const { pod } = await admitted(deploymentPod(), deps([source('obs', { mode: 'sidecar', sidecar })]));
    const init = pod.spec?.initContainers ?? [];
    assert.deepEqual(
      init.map((c) => [c.name, c.restartPolicy]),
      [['llmobs-processor', 'Always']],
    );
    assert.deepEqual(init[0]?.args, ['--config', '/etc/llmobs/config.yaml']);
    assert.deepEqual(
      pod.spec?.containers.map((c) => c.name),
      ['app'],
    );
    assert.equal(envOf(pod, 'app', 'OTEL_EXPORTER_OTLP_ENDPOINT'), 'http://localhost:4318');
    assert.equal(envOf(pod, 'app', 'OTEL_EXPORTER_OTLP_PROTOCOL'), 'http/protobuf');
    assert.equal(envOf(pod, 'llmobs-processor', 'OTEL_EXPORTER_OTLP_ENDPOINT'), undefined);
    assert.deepEqual(pod.spec?.volumes?.find((v) => v.name === 'llmobs-processor-config')?.configMap, {
      name: 'llmobs-processor-obs',
    });
    assert.match(
      pod.metadata?.annotations?.['llmobs.dev/injection-reason'] ?? '',
      /processor sidecar \(native\)/,
    );
  });

  test('without native sidecars: a plain container next to the app', async () => {
    const d = deps(
      [source('obs', { mode: 'sidecar', sidecar })],
      {},
      { settings: defaultWebhookSettings({ nativeSidecars: false }) },
    );
    const { pod } = await admitted(deploymentPod(), d);
    assert.deepEqual(
      pod.spec?.containers.map((c) => [c.name, c.restartPolicy]),
      [
        ['app', undefined],
        ['llmobs-processor', undefined],
      ],
    );
    assert.equal(pod.spec?.initContainers, undefined);
    assert.equal(envOf(pod, 'app', 'OTEL_EXPORTER_OTLP_ENDPOINT'), 'http://localhost:4318');
  });
});
