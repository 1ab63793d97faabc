import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { V1Pod } from '@kubernetes/client-node';
import type { LLMObservability } from '../manifests/resources.ts';
import { instrumentedPodView, uninstrumentedFor, uninstrumentedPodView } from './pod-cache.ts';
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

describe('uninstrumentedPodView', () => {
  it('keeps a running pod the webhook never handled, or failed on, by its name and labels only', () => {
    for (const annotations of [{}, { 'llmobs.dev/injection-status': 'error' }] as Record<string, string>[]) {
      const view = uninstrumentedPodView(pod(annotations));
      assert.ok(view);
      assert.deepEqual(view.metadata?.labels, { app: 'chat', 'pod-template-hash': '7d9f8b6c5d' });
      assert.equal(view.spec, undefined);
      assert.equal(view.status, undefined);
      assert.equal(view.metadata?.ownerReferences, undefined);
      assert.ok(!('kubectl.kubernetes.io/last-applied-configuration' in (view.metadata?.annotations ?? {})));
    }
  });

  it('leaves out pods skipped on purpose, instrumented, or finished', () => {
    assert.equal(uninstrumentedPodView(pod({ 'llmobs.dev/injection-status': 'skipped' })), undefined);
    assert.equal(uninstrumentedPodView(pod({ 'llmobs.dev/applied-by': 'llm-app/chat' })), undefined);
    const done = pod({});
    done.status = { phase: 'Succeeded' };
    assert.equal(uninstrumentedPodView(done), undefined);
  });
});

describe('uninstrumentedFor', () => {
  const resource = (name: string, created: string, matchLabels?: Record<string, string>): LLMObservability =>
    ({
      apiVersion: 'llmobs.dev/v1alpha1',
      kind: 'LLMObservability',
      metadata: { name, namespace: 'llm-app', creationTimestamp: new Date(created) },
      spec: matchLabels ? { selector: { matchLabels } } : {},
    }) as LLMObservability;
  const missed = (labels: Record<string, string>, annotations: Record<string, string> = {}) => {
    const p = pod(annotations);
    p.metadata = { ...p.metadata, labels };
    return p;
  };

  it('counts each missed pod once, for the oldest resource that selects it, as the webhook would pick', () => {
    const everything = resource('all', '2026-01-01T00:00:00Z');
    const chat = resource('chat', '2026-02-01T00:00:00Z', { app: 'chat' });
    const pods = [missed({ app: 'chat' }), missed({ app: 'rag' })];
    assert.equal(uninstrumentedFor('all', [chat, everything], pods), 2);
    assert.equal(uninstrumentedFor('chat', [chat, everything], pods), 0);
    assert.equal(uninstrumentedFor('chat', [chat], pods), 1);
  });

  it('does not count pods that opted out, were skipped, or are instrumented', () => {
    const r = resource('all', '2026-01-01T00:00:00Z');
    const pods = [
      missed({ app: 'a' }, { 'llmobs.dev/inject': 'false' }),
      missed({ app: 'b' }, { 'llmobs.dev/injection-status': 'skipped' }),
      missed(
        { app: 'c' },
        { 'llmobs.dev/applied-by': 'llm-app/all', 'llmobs.dev/injection-status': 'injected' },
      ),
      missed({ app: 'd' }, { 'llmobs.dev/injection-status': 'error' }),
    ];
    assert.equal(uninstrumentedFor('all', [r], pods), 1);
  });
});
