import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as yaml from 'js-yaml';
import { effectiveConfig } from './effective.ts';
import {
  gatewayConfigMap,
  gatewayDeployment,
  gatewayEndpoint,
  gatewayService,
  memoryLimitMib,
} from './gateway.ts';
import { renderProcessorConfig } from './processor-config.ts';
import type { LLMObservability } from './resources.ts';

const owner: LLMObservability = {
  apiVersion: 'llmobs.dev/v1alpha1',
  kind: 'LLMObservability',
  metadata: { name: 'chat', namespace: 'llm-app', uid: 'uid-1' },
  spec: {
    exporters: [
      {
        name: 'dd',
        endpoint: 'https://otlp.datadoghq.com',
        headers: [{ name: 'DD-API-KEY', secretKeyRef: { name: 'dd', key: 'k' } }],
      },
    ],
  },
};
const rendered = renderProcessorConfig(effectiveConfig(owner, []), { memoryLimitMib: 400 });
const params = { owner, rendered, configHash: 'abc123', image: 'llmobs/processor:test', replicas: 2 };

test('every gateway object is owned by its resource, so deleting the resource deletes them', () => {
  for (const obj of [gatewayConfigMap(params), gatewayDeployment(params), gatewayService(params)]) {
    assert.deepEqual(obj.metadata?.ownerReferences, [
      {
        apiVersion: 'llmobs.dev/v1alpha1',
        kind: 'LLMObservability',
        name: 'chat',
        uid: 'uid-1',
        controller: true,
        blockOwnerDeletion: true,
      },
    ]);
    assert.equal(obj.metadata?.name, 'llmobs-processor-chat');
  }
});

test('the ConfigMap carries the rendered config; the Deployment template carries its hash so changes roll', () => {
  const cm = gatewayConfigMap(params);
  assert.deepEqual(yaml.load(cm.data?.['config.yaml'] ?? ''), rendered.config);
  const dep = gatewayDeployment(params);
  assert.equal(dep.spec?.template.metadata?.annotations?.['llmobs.dev/config-hash'], 'abc123');
  assert.equal(dep.spec?.replicas, 2);
});

test('secret headers reach the processor as env from the Secret, in its own namespace', () => {
  const c = gatewayDeployment(params).spec?.template.spec?.containers[0];
  assert.deepEqual(c?.env, [
    { name: 'LLMOBS_DD_DD_API_KEY', valueFrom: { secretKeyRef: { name: 'dd', key: 'k' } } },
  ]);
});

test('the Service selects the gateway pods and exposes OTLP gRPC and HTTP', () => {
  const svc = gatewayService(params);
  assert.deepEqual(svc.spec?.selector, gatewayDeployment(params).spec?.selector.matchLabels);
  assert.deepEqual(
    svc.spec?.ports?.map((p) => p.port),
    [4317, 4318],
  );
  assert.equal(gatewayEndpoint(owner), 'http://llmobs-processor-chat.llm-app.svc:4318');
});

test('memory_limiter holds to 80 % of the container memory limit', () => {
  assert.equal(memoryLimitMib({ limits: { memory: '512Mi' } }), 409);
  assert.equal(memoryLimitMib({ limits: { memory: '1Gi' } }), 819);
  assert.equal(memoryLimitMib(undefined), 400);
});
