import type { CreateSettings } from '../../component/component.ts';
import type { Exporter } from '../../component/exporter.ts';
import type { ExporterFactory, FieldError } from '../../component/factory.ts';
import { DURATION, durationField, parseHostPort } from '../../config/schema-helpers.ts';
import type { Signal } from '../../otlp/schema.ts';
import { PrometheusExporter, type PrometheusExporterConfig } from './exporter.ts';
import { escapeMetricName, labelName } from './naming.ts';

/** Loopback unless told: the Collector's 0.0.0.0:8889 would publish every metric to the network. */
export const DEFAULT_ENDPOINT = 'localhost:8889';
export const DEFAULT_METRIC_EXPIRATION = '5m';

const TRANSLATION_STRATEGIES = [
  'UnderscoreEscapingWithSuffixes',
  'UnderscoreEscapingWithoutSuffixes',
  'NoUTF8EscapingWithSuffixes',
  'NoTranslation',
] as const;

function bool(v: unknown, fallback: boolean): boolean {
  return typeof v === 'boolean' ? v : fallback;
}

/**
 * `prometheus`: the Collector's Prometheus exporter (metrics only): serves GET /metrics on
 * `endpoint` in the Prometheus text format 0.0.4 for a Prometheus server to scrape. Settings as the
 * Collector's, with the default endpoint on localhost; see README.md in this folder.
 */
export const prometheusExporterFactory: ExporterFactory<PrometheusExporterConfig> = {
  kind: 'exporter',
  type: 'prometheus',
  signals: ['metrics'],
  schema: {
    type: 'object',
    additionalProperties: false,
    properties: {
      endpoint: { type: 'string', default: DEFAULT_ENDPOINT },
      namespace: { type: 'string', default: '' },
      const_labels: { type: 'object', additionalProperties: { type: 'string' }, default: {} },
      send_timestamps: { type: 'boolean', default: false },
      metric_expiration: { ...DURATION, default: DEFAULT_METRIC_EXPIRATION },
      resource_to_telemetry_conversion: {
        type: 'object',
        additionalProperties: false,
        properties: {
          enabled: { type: 'boolean', default: false },
          exclude_service_attributes: { type: 'boolean', default: false },
        },
      },
      enable_open_metrics: { type: 'boolean', default: false },
      add_metric_suffixes: { type: 'boolean', default: true },
      translation_strategy: { enum: [...TRANSLATION_STRATEGIES] },
      without_scope_info: { type: 'boolean', default: false },
    },
  },
  parse(block) {
    const errors: FieldError[] = [];
    const { host, port } = parseHostPort('endpoint', String(block.endpoint ?? DEFAULT_ENDPOINT), errors);
    const metricExpirationMs = durationField(
      'metric_expiration',
      String(block.metric_expiration ?? DEFAULT_METRIC_EXPIRATION),
      errors,
    );
    if (metricExpirationMs <= 0 && !errors.some((e) => e.path === 'metric_expiration')) {
      errors.push({ path: 'metric_expiration', message: 'must be greater than zero' });
    }

    const rawNamespace = String(block.namespace ?? '');
    const namespace = escapeMetricName(rawNamespace);
    if (rawNamespace !== '' && namespace === '') {
      errors.push({
        path: 'namespace',
        message: `"${rawNamespace}" has no character valid in a metric name`,
      });
    }

    const constLabels: [string, string][] = [];
    const seen = new Map<string, string>();
    for (const [key, value] of Object.entries((block.const_labels ?? {}) as Record<string, string>)) {
      const name = labelName(key);
      if (name === undefined) {
        errors.push({ path: `const_labels.${key}`, message: 'is not usable as a Prometheus label name' });
        continue;
      }
      const before = seen.get(name);
      if (before !== undefined) {
        errors.push({ path: `const_labels.${key}`, message: `is the same label (${name}) as "${before}"` });
        continue;
      }
      seen.set(name, key);
      constLabels.push([name, value]);
    }

    if (block.enable_open_metrics === true) {
      errors.push({
        path: 'enable_open_metrics',
        message: 'OpenMetrics is not supported: this exporter serves the Prometheus text format 0.0.4 only',
      });
    }

    let addMetricSuffixes = bool(block.add_metric_suffixes, true);
    const strategy = block.translation_strategy as (typeof TRANSLATION_STRATEGIES)[number] | undefined;
    if (strategy === 'UnderscoreEscapingWithSuffixes') addMetricSuffixes = true;
    else if (strategy === 'UnderscoreEscapingWithoutSuffixes') addMetricSuffixes = false;
    else if (strategy !== undefined) {
      errors.push({
        path: 'translation_strategy',
        message: `${strategy} keeps UTF-8 names, which the text format 0.0.4 cannot carry; use UnderscoreEscapingWithSuffixes or UnderscoreEscapingWithoutSuffixes`,
      });
    }

    const r2t = (block.resource_to_telemetry_conversion ?? {}) as Record<string, unknown>;
    if (errors.length > 0) return errors;
    return {
      host,
      port,
      namespace,
      constLabels,
      sendTimestamps: bool(block.send_timestamps, false),
      metricExpirationMs,
      resourceToTelemetry: bool(r2t.enabled, false),
      excludeServiceAttributes: bool(r2t.exclude_service_attributes, false),
      addMetricSuffixes,
      withoutScopeInfo: bool(block.without_scope_info, false),
    };
  },
  create<S extends Signal>(set: CreateSettings, cfg: PrometheusExporterConfig, signal: S): Exporter<S> {
    if (signal !== 'metrics') throw new Error(`exporter ${set.id} supports metrics only, not ${signal}`);
    return new PrometheusExporter(set, cfg) as Exporter<'metrics'> as unknown as Exporter<S>;
  },
};
