import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { loadConfigText } from '../../config/load.ts';
import { debugExporterFactory } from '../../exporters/debug/factory.ts';
import { otlpReceiverFactory } from '../../receivers/otlp/factory.ts';
import { defaultRegistry, Registry } from '../../service/registry.ts';
import type { CardinalityConfig } from './config.ts';
import { cardinalityLimitFactory } from './factory.ts';

const registry = new Registry([otlpReceiverFactory, cardinalityLimitFactory, debugExporterFactory]);

/** Loads a full config with `block` (YAML, indented 4) as the cardinality_limit settings. */
function load(block: string, signal = 'metrics') {
  return loadConfigText(
    `
receivers:
  otlp: { protocols: { http: { endpoint: 127.0.0.1:4318 } } }
processors:
  cardinality_limit:
${block}
exporters:
  debug: {}
service:
  telemetry: { metrics: { level: none } }
  pipelines:
    ${signal}: { receivers: [otlp], processors: [cardinality_limit], exporters: [debug] }
`,
    registry,
    {},
  );
}

function parsed(block: string): CardinalityConfig {
  const { config, errors } = load(block);
  assert.deepEqual(errors, []);
  return config?.processors.get('cardinality_limit')?.config as CardinalityConfig;
}

describe('cardinality_limit config', () => {
  test('an empty block gets the defaults: 2000 series per metric, 10m TTL, 10000 metrics', () => {
    assert.deepEqual(parsed('    {}'), {
      maxSeriesPerMetric: 2000,
      seriesTtlMs: 600_000,
      maxMetrics: 10_000,
      maxTotalSeries: 200_000,
      limits: [],
      valueCaps: [],
      includeAttributes: undefined,
      excludeAttributes: [],
    });
  });

  test('reads every setting', () => {
    const cfg = parsed(`    max_series_per_metric: 500
    series_ttl: 1h30m
    max_metrics: 50
    max_total_series: 5000
    limits:
      - { metric: 'gen_ai.client.*', max_series: 100 }
      - { metric: debug.calls, max_series: 0 }
    attribute_value_caps:
      - { key: user.id, max_values: 50 }
    include_attributes: ['gen_ai.*', 'user.id']
    exclude_attributes: ['*.email']
    overflow_attribute: otel.metric.overflow`);
    assert.deepEqual(cfg, {
      maxSeriesPerMetric: 500,
      seriesTtlMs: 5_400_000,
      maxMetrics: 50,
      maxTotalSeries: 5000,
      limits: [
        { metric: 'gen_ai.client.*', maxSeries: 100 },
        { metric: 'debug.calls', maxSeries: 0 },
      ],
      valueCaps: [{ key: 'user.id', maxValues: 50 }],
      includeAttributes: ['gen_ai.*', 'user.id'],
      excludeAttributes: ['*.email'],
    });
    assert.equal(parsed(`    series_ttl: '0'`).seriesTtlMs, 0);
  });

  test('reports schema errors with their paths', () => {
    const { config, errors } = load(`    max_series_per_metric: 0
    max_series: 10
    limits:
      - { metric: '', max_series: -1 }
      - { max_series: 3 }
    attribute_value_caps:
      - { key: user.id, max_values: 0 }
    overflow_attribute: overflow`);
    assert.equal(config, undefined);
    assert.deepEqual(errors, [
      'processors.cardinality_limit: has invalid keys: max_series',
      'processors.cardinality_limit.max_series_per_metric: must be >= 1',
      'processors.cardinality_limit.limits.0.metric: must NOT have fewer than 1 characters',
      'processors.cardinality_limit.limits.0.max_series: must be >= 0',
      'processors.cardinality_limit.limits.1.metric: must be set',
      'processors.cardinality_limit.attribute_value_caps.0.max_values: must be >= 1',
      'processors.cardinality_limit.overflow_attribute: must be "otel.metric.overflow"',
    ]);
  });

  test('reports what the schema cannot check, all at once', () => {
    const { config, errors } = load(`    series_ttl: 10 minutes
    max_series_per_metric: 3000
    max_total_series: 2500
    limits:
      - { metric: 'gen_ai.*', max_series: 10 }
      - { metric: 'gen_ai.*', max_series: 20 }
      - { metric: 'big', max_series: 9000 }
    attribute_value_caps:
      - { key: 'user.*', max_values: 10 }
      - { key: otel.metric.overflow, max_values: 1 }
      - { key: team, max_values: 5 }
      - { key: team, max_values: 6 }
    exclude_attributes: [otel.metric.overflow]`);
    assert.equal(config, undefined);
    assert.deepEqual(errors, [
      'processors.cardinality_limit.series_ttl: invalid duration "10 minutes" (use e.g. 200ms, 5s, 1m)',
      'processors.cardinality_limit.max_series_per_metric: must not exceed max_total_series (2500)',
      'processors.cardinality_limit.limits.1.metric: duplicate metric "gen_ai.*"',
      'processors.cardinality_limit.limits.2.max_series: must not exceed max_total_series (2500)',
      'processors.cardinality_limit.attribute_value_caps.0.key: must be an exact attribute key, not a glob ("user.*")',
      'processors.cardinality_limit.attribute_value_caps.1.key: otel.metric.overflow cannot be capped',
      'processors.cardinality_limit.attribute_value_caps.3.key: duplicate key "team"',
      'processors.cardinality_limit.exclude_attributes.0: otel.metric.overflow marks the overflow series and is always kept',
    ]);
  });

  test('a TTL under a second is refused (0 means never forget)', () => {
    assert.deepEqual(load('    series_ttl: 500ms').errors, [
      'processors.cardinality_limit.series_ttl: must be 0 (never forget) or at least 1s',
    ]);
  });

  test('is a metrics-only processor', () => {
    assert.deepEqual(load('    {}', 'traces').errors, [
      'service.pipelines.traces.processors: processor "cardinality_limit" does not support traces',
    ]);
  });

  test('is in the default registry as cardinality_limit', () => {
    assert.equal(defaultRegistry().lookup('processors', 'cardinality_limit'), cardinalityLimitFactory);
  });
});
