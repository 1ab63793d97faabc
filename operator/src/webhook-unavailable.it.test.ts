import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { AdmissionregistrationV1Api, CoreV1Api, CustomObjectsApi, type V1Pod } from '@kubernetes/client-node';
import { type ControlPlane, startControlPlane } from '../../test/harness/control-plane.ts';
import { eventually } from '../../test/harness/eventually.ts';
import { kubeApply } from '../../test/harness/kube-apply.ts';
import { type Kwok, startKwok } from '../../test/harness/kwok.ts';
import { freePorts } from '../../test/harness/ports.ts';
import { httpOk, ManagedProcess } from '../../test/harness/process.ts';
import type { LLMObservabilityStatus } from './api/v1alpha1/types.gen.ts';

const root = join(import.meta.dirname, '..', '..');
const crds = [
  join(root, 'crds', 'llmobs.dev_llmobservabilities.yaml'),
  join(root, 'crds', 'llmobs.dev_llmobservabilitypolicies.yaml'),
];

const env = (pod: V1Pod) =>
  Object.fromEntries((pod.spec?.containers[0]?.env ?? []).map((e) => [e.name, e.value]));

/**
 * The fault "webhook unavailable": with the operator down, the pod webhook (failurePolicy
 * Ignore, the default) cannot be called, and the apiserver admits pods unmutated. They must still
 * start, be visibly uninstrumented, and be caught by the resource's status once the operator is back.
 */
describe('pod webhook unreachable (operator down, failurePolicy Ignore)', () => {
  let cp: ControlPlane;
  let kwok: Kwok;
  let operator: ManagedProcess | undefined;
  let ports: number[];

  const startOperator = async () => {
    const [webhook, metrics, health] = ports as [number, number, number];
    const proc = ManagedProcess.start({
      name: 'llmobs-operator',
      logDir: cp.dir,
      command: process.execPath,
      args: [
        join(root, 'operator', 'src', 'main.ts'),
        `--kubeconfig=${cp.kubeconfigPath}`,
        '--namespace=llmobs-system',
        `--webhook-url=https://127.0.0.1:${webhook}`,
        `--webhook-port=${webhook}`,
        `--metrics-bind-address=127.0.0.1:${metrics}`,
        `--health-probe-bind-address=127.0.0.1:${health}`,
        '--processor-image=llmobs/processor:test',
      ],
    });
    await proc.waitUntil(() => httpOk(`http://127.0.0.1:${health}/readyz`), 'operator /readyz', 60_000);
    return proc;
  };
  const status = async (): Promise<LLMObservabilityStatus | undefined> =>
    (
      (await cp.kubeConfig().makeApiClient(CustomObjectsApi).getNamespacedCustomObject({
        group: 'llmobs.dev',
        version: 'v1alpha1',
        namespace: 'llm-app',
        plural: 'llmobservabilities',
        name: 'chat',
      })) as { status?: LLMObservabilityStatus }
    ).status;
  const createPod = (name: string) =>
    cp
      .kubeConfig()
      .makeApiClient(CoreV1Api)
      .createNamespacedPod({
        namespace: 'llm-app',
        body: {
          metadata: { name, labels: { app: 'chat' } },
          spec: { nodeName: 'node-0', containers: [{ name: 'app', image: 'example.invalid/chat:1' }] },
        },
      });

  before(async () => {
    cp = await startControlPlane({ scheduler: true, controllerManager: true, crds });
    kwok = await startKwok(cp);
    await kwok.addNode('node-0');
    ports = await freePorts(3);
    await kubeApply(cp, [
      { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'llmobs-system' } },
      { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'llm-app' } },
    ]);
    operator = await startOperator();
    await kubeApply(cp, [
      {
        apiVersion: 'llmobs.dev/v1alpha1',
        kind: 'LLMObservability',
        metadata: { name: 'chat', namespace: 'llm-app' },
        spec: {
          selector: { matchLabels: { app: 'chat' } },
          exporters: [{ name: 'tempo', endpoint: 'http://tempo.observability:4318' }],
        },
      },
    ]);
    await eventually('Ready=True', async () =>
      (await status())?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ? true : undefined,
    );
  });
  after(async () => {
    await operator?.stop();
    await kwok?.stop();
    await cp?.stop();
  });

  test('with the operator up a selected pod is instrumented (the baseline)', async () => {
    const pod = await createPod('chat-0');
    assert.equal(pod.metadata?.annotations?.['llmobs.dev/injection-status'], 'injected');
    assert.ok(env(pod).OTEL_EXPORTER_OTLP_ENDPOINT);
    await eventually('instrumentedPods 1', async () =>
      (await status())?.instrumentedPods === 1 ? true : undefined,
    );
  });

  test('with the operator down a selected pod is admitted, starts, is visibly uninstrumented, and is caught by status', async () => {
    const hook = await cp
      .kubeConfig()
      .makeApiClient(AdmissionregistrationV1Api)
      .readMutatingWebhookConfiguration({ name: 'llmobs' });
    assert.equal(hook.webhooks?.[0]?.failurePolicy, 'Ignore', 'fail open is the default');
    operator?.kill('SIGKILL');
    await operator?.exited();
    operator = undefined;

    const pod = await createPod('chat-1');
    assert.equal(
      pod.metadata?.annotations?.['llmobs.dev/injection-status'],
      undefined,
      'no injection status',
    );
    assert.equal(env(pod).OTEL_EXPORTER_OTLP_ENDPOINT, undefined, 'no OTel environment');
    assert.deepEqual(
      pod.spec?.containers.map((c) => c.name),
      ['app'],
      'no sidecar',
    );
    await eventually('the uninstrumented pod Running', async () => {
      const p = await cp
        .kubeConfig()
        .makeApiClient(CoreV1Api)
        .readNamespacedPod({ namespace: 'llm-app', name: 'chat-1' });
      return p.status?.phase === 'Running' ? true : undefined;
    });

    // Back up, the operator catches it: the pod that escaped is counted apart from what it instrumented,
    // and said in a Warning Event.
    operator = await startOperator();
    await eventually('status after the restart', async () => {
      const s = await status();
      return s?.instrumentedPods === 1 && s.outdatedPods === 0 && s.uninstrumentedPods === 1
        ? true
        : undefined;
    });
    await eventually('a PodsNotInstrumented event', async () => {
      const events = await cp
        .kubeConfig()
        .makeApiClient(CoreV1Api)
        .listNamespacedEvent({ namespace: 'llm-app' });
      return events.items.some((e) => e.reason === 'PodsNotInstrumented' && e.type === 'Warning')
        ? true
        : undefined;
    });
  });
});
