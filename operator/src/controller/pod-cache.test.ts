import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { V1Pod } from '@kubernetes/client-node';
import { instrumentedPodView } from './pod-cache.ts';
import { rolloutPod } from './rollout.ts';

function pod(annotations: Record<string, string>): V1Pod {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name: 'chat-7d9f8b6c5d-x2x4q',
      namespace: 'llm-app',
      uid: 'u-1',
      resourceVersion: '42',
      creationTimestamp: new Date('2026-01-02T03:04:05Z'),
      labels: { app: 'chat', 'pod-template-hash': '7d9f8b6c5d' },
      annotations: { ...annotations, 'kubectl.kubernetes.io/last-applied-configuration': '{"big":true}' },
      ownerReferences: [
        { apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'chat-7d9f8b6c5d', uid: 'rs-1', controller: true },
      ],
      managedFields: [{ manager: 'kube-controller-manager', operation: 'Update' }],
    },
    spec: {
      nodeName: 'n',
      containers: [{ name: 'app', image: 'example.invalid/app:1', env: [{ name: 'A', value: 'b' }] }],
    },
    status: {
      phase: 'Running',
      podIP: '10.0.0.1',
      conditions: [{ type: 'Ready', status: 'False' }],
      containerStatuses: [
        {
          name: 'app',
          image: 'example.invalid/app:1',
          imageID: 'sha256:abc',
          ready: false,
          restartCount: 4,
          state: { waiting: { reason: 'CrashLoopBackOff', message: 'back-off 40s' } },
        },
      ],
    },
  };
}

describe('instrumentedPodView', () => {
  it('leaves pods the webhook did not instrument out of the cache', () => {
    assert.equal(instrumentedPodView(pod({})), undefined);
    assert.equal(instrumentedPodView(pod({ 'llmobs.dev/injection-status': 'skipped' })), undefined);
  });

  it('keeps of an instrumented pod exactly what the status count and spec.rollout read', () => {
    const full = pod({
      'llmobs.dev/applied-by': 'llm-app/chat',
      'llmobs.dev/config-hash': 'h1',
      'llmobs.dev/injection-status': 'injected',
    });
    const view = instrumentedPodView(full);
    assert.ok(view);
    assert.deepEqual(rolloutPod(view), rolloutPod(full));
    assert.equal(view.metadata?.resourceVersion, '42');
    assert.equal(view.spec, undefined);
    assert.equal(view.metadata?.managedFields, undefined);
    assert.deepEqual(Object.keys(view.metadata?.annotations ?? {}).sort(), [
      'llmobs.dev/applied-by',
      'llmobs.dev/config-hash',
      'llmobs.dev/injection-status',
    ]);
  });
});
