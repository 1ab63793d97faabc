import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { V1Pod } from '@kubernetes/client-node';
import { serviceNameOf, workloadOf } from './workload.ts';

function owned(
  kind: string,
  name: string,
  labels: Record<string, string> = {},
  annotations?: Record<string, string>,
): V1Pod {
  return {
    metadata: {
      generateName: `${name}-`,
      labels,
      ...(annotations ? { annotations } : {}),
      ownerReferences: [{ apiVersion: 'apps/v1', kind, name, uid: 'u', controller: true }],
    },
  };
}

describe('workloadOf and serviceNameOf, without API calls', () => {
  const cases: readonly { id: string; pod: V1Pod; service: string; attrs: Record<string, string> }[] = [
    {
      id: 'deployment-from-replicaset-hash',
      pod: owned('ReplicaSet', 'chat-api-7d9f8b6c5d', { 'pod-template-hash': '7d9f8b6c5d' }),
      service: 'chat-api',
      attrs: { 'k8s.replicaset.name': 'chat-api-7d9f8b6c5d', 'k8s.deployment.name': 'chat-api' },
    },
    {
      id: 'bare-replicaset',
      pod: owned('ReplicaSet', 'rs-only', { 'pod-template-hash': 'abc' }),
      service: 'rs-only',
      attrs: { 'k8s.replicaset.name': 'rs-only' },
    },
    {
      id: 'statefulset',
      pod: owned('StatefulSet', 'db'),
      service: 'db',
      attrs: { 'k8s.statefulset.name': 'db' },
    },
    {
      id: 'daemonset',
      pod: owned('DaemonSet', 'agent'),
      service: 'agent',
      attrs: { 'k8s.daemonset.name': 'agent' },
    },
    { id: 'job', pod: owned('Job', 'backfill'), service: 'backfill', attrs: { 'k8s.job.name': 'backfill' } },
    {
      id: 'cronjob-job-gets-a-stable-service-name',
      pod: owned('Job', 'nightly-eval-29012345'),
      service: 'nightly-eval',
      attrs: { 'k8s.job.name': 'nightly-eval-29012345' },
    },
    {
      id: 'annotation-wins',
      pod: owned('StatefulSet', 'db', {}, { 'resource.opentelemetry.io/service.name': 'orders' }),
      service: 'orders',
      attrs: { 'k8s.statefulset.name': 'db' },
    },
    { id: 'bare-pod', pod: { metadata: { name: 'debug' } }, service: 'debug', attrs: {} },
    { id: 'generate-name-only', pod: { metadata: { generateName: 'tmp-' } }, service: 'tmp', attrs: {} },
    { id: 'nothing-but-the-container', pod: {}, service: 'app', attrs: {} },
  ];
  for (const c of cases) {
    test(c.id, () => {
      assert.equal(serviceNameOf(c.pod, 'app'), c.service);
      assert.deepEqual(workloadOf(c.pod).attributes, c.attrs);
    });
  }
});
