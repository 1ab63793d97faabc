import assert from 'node:assert/strict';
import { test } from 'node:test';
import { effectiveConfig, policiesFor } from './effective.ts';
import type { LLMObservability, LLMObservabilityPolicy } from './resources.ts';

const cr = (spec: LLMObservability['spec']): LLMObservability => ({
  apiVersion: 'llmobs.dev/v1alpha1',
  kind: 'LLMObservability',
  metadata: { name: 'chat', namespace: 'llm-app' },
  spec,
});
const policy = (name: string, spec: LLMObservabilityPolicy['spec']): LLMObservabilityPolicy => ({
  apiVersion: 'llmobs.dev/v1alpha1',
  kind: 'LLMObservabilityPolicy',
  metadata: { name },
  spec,
});

test('a policy clamps content capture to its maximum and says so', () => {
  const eff = effectiveConfig(cr({ contentCapture: 'full' }), [
    policy('customer', { contentCapture: { maxLevel: 'redacted' } }),
  ]);
  assert.equal(eff.contentCapture, 'redacted');
  assert.deepEqual(
    eff.violations.map((v) => [v.policy, v.field]),
    [['customer', 'spec.contentCapture']],
  );
});

test('a policy without an explicit maximum allows redacted but not full', () => {
  assert.equal(effectiveConfig(cr({ contentCapture: 'full' }), [policy('p', {})]).contentCapture, 'redacted');
  assert.equal(effectiveConfig(cr({ contentCapture: 'redacted' }), [policy('p', {})]).violations.length, 0);
});

test('required entities are added to what the resource redacts', () => {
  const eff = effectiveConfig(cr({ redaction: { entities: ['email'] } }), [
    policy('cards', { redaction: { requiredEntities: ['credit_card', 'email'] } }),
    policy('keys', { redaction: { requiredEntities: ['api_key'] } }),
  ]);
  assert.deepEqual(eff.redactionEntities, ['api_key', 'credit_card', 'email']);
  assert.equal(eff.violations.length, 2);
});

test('an exporter to an endpoint a policy does not allow is disabled, others stay', () => {
  const eff = effectiveConfig(
    cr({
      exporters: [
        { name: 'tempo', endpoint: 'http://tempo-distributor.observability:4318' },
        { name: 'leak', endpoint: 'https://collector.example.com:4318' },
      ],
    }),
    [policy('egress', { exporters: { allowedEndpoints: ['http://tempo-distributor.observability:*'] } })],
  );
  assert.deepEqual(
    eff.exporters.map((e) => e.name),
    ['tempo'],
  );
  assert.match(
    eff.violations[0]?.message ?? '',
    /https:\/\/collector\.example\.com:4318 is not allowed by policy egress/,
  );
});

test('redacted capture reaches pods when the processor redacts, and is held at none when it cannot (fail closed)', () => {
  const eff = effectiveConfig(cr({ contentCapture: 'redacted' }), []);
  assert.equal(eff.injectedContentCapture, 'redacted');
  assert.equal(eff.captureNote, undefined);
  const without = effectiveConfig(cr({ contentCapture: 'redacted' }), [], {
    redaction: false,
    cost: false,
    cardinality: false,
    metrics: false,
    tailSampling: false,
    evaluation: false,
    feedback: false,
  });
  assert.equal(without.contentCapture, 'redacted');
  assert.equal(without.injectedContentCapture, 'none');
  assert.match(without.captureNote ?? '', /llm_redaction/);
});

test('defaults: no content, gateway with one replica, full sampling', () => {
  const eff = effectiveConfig(cr(undefined), []);
  assert.equal(eff.contentCapture, 'none');
  assert.equal(eff.mode, 'gateway');
  assert.equal(eff.replicas, 1);
  assert.equal(eff.samplingRatio, 1);
});

test('policies apply to the namespaces their selector matches, in name order', () => {
  const all = [
    policy('b-all', {}),
    policy('a-customer', { namespaceSelector: { matchLabels: { 'data-class': 'customer' } } }),
    policy('c-not-dev', {
      namespaceSelector: { matchExpressions: [{ key: 'env', operator: 'NotIn', values: ['dev'] }] },
    }),
  ];
  assert.deepEqual(
    policiesFor(all, { 'data-class': 'customer', env: 'prod' }).map((p) => p.metadata.name),
    ['a-customer', 'b-all', 'c-not-dev'],
  );
  assert.deepEqual(
    policiesFor(all, { env: 'dev' }).map((p) => p.metadata.name),
    ['b-all'],
  );
});

test('cost, cardinality and derived metrics are on by default, with the CRD defaults', () => {
  const eff = effectiveConfig(cr(undefined), []);
  assert.deepEqual(eff.cost, { enabled: true, currency: 'USD', prices: [], modelAliases: [] });
  assert.deepEqual(eff.cardinality, {
    enabled: true,
    maxSeriesPerMetric: 2000,
    attributeValueCaps: [],
    excludeAttributes: [],
  });
  assert.deepEqual(eff.metrics, { enabled: true, dimensions: [], prometheus: true });
});

