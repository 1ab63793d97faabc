import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { loadConfigText } from '../../config/load.ts';
import { debugExporterFactory } from '../../exporters/debug/factory.ts';
import { otlpReceiverFactory } from '../../receivers/otlp/factory.ts';
import { defaultRegistry, Registry } from '../../service/registry.ts';
import type { SamplingConfig } from './config.ts';
import { samplingFactory } from './factory.ts';

const registry = new Registry([otlpReceiverFactory, samplingFactory, debugExporterFactory]);

/** Loads a full config with `block` (YAML, indented 4) as the llm_sampling settings. */
function load(block: string, signal = 'traces') {
  return loadConfigText(
    `
receivers:
  otlp: { protocols: { http: { endpoint: 127.0.0.1:4318 } } }
processors:
  llm_sampling:
${block}
exporters:
  debug: {}
service:
  telemetry: { metrics: { level: none } }
  pipelines:
    ${signal}: { receivers: [otlp], processors: [llm_sampling], exporters: [debug] }
`,
    registry,
    {},
  );
}

function parsed(block: string): SamplingConfig {
  const { config, errors } = load(block);
  assert.deepEqual(errors, []);
  return config?.processors.get('llm_sampling')?.config as SamplingConfig;
}

describe('llm_sampling config', () => {
  test('an empty block gets the defaults', () => {
    const c = parsed('    {}');
    assert.equal(c.decisionWaitMs, 30_000);
    assert.equal(c.rootGraceMs, 5_000);
    assert.equal(c.localRoot, false);
    assert.equal(c.maxTraces, 50_000);
    assert.equal(c.maxBufferedBytes, 64 * 1024 * 1024);
    assert.equal(c.decisionCacheSize, 100_000);
    const p = c.policies;
    assert.deepEqual(
      [p.errors, p.guardrail, p.validation, p.latency, p.cost, p.lowScore, p.feedback].map((x) => x.enabled),
      [true, true, true, true, true, true, true],
    );
    assert.ok(p.guardrail.failureValues.has('guardrail_intervened'));
    assert.ok(p.guardrail.finishReasons.has('content_filter'));
    assert.deepEqual([...p.validation.attributes], [['llmobs.validation.passed', new Set(['false'])]]);
    assert.equal(p.latency.thresholdMs, 30_000);
    assert.equal(p.cost.threshold, 1);
    assert.deepEqual(p.lowScore.score, { below: 0.5 });
    assert.ok(p.lowScore.labels.has('fail'));
    assert.equal(p.feedback.scoreBelow, 0);
    assert.ok(p.feedback.negativeValues.has('thumbs_down'));
    assert.deepEqual([...p.feedback.evaluationNames], ['user_feedback']);
    assert.equal(p.probabilistic.samplingPercentage, 10);
  });

  test('reads every setting', () => {
    const c = parsed(`    decision_wait: 1m
    root_grace: 500ms
    local_root: true
    max_traces: 1000
    max_buffered_bytes: 32MiB
    decision_cache_size: 0
    policies:
      errors: { enabled: false }
      guardrail: { failure_values: [BLOCKED], finish_reasons: [content_filter] }
      validation: { attributes: [{ key: schema.valid, values: [false, 'no', 0] }] }
      latency: { threshold: 2m }
      cost: { threshold: 0.25 }
      low_score:
        score_below: 3
        labels: [Bad]
        evaluations: [{ name: hallucination, score_above: 0.5 }, { name: helpfulness, score_below: 2 }]
      feedback: { enabled: false, score_below: -0.5, negative_values: [angry], evaluation_names: [csat] }
      probabilistic: { sampling_percentage: 0.5 }`);
    assert.equal(c.decisionWaitMs, 60_000);
    assert.equal(c.rootGraceMs, 500);
    assert.equal(c.localRoot, true);
    assert.equal(c.maxTraces, 1000);
    assert.equal(c.maxBufferedBytes, 32 * 1024 * 1024);
    assert.equal(c.decisionCacheSize, 0);
    const p = c.policies;
    assert.equal(p.errors.enabled, false);
    assert.deepEqual([...p.guardrail.failureValues], ['blocked']);
    assert.deepEqual([...p.validation.attributes], [['schema.valid', new Set(['false', 'no', '0'])]]);
    assert.equal(p.latency.thresholdMs, 120_000);
    assert.equal(p.cost.threshold, 0.25);
    assert.deepEqual(p.lowScore.score, { below: 3 });
    assert.deepEqual([...p.lowScore.labels], ['bad']);
    assert.deepEqual(
      [...p.lowScore.evaluations],
      [
        ['hallucination', { above: 0.5 }],
        ['helpfulness', { below: 2 }],
      ],
    );
    assert.equal(p.feedback.enabled, false);
    assert.equal(p.feedback.scoreBelow, -0.5);
    assert.deepEqual([...p.feedback.evaluationNames], ['csat']);
    assert.equal(p.probabilistic.samplingPercentage, 0.5);
  });

  test('reports schema errors with their paths', () => {
    const { config, errors } = load(`    max_traces: 0
    decision_cache: 10
    policies:
      errors: { enable: false }
      cost: { threshold: 0 }
      validation: { attributes: [{ key: '', values: [] }] }
      probabilistic: { sampling_percentage: 150 }`);
    assert.equal(config, undefined);
    assert.deepEqual(errors, [
      'processors.llm_sampling: has invalid keys: decision_cache',
      'processors.llm_sampling.max_traces: must be >= 1',
      'processors.llm_sampling.policies.errors: has invalid keys: enable',
      'processors.llm_sampling.policies.validation.attributes.0.key: must NOT have fewer than 1 characters',
      'processors.llm_sampling.policies.validation.attributes.0.values: must NOT have fewer than 1 items',
      'processors.llm_sampling.policies.cost.threshold: must be > 0',
      'processors.llm_sampling.policies.probabilistic.sampling_percentage: must be <= 100',
    ]);
  });

  test('reports what the schema cannot check, all at once', () => {
    const { config, errors } = load(`    decision_wait: 10 seconds
    max_buffered_bytes: lots
    policies:
      validation: { attributes: [{ key: a, values: [x] }, { key: a, values: [y] }] }
      latency: { threshold: soon }
      low_score:
        evaluations: [{ name: tox }, { name: tox, score_below: 1, score_above: 2 }]`);
    assert.equal(config, undefined);
    assert.deepEqual(errors, [
      'processors.llm_sampling.decision_wait: invalid duration "10 seconds" (use e.g. 200ms, 5s, 1m)',
      'processors.llm_sampling.max_buffered_bytes: invalid size "lots" (use bytes or e.g. 512KiB, 20MiB)',
      'processors.llm_sampling.policies.validation.attributes.1.key: duplicate key "a"',
      'processors.llm_sampling.policies.latency.threshold: invalid duration "soon" (use e.g. 200ms, 5s, 1m)',
      'processors.llm_sampling.policies.low_score.evaluations.0: set exactly one of score_below (lower is worse) or score_above',
      'processors.llm_sampling.policies.low_score.evaluations.1.name: duplicate evaluation "tox"',
      'processors.llm_sampling.policies.low_score.evaluations.1: set exactly one of score_below (lower is worse) or score_above',
    ]);
  });

  test('root_grace cannot exceed decision_wait, and the buffer needs a megabyte', () => {
    assert.deepEqual(load('    { decision_wait: 2s, root_grace: 3s, max_buffered_bytes: 1000 }').errors, [
      'processors.llm_sampling.root_grace: must not exceed decision_wait (2s)',
      'processors.llm_sampling.max_buffered_bytes: must be at least 1MiB',
    ]);
  });

  test('is a traces-only processor', () => {
    assert.deepEqual(load('    {}', 'metrics').errors, [
      'service.pipelines.metrics.processors: processor "llm_sampling" does not support metrics',
    ]);
  });

  test('is in the default registry as llm_sampling', () => {
    assert.equal(defaultRegistry().lookup('processors', 'llm_sampling'), samplingFactory);
  });
});
