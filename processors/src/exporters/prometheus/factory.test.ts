import assert from 'node:assert/strict';
import { test } from 'node:test';
import { loadConfigText } from '../../config/load.ts';
import { otlpReceiverFactory } from '../../receivers/otlp/factory.ts';
import { Registry } from '../../service/registry.ts';
import type { PrometheusExporterConfig } from './exporter.ts';
import { prometheusExporterFactory } from './factory.ts';

const registry = new Registry([otlpReceiverFactory, prometheusExporterFactory]);

/** Loads a config whose only exporter is `prometheus` with `settings` (YAML, indented under it). */
function load(settings: string, pipeline = 'metrics') {
  const text = `
receivers:
  otlp:
    protocols:
      http:
exporters:
  prometheus:${settings}
service:
  telemetry: { metrics: { level: none } }
  pipelines:
    ${pipeline}:
      receivers: [otlp]
      exporters: [prometheus]
`;
  const { config, errors } = loadConfigText(text, registry, {});
  return { errors, cfg: config?.exporters.get('prometheus')?.config as PrometheusExporterConfig | undefined };
}

test('defaults: localhost:8889, 5m expiration, suffixes on, scope labels on, nothing else', () => {
  const { errors, cfg } = load(' {}');
  assert.deepEqual(errors, []);
  assert.deepEqual(cfg, {
    host: 'localhost',
    port: 8889,
    namespace: '',
    constLabels: [],
    sendTimestamps: false,
    metricExpirationMs: 300_000,
    resourceToTelemetry: false,
    excludeServiceAttributes: false,
    addMetricSuffixes: true,
    withoutScopeInfo: false,
  });
});

test('reads every Collector setting it supports', () => {
  const { errors, cfg } = load(`
    endpoint: 0.0.0.0:9464
    namespace: llm-app
    const_labels: { cluster: prod, "another label": spaced value }
    send_timestamps: true
    metric_expiration: 90s
    resource_to_telemetry_conversion: { enabled: true, exclude_service_attributes: true }
    enable_open_metrics: false
    add_metric_suffixes: false
    without_scope_info: true`);
  assert.deepEqual(errors, []);
  assert.deepEqual(cfg, {
    host: '0.0.0.0',
    port: 9464,
    namespace: 'llm_app',
    constLabels: [
      ['cluster', 'prod'],
      ['another_label', 'spaced value'],
    ],
    sendTimestamps: true,
    metricExpirationMs: 90_000,
    resourceToTelemetry: true,
    excludeServiceAttributes: true,
    addMetricSuffixes: false,
    withoutScopeInfo: true,
  });
});

test('translation_strategy decides suffixes and wins over add_metric_suffixes', () => {
  assert.equal(
    load(`
    add_metric_suffixes: true
    translation_strategy: UnderscoreEscapingWithoutSuffixes`).cfg?.addMetricSuffixes,
    false,
  );
  assert.equal(
    load(`
    add_metric_suffixes: false
    translation_strategy: UnderscoreEscapingWithSuffixes`).cfg?.addMetricSuffixes,
    true,
  );
});

test('refuses what it cannot serve, saying why, with each path', () => {
  const { errors } = load(`
    endpoint: nowhere
    metric_expiration: soon
    enable_open_metrics: true
    translation_strategy: NoUTF8EscapingWithSuffixes
    namespace: "---"
    const_labels: { "__reserved": x, "a.b": "1", "a_b": "2" }`);
  assert.deepEqual(errors, [
    'exporters.prometheus.endpoint: must be host:port, got "nowhere"',
    'exporters.prometheus.metric_expiration: invalid duration "soon" (use e.g. 200ms, 5s, 1m)',
    'exporters.prometheus.namespace: "---" has no character valid in a metric name',
    'exporters.prometheus.const_labels.__reserved: is not usable as a Prometheus label name',
    'exporters.prometheus.const_labels.a_b: is the same label (a_b) as "a.b"',
    'exporters.prometheus.enable_open_metrics: OpenMetrics is not supported: this exporter serves the Prometheus text format 0.0.4 only',
    'exporters.prometheus.translation_strategy: NoUTF8EscapingWithSuffixes keeps UTF-8 names, which the text format 0.0.4 cannot carry; use UnderscoreEscapingWithSuffixes or UnderscoreEscapingWithoutSuffixes',
  ]);
});

test('refuses unknown keys (tls is not supported) and a zero expiration', () => {
  assert.deepEqual(
    load(`
    tls: { cert_file: x }`).errors,
    ['exporters.prometheus: has invalid keys: tls'],
  );
  assert.deepEqual(
    load(`
    metric_expiration: 0s`).errors,
    ['exporters.prometheus.metric_expiration: must be greater than zero'],
  );
});

test('is a metrics-only exporter', () => {
  assert.deepEqual(load(' {}', 'traces').errors, [
    'service.pipelines.traces.exporters: exporter "prometheus" does not support traces',
  ]);
});
