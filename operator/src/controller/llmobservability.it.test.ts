import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  AppsV1Api,
  CoreV1Api,
  CustomObjectsApi,
  PatchStrategy,
  setHeaderOptions,
} from '@kubernetes/client-node';
import { pino } from 'pino';
import { type ControlPlane, startControlPlane } from '../../../test/harness/control-plane.ts';
import { kubeApply } from '../../../test/harness/kube-apply.ts';
import { type Kwok, startKwok } from '../../../test/harness/kwok.ts';
import type { LLMObservabilityStatus } from '../api/v1alpha1/types.gen.ts';
import type { LLMObservability, LLMObservabilityPolicy } from '../manifests/resources.ts';
import { KubeClusterWriter } from './cluster-writer.ts';
import { LLMObservabilityReconciler } from './llmobservability.ts';
import { uninstrumentedFor } from './pod-cache.ts';
import type { Stores } from './ports.ts';
import { rolloutPod } from './rollout.ts';

const crdsDir = join(import.meta.dirname, '..', '..', '..', 'crds');

/** Stores filled from the apiserver right before each reconcile (the operator uses informers instead). */
async function snapshot(cp: ControlPlane): Promise<Stores> {
  const kc = cp.kubeConfig();
  const custom = kc.makeApiClient(CustomObjectsApi);
  const crs = (await custom.listClusterCustomObject({
    group: 'llmobs.dev',
    version: 'v1alpha1',
    plural: 'llmobservabilities',
  })) as {
    items: LLMObservability[];
  };
  const policies = (await custom.listClusterCustomObject({
    group: 'llmobs.dev',
    version: 'v1alpha1',
    plural: 'llmobservabilitypolicies',
  })) as { items: LLMObservabilityPolicy[] };
  const namespaces = await kc.makeApiClient(CoreV1Api).listNamespace();
  const deployments = await kc.makeApiClient(AppsV1Api).listDeploymentForAllNamespaces();
  const pods = await kc.makeApiClient(CoreV1Api).listPodForAllNamespaces();
  return {
    resource: (ns, name) => crs.items.find((c) => c.metadata.namespace === ns && c.metadata.name === name),
    policies: () => policies.items,
    namespaceLabels: (ns) => namespaces.items.find((n) => n.metadata?.name === ns)?.metadata?.labels ?? {},
    instrumentedPods: (ns, name) =>
      pods.items
        .filter((p) => p.metadata?.annotations?.['llmobs.dev/applied-by'] === `${ns}/${name}`)
        .map((p) => rolloutPod(p)),
    uninstrumentedPods: (ns, name) =>
      uninstrumentedFor(
        name,
        crs.items.filter((c) => c.metadata.namespace === ns),
        pods.items.filter((p) => p.metadata?.namespace === ns),
      ),
    readyReplicas: (ns, name) =>
      deployments.items.find((d) => d.metadata?.namespace === ns && d.metadata?.name === name)?.status
        ?.readyReplicas,
  };
}

