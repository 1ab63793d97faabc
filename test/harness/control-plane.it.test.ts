import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { AppsV1Api, CoreV1Api, CustomObjectsApi, VersionApi } from '@kubernetes/client-node';
import { versions } from './cache.ts';
import { type ControlPlane, startControlPlane } from './control-plane.ts';
import { eventually } from './eventually.ts';
import { kubeApply } from './kube-apply.ts';
import { type Kwok, startKwok } from './kwok.ts';

const here = import.meta.dirname;

describe('control plane (kube-apiserver + etcd + scheduler + controller-manager + kwok)', () => {
  let cp: ControlPlane;
  let kwok: Kwok;

  before(async () => {
    cp = await startControlPlane({ scheduler: true, controllerManager: true });
    kwok = await startKwok(cp);
  });
  after(async () => {
    await kwok?.stop();
    await cp?.stop();
  });

  test('reports the pinned Kubernetes version', async () => {
    const info = await cp.kubeConfig().makeApiClient(VersionApi).getCode();
    assert.equal(info.gitVersion, versions().K8S_VERSION);
  });

  test('serves a CRD with defaults and a status subresource, and keeps it across an apiserver restart', async () => {
    const kc = cp.kubeConfig();
    await kubeApply(cp, join(here, 'fixtures/widgets.crd.yaml'));
    const custom = kc.makeApiClient(CustomObjectsApi);
    const ref = { group: 'harness.llmobs.dev', version: 'v1', namespace: 'default', plural: 'widgets' };
    const created = (await eventually('the widgets API to be served', () =>
      custom.createNamespacedCustomObject({
        ...ref,
        body: { apiVersion: 'harness.llmobs.dev/v1', kind: 'Widget', metadata: { name: 'w1' }, spec: {} },
      }),
    )) as { spec: { size: number } };
    assert.equal(created.spec.size, 3, 'the schema default was applied');

    await assert.rejects(
      custom.createNamespacedCustomObject({
        ...ref,
        body: {
          apiVersion: 'harness.llmobs.dev/v1',
          kind: 'Widget',
          metadata: { name: 'w2' },
          spec: { size: 0 },
        },
      }),
      (err: Error) => /spec.size/.test(err.message),
      'schema validation names the field',
    );

    await custom.patchNamespacedCustomObjectStatus({
      ...ref,
      name: 'w1',
      body: [{ op: 'add', path: '/status', value: { observedGeneration: 1 } }],
    });

    await cp.restartApiServer();
    const kept = (await custom.getNamespacedCustomObject({ ...ref, name: 'w1' })) as {
      status?: { observedGeneration?: number };
    };
    assert.equal(kept.status?.observedGeneration, 1);
  });

  test('a Deployment gets Pods that are scheduled onto a kwok Node and become Running', async () => {
    const kc = cp.kubeConfig();
    await kwok.addNode('kwok-node-0');
    const core = kc.makeApiClient(CoreV1Api);
    await eventually('kwok to mark the node Ready', async () => {
      const node = await core.readNode({ name: 'kwok-node-0' });
      return node.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True')
        ? true
        : undefined;
    });
    await core.createNamespace({ body: { metadata: { name: 'llm-app' } } });
    await kc.makeApiClient(AppsV1Api).createNamespacedDeployment({
      namespace: 'llm-app',
      body: {
        metadata: { name: 'chat' },
        spec: {
          replicas: 2,
          selector: { matchLabels: { app: 'chat' } },
          template: {
            metadata: { labels: { app: 'chat' } },
            spec: {
              containers: [{ name: 'app', image: 'registry.invalid/chat:1' }],
              tolerations: [{ key: 'kwok.x-k8s.io/node', operator: 'Exists', effect: 'NoSchedule' }],
            },
          },
        },
      },
    });
    const pods = await eventually('two Running pods with IPs', async () => {
      const list = await core.listNamespacedPod({ namespace: 'llm-app', labelSelector: 'app=chat' });
      const running = list.items.filter((p) => p.status?.phase === 'Running' && p.status.podIP);
      return running.length === 2 ? running : undefined;
    });
    for (const p of pods) {
      assert.equal(p.spec?.nodeName, 'kwok-node-0');
      assert.ok(p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'));
    }
  });
});
