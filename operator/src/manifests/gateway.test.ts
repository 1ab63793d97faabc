import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as yaml from 'js-yaml';
import { effectiveConfig } from './effective.ts';
import {
  gatewayConfigMap,
  gatewayDeployment,
  gatewayEndpoint,
  gatewayFeedbackEndpoint,
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

test('the Service selects the gateway pods and exposes OTLP gRPC and HTTP (and the derived metrics)', () => {
  const svc = gatewayService(params);
  assert.deepEqual(svc.spec?.selector, gatewayDeployment(params).spec?.selector.matchLabels);
  assert.deepEqual(
    svc.spec?.ports?.map((p) => p.port),
    [4317, 4318, 8889],
  );
  assert.equal(gatewayEndpoint(owner), 'http://llmobs-processor-chat.llm-app.svc:4318');
});

test('memory_limiter holds to 80 % of the container memory limit', () => {
  assert.equal(memoryLimitMib({ limits: { memory: '512Mi' } }), 409);
  assert.equal(memoryLimitMib({ limits: { memory: '1Gi' } }), 819);
  assert.equal(memoryLimitMib(undefined), 400);
});

const withSpec = (spec: Partial<NonNullable<LLMObservability['spec']>>) => {
  const o: LLMObservability = { ...owner, spec: { ...owner.spec, ...spec } };
  return {
    ...params,
    owner: o,
    rendered: renderProcessorConfig(effectiveConfig(o, []), { memoryLimitMib: 400 }),
  };
};

test('exposes the derived metrics for Prometheus as genai-metrics on 8889, in the Deployment and the Service', () => {
  const c = gatewayDeployment(params).spec?.template.spec?.containers[0];
  assert.deepEqual(
    c?.ports?.find((p) => p.containerPort === 8889),
    { name: 'genai-metrics', containerPort: 8889 },
  );
  assert.ok(c?.ports?.every((p) => (p.name ?? '').length <= 15));
  assert.deepEqual(
    gatewayService(params).spec?.ports?.find((p) => p.port === 8889),
    { name: 'genai-metrics', port: 8889, targetPort: 'genai-metrics', protocol: 'TCP', appProtocol: 'http' },
  );
});

test('no Prometheus port when metrics.prometheus or metrics is off', () => {
  for (const metrics of [{ prometheus: { enabled: false } }, { enabled: false }]) {
    const p = withSpec({ metrics });
    assert.ok(
      !gatewayDeployment(p).spec?.template.spec?.containers[0]?.ports?.some((x) => x.containerPort === 8889),
    );
    assert.deepEqual(
      gatewayService(p).spec?.ports?.map((x) => x.port),
      [4317, 4318],
    );
  }
});

test('mounts the catalogue ConfigMap key read-only where the rendered llm_cost reads it', () => {
  const p = withSpec({ cost: { catalogueConfigMap: { name: 'llm-prices', key: 'prices.yaml' } } });
  const pod = gatewayDeployment(p).spec?.template.spec;
  assert.deepEqual(
    pod?.volumes?.find((v) => v.name === 'catalogue'),
    {
      name: 'catalogue',
      configMap: { name: 'llm-prices', items: [{ key: 'prices.yaml', path: 'catalogue.yaml' }] },
    },
  );
  const mount = pod?.containers[0]?.volumeMounts?.find((m) => m.name === 'catalogue');
  assert.deepEqual(mount, { name: 'catalogue', mountPath: '/etc/llmobs/catalogue', readOnly: true });
  const cost = (p.rendered.config.processors as Record<string, { catalogue_files?: string[] }>).llm_cost;
  assert.deepEqual(cost?.catalogue_files, [`${mount?.mountPath}/catalogue.yaml`]);
});

test('no catalogue volume without a catalogueConfigMap', () => {
  const pod = gatewayDeployment(params).spec?.template.spec;
  assert.deepEqual(
    pod?.volumes?.map((v) => v.name),
    ['config'],
  );
});

test('adds the feedback receiver’s port to the Deployment and the Service only when asked', () => {
  const on = withSpec({ quality: { feedback: { enabled: true } } });
  const c = gatewayDeployment(on).spec?.template.spec?.containers[0];
  assert.deepEqual(
    c?.ports?.find((p) => p.containerPort === 4320),
    { name: 'feedback', containerPort: 4320 },
  );
  assert.deepEqual(
    gatewayService(on).spec?.ports?.find((p) => p.port === 4320),
    { name: 'feedback', port: 4320, targetPort: 'feedback', protocol: 'TCP', appProtocol: 'http' },
  );
  const receiver = (on.rendered.config.receivers as Record<string, { endpoint: string }>).llm_feedback;
  assert.equal(receiver?.endpoint, '0.0.0.0:4320');
  assert.equal(gatewayFeedbackEndpoint(owner), 'http://llmobs-processor-chat.llm-app.svc:4320/v1/feedback');
  for (const off of [params, withSpec({ quality: { feedback: { enabled: false } } })]) {
    assert.ok(
      !gatewayDeployment(off).spec?.template.spec?.containers[0]?.ports?.some((x) => x.name === 'feedback'),
    );
    assert.ok(!gatewayService(off).spec?.ports?.some((x) => x.name === 'feedback'));
  }
});

test('the judge’s API key reaches the gateway as env from its Secret, next to the exporters’ keys', () => {
  const p = withSpec({
    quality: {
      evaluation: {
        enabled: true,
        judge: {
          endpoint: 'https://api.openai.com/v1',
          model: 'gpt-4o-mini',
          apiKeySecretRef: { name: 'judge-openai', key: 'api-key' },
        },
        rubrics: [{ name: 'answered', question: 'Does the answer address the question?' }],
      },
    },
  });
  assert.deepEqual(gatewayDeployment(p).spec?.template.spec?.containers[0]?.env, [
    { name: 'LLMOBS_DD_DD_API_KEY', valueFrom: { secretKeyRef: { name: 'dd', key: 'k' } } },
    { name: 'LLMOBS_JUDGE_API_KEY', valueFrom: { secretKeyRef: { name: 'judge-openai', key: 'api-key' } } },
  ]);
  const cm = gatewayConfigMap(p).data?.['config.yaml'] ?? '';
  assert.ok(!cm.includes('judge-openai') && !cm.includes('api-key'));
  assert.match(cm, /api_key: \$\{env:LLMOBS_JUDGE_API_KEY\}/);
});