describe('LLMObservability reconciler against a real control plane', () => {
  let cp: ControlPlane;
  let kwok: Kwok;

  before(async () => {
    cp = await startControlPlane({
      scheduler: true,
      controllerManager: true,
      crds: [
        join(crdsDir, 'llmobs.dev_llmobservabilities.yaml'),
        join(crdsDir, 'llmobs.dev_llmobservabilitypolicies.yaml'),
      ],
    });
    kwok = await startKwok(cp);
    await kwok.addNode('node-0');
    await kubeApply(cp, [
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
        },
      },
      {
        apiVersion: 'llmobs.dev/v1alpha1',
        kind: 'LLMObservability',
        metadata: { name: 'chat', namespace: 'llm-app' },
        spec: { contentCapture: 'full', exporters: [{ name: 'tempo', endpoint: 'http://tempo:4318' }] },
      },
    ]);
  });
  after(async () => {
    await kwok?.stop();
    await cp?.stop();
  });

  test('converges to a running gateway with truthful status, and the gateway goes when the resource does', async () => {
    const kc = cp.kubeConfig();
    const writer = new KubeClusterWriter(kc);
    const reconcile = async () =>
      new LLMObservabilityReconciler(await snapshot(cp), writer, {
        processorImage: 'llmobs/processor:test',
        logger: pino({ level: 'silent' }),
      }).reconcile({ namespace: 'llm-app', name: 'chat' });

    assert.deepEqual(await reconcile(), { requeueAfterMs: 10_000 }, 'not ready before the gateway pod runs');
    const apps = kc.makeApiClient(AppsV1Api);
    const dep = await apps.readNamespacedDeployment({ namespace: 'llm-app', name: 'llmobs-processor-chat' });
    assert.equal(dep.metadata?.ownerReferences?.[0]?.kind, 'LLMObservability');
    const cm = await kc
      .makeApiClient(CoreV1Api)
      .readNamespacedConfigMap({ namespace: 'llm-app', name: 'llmobs-processor-chat' });
    assert.match(cm.data?.['config.yaml'] ?? '', /otlp_http\/tempo/);

    // kwok runs the gateway pod; once the Deployment reports it ready, the resource is Ready.
    let result = await reconcile();
    for (let i = 0; i < 100 && result.requeueAfterMs !== undefined; i++) {
      await sleep(200);
      result = await reconcile();
    }
    assert.deepEqual(result, {});
    const cr = (await kc.makeApiClient(CustomObjectsApi).getNamespacedCustomObject({
      group: 'llmobs.dev',
      version: 'v1alpha1',
      namespace: 'llm-app',
      plural: 'llmobservabilities',
      name: 'chat',
    })) as LLMObservability & { status: LLMObservabilityStatus };
    const cond = (t: string) => cr.status.conditions?.find((c) => c.type === t);
    assert.equal(cond('Ready')?.status, 'True');
    assert.equal(cond('ProcessorReady')?.status, 'True');
    assert.equal(cond('PolicyCompliant')?.status, 'False', 'full capture is held at the policy maximum');
    assert.equal(cr.status.observedGeneration, cr.metadata.generation);

    const events = await kc.makeApiClient(CoreV1Api).listNamespacedEvent({ namespace: 'llm-app' });
    assert.ok(
      events.items.some((e) => e.reason === 'PolicyFloorApplied' && e.involvedObject.name === 'chat'),
    );

    await kc.makeApiClient(CustomObjectsApi).deleteNamespacedCustomObject({
      group: 'llmobs.dev',
      version: 'v1alpha1',
      namespace: 'llm-app',
      plural: 'llmobservabilities',
      name: 'chat',
    });
    let gone = false;
    for (let i = 0; i < 150 && !gone; i++) {
      await sleep(200);
      gone = await apps
        .readNamespacedDeployment({ namespace: 'llm-app', name: 'llmobs-processor-chat' })
        .then(
          () => false,
          () => true,
        );
    }
    assert.ok(gone, 'the garbage collector removed the gateway Deployment through its owner reference');
  });

  test('rollout restarts a Deployment whose pods carry an older config hash, once per hash', async () => {
    const kc = cp.kubeConfig();
    const writer = new KubeClusterWriter(kc);
    const apps = kc.makeApiClient(AppsV1Api);
    const custom = kc.makeApiClient(CustomObjectsApi);
    const reconcile = async () =>
      new LLMObservabilityReconciler(await snapshot(cp), writer, {
        processorImage: 'llmobs/processor:test',
        logger: pino({ level: 'silent' }),
      }).reconcile({ namespace: 'llm-app', name: 'web' });
    const obs = {
      group: 'llmobs.dev',
      version: 'v1alpha1',
      namespace: 'llm-app',
      plural: 'llmobservabilities',
      name: 'web',
    };
    // Pods as the webhook would have left them for an older configuration (it does not run here).
    await kubeApply(cp, [
      {
        apiVersion: 'llmobs.dev/v1alpha1',
        kind: 'LLMObservability',
        metadata: { name: 'web', namespace: 'llm-app' },
        spec: { exporters: [{ name: 'tempo', endpoint: 'http://tempo:4318' }] },
      },
      {
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        metadata: { name: 'web', namespace: 'llm-app' },
        spec: {
          replicas: 1,
          selector: { matchLabels: { app: 'web' } },
          template: {
            metadata: {
              labels: { app: 'web' },
              annotations: { 'llmobs.dev/applied-by': 'llm-app/web', 'llmobs.dev/config-hash': 'old' },
            },
            spec: { containers: [{ name: 'app', image: 'example.com/web:1' }] },
          },
        },
      } as { apiVersion: string; kind: string; metadata: { name: string } },
    ]);
    let outdated = 0;
    for (let i = 0; i < 100 && outdated === 0; i++) {
      await reconcile();
      const cr = (await custom.getNamespacedCustomObject(obs)) as { status?: LLMObservabilityStatus };
      outdated = cr.status?.outdatedPods ?? 0;
      if (outdated === 0) await sleep(200);
    }
    assert.equal(outdated, 1, 'the Deployment pod counts as outdated');
    let dep = await apps.readNamespacedDeployment({ namespace: 'llm-app', name: 'web' });
    assert.equal(dep.spec?.template.metadata?.annotations?.['kubectl.kubernetes.io/restartedAt'], undefined);

    // The resource changes and opts in: the Deployment is restarted for the new hash.
    await custom.patchNamespacedCustomObject(
      {
        ...obs,
        body: {
          spec: {
            contentCapture: 'redacted',
            rollout: { enabled: true },
          },
        },
      },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
    );
    await reconcile();
    dep = await apps.readNamespacedDeployment({ namespace: 'llm-app', name: 'web' });
    const cr = (await custom.getNamespacedCustomObject(obs)) as { status: LLMObservabilityStatus };
    const restartedAt = dep.spec?.template.metadata?.annotations?.['kubectl.kubernetes.io/restartedAt'];
    assert.match(restartedAt ?? '', /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    assert.equal(
      dep.spec?.template.metadata?.annotations?.['llmobs.dev/restarted-for-hash'],
      cr.status.configHash,
    );
    assert.equal(cr.status.rollout?.restartedWorkloads, 1);
    assert.equal(cr.status.rollout?.pendingWorkloads, 0);

    // The new pods still carry the old hash (no webhook here): a second reconcile does not restart again.
    await sleep(1_100);
    await reconcile();
    const again = await apps.readNamespacedDeployment({ namespace: 'llm-app', name: 'web' });
    assert.equal(
      again.spec?.template.metadata?.annotations?.['kubectl.kubernetes.io/restartedAt'],
      restartedAt,
    );
    const events = await kc.makeApiClient(CoreV1Api).listNamespacedEvent({ namespace: 'llm-app' });
    const restarts = events.items.filter(
      (e) => e.reason === 'RolloutRestarted' && e.involvedObject.name === 'web',
    );
    assert.equal(restarts.length, 1);
    assert.match(restarts[0]?.message ?? '', /restarted Deployment web/);
  });
});