test('carries cost, cardinality and metrics settings as the resource gives them; policies leave them alone', () => {
  const spec: LLMObservability['spec'] = {
    cost: {
      currency: 'EUR',
      prices: [{ model: 'ft:gpt-4o-mini:acme', inputPerMillion: 0.3 }],
      modelAliases: [{ from: 'chat-prod', to: 'gpt-4o' }],
      catalogueConfigMap: { name: 'prices', key: 'catalogue.yaml' },
    },
    cardinality: {
      maxSeriesPerMetric: 500,
      attributeValueCaps: [{ key: 'gen_ai.request.model', maxValues: 50 }],
      excludeAttributes: ['user.*'],
    },
    metrics: { dimensions: [{ name: 'team', default: 'unknown' }], prometheus: { enabled: false } },
  };
  const eff = effectiveConfig(cr(spec), [
    policy('strict', { contentCapture: { maxLevel: 'none' }, redaction: { requiredEntities: ['iban'] } }),
  ]);
  assert.deepEqual(eff.cost, {
    enabled: true,
    currency: 'EUR',
    prices: spec.cost?.prices,
    modelAliases: spec.cost?.modelAliases,
    catalogueConfigMap: { name: 'prices', key: 'catalogue.yaml' },
  });
  assert.deepEqual(eff.cardinality, { enabled: true, ...spec.cardinality });
  assert.deepEqual(eff.metrics, {
    enabled: true,
    dimensions: [{ name: 'team', default: 'unknown' }],
    prometheus: false,
  });
  assert.ok(eff.violations.every((v) => !/cost|cardinality|metrics/.test(v.field)));
});

test('leaves cost out when cost.enabled is false, and metrics when metrics.enabled is false', () => {
  const eff = effectiveConfig(cr({ cost: { enabled: false }, metrics: { enabled: false } }), []);
  assert.equal(eff.cost.enabled, false);
  assert.equal(eff.metrics.enabled, false);
});

const judge = { endpoint: 'https://api.openai.com/v1', model: 'gpt-4o-mini' };
const everyQualityFeature: NonNullable<LLMObservability['spec']>['quality'] = {
  tailSampling: { enabled: true },
  evaluation: { enabled: true, judge, rubrics: [{ name: 'answered', question: 'Does it answer?' }] },
  feedback: { enabled: true },
};

test('what the processor cannot run stays off whatever the resource asks (fail closed)', () => {
  const eff = effectiveConfig(
    cr({ cost: { enabled: true }, metrics: { enabled: true }, quality: everyQualityFeature }),
    [],
    {
      redaction: true,
      cost: false,
      cardinality: false,
      metrics: false,
      tailSampling: false,
      evaluation: false,
      feedback: false,
    },
  );
  assert.equal(eff.cost.enabled, false);
  assert.equal(eff.cardinality.enabled, false);
  assert.equal(eff.metrics.enabled, false);
  assert.equal(eff.quality.tailSampling.enabled, false);
  assert.equal(eff.quality.evaluation.enabled, false);
  assert.equal(eff.quality.feedback, false);
});

test('tail sampling, evaluation and feedback are off unless asked', () => {
  const eff = effectiveConfig(cr({}), []);
  assert.equal(eff.quality.tailSampling.enabled, false);
  assert.deepEqual(eff.quality.evaluation, { enabled: false });
  assert.equal(eff.quality.feedback, false);
});

test('carries tail sampling and evaluation with the CRD defaults where the resource is silent', () => {
  const eff = effectiveConfig(cr({ quality: everyQualityFeature }), []);
  assert.deepEqual(eff.quality.tailSampling, {
    enabled: true,
    keepPercentage: 10,
    latencyThreshold: '30s',
    costThreshold: 1,
    decisionWait: '30s',
  });
  assert.deepEqual(eff.quality.evaluation, {
    enabled: true,
    judge,
    rubrics: [{ name: 'answered', question: 'Does it answer?' }],
    samplingPercentage: 5,
    maxRequestsPerMinute: 60,
  });
  assert.equal(eff.quality.feedback, true);
  assert.deepEqual(eff.violations, []);
});

test('evaluation without a judge or rubrics stays off (the CRD refuses it anyway)', () => {
  type Evaluation = NonNullable<NonNullable<LLMObservability['spec']>['quality']>['evaluation'];
  const incomplete: Evaluation[] = [
    { enabled: true, rubrics: [{ name: 'a', question: 'q' }] },
    { enabled: true, judge },
  ];
  for (const evaluation of incomplete) {
    assert.equal(effectiveConfig(cr({ quality: { evaluation } }), []).quality.evaluation.enabled, false);
  }
});

test('a judge endpoint a policy does not allow disables evaluation and says why; an allowed one stays', () => {
  const egress = policy('egress', { exporters: { allowedEndpoints: ['http://vllm.models:*'] } });
  const eff = effectiveConfig(cr({ quality: everyQualityFeature }), [egress]);
  assert.equal(eff.quality.evaluation.enabled, false);
  assert.deepEqual(
    eff.violations.map((v) => [v.policy, v.field]),
    [['egress', 'spec.quality.evaluation.judge.endpoint']],
  );
  assert.match(
    eff.violations[0]?.message ?? '',
    /https:\/\/api\.openai\.com\/v1 is not allowed by policy egress/,
  );
  // Tail sampling and feedback send nothing anywhere: no policy touches them.
  assert.equal(eff.quality.tailSampling.enabled, true);
  assert.equal(eff.quality.feedback, true);
  const local = effectiveConfig(
    cr({
      quality: {
        evaluation: {
          enabled: true,
          judge: { endpoint: 'http://vllm.models:8000/v1', model: 'llama' },
          rubrics: [{ name: 'a', question: 'q' }],
        },
      },
    }),
    [egress],
  );
  assert.equal(local.quality.evaluation.enabled, true);
  assert.deepEqual(local.violations, []);
});
