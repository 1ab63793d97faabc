import type { FieldError, PipelineRef } from '../../component/factory.ts';
import { DURATION, durationField } from '../../config/schema-helpers.ts';

export interface Dimension {
  readonly name: string;
  /** Value when neither the span nor its resource has the attribute; absent = leave the attribute out. */
  readonly default?: string;
}

/** The compiled configuration of one `llm_metrics` processor. */
export interface GenAiMetricsConfig {
  readonly metricsPipelines: readonly string[];
  readonly flushIntervalMs: number;
  readonly dimensions: readonly Dimension[];
  readonly resourceAttributes: readonly string[];
  readonly seriesTtlMs: number;
  readonly maxSeriesPerMetric: number;
  readonly valueCaps: readonly { readonly key: string; readonly maxValues: number }[];
}

/**
 * Resource attributes that identify where a measurement came from. Pod and instance ids are left out
 * on purpose: with them every restart would start new series.
 */
export const DEFAULT_RESOURCE_ATTRIBUTES = [
  'service.name',
  'service.namespace',
  'service.version',
  'deployment.environment.name',
  'deployment.environment',
  'k8s.namespace.name',
];

export const CONFIG_SCHEMA = {
  type: 'object',
  additionalProperties: false,
  required: ['metrics_pipelines'],
  properties: {
    metrics_pipelines: {
      type: 'array',
      minItems: 1,
      uniqueItems: true,
      items: { type: 'string', pattern: '^metrics(/[^\\s/]+)?$' },
    },
    flush_interval: { ...DURATION, default: '15s' },
    dimensions: {
      type: 'array',
      maxItems: 32,
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['name'],
        properties: { name: { type: 'string', minLength: 1 }, default: { type: 'string' } },
      },
    },
    resource_attributes: { type: 'array', items: { type: 'string', minLength: 1 } },
    aggregation_temporality: { enum: ['AGGREGATION_TEMPORALITY_CUMULATIVE', 'cumulative'] },
    series_ttl: { ...DURATION, default: '10m' },
    cardinality: {
      type: 'object',
      additionalProperties: false,
      properties: {
        max_series_per_metric: { type: 'integer', minimum: 1, maximum: 1_000_000, default: 2000 },
        attribute_value_caps: {
          type: 'array',
          items: {
            type: 'object',
            additionalProperties: false,
            required: ['key', 'max_values'],
            properties: {
              key: { type: 'string', minLength: 1 },
              max_values: { type: 'integer', minimum: 1 },
            },
          },
        },
      },
      default: {},
    },
  },
} as const;

export function parseGenAiMetricsConfig(block: Record<string, unknown>): GenAiMetricsConfig | FieldError[] {
  const errors: FieldError[] = [];
  const flushIntervalMs = durationField('flush_interval', String(block.flush_interval ?? '15s'), errors);
  const seriesTtlMs = durationField('series_ttl', String(block.series_ttl ?? '10m'), errors);
  if (flushIntervalMs > 0 && flushIntervalMs < 100)
    errors.push({ path: 'flush_interval', message: 'must be at least 100ms' });
  if (seriesTtlMs > 0 && seriesTtlMs < flushIntervalMs)
    errors.push({ path: 'series_ttl', message: 'must not be shorter than flush_interval' });
  const dimensions = (block.dimensions ?? []) as Dimension[];
  const seen = new Set<string>();
  dimensions.forEach((d, i) => {
    if (seen.has(d.name))
      errors.push({ path: `dimensions.${i}.name`, message: `duplicate dimension "${d.name}"` });
    seen.add(d.name);
  });
  const card = (block.cardinality ?? {}) as {
    max_series_per_metric?: number;
    attribute_value_caps?: { key: string; max_values: number }[];
  };
  if (errors.length > 0) return errors;
  return {
    metricsPipelines: (block.metrics_pipelines ?? []) as string[],
    flushIntervalMs,
    dimensions,
    resourceAttributes: (block.resource_attributes as string[] | undefined) ?? DEFAULT_RESOURCE_ATTRIBUTES,
    seriesTtlMs,
    maxSeriesPerMetric: card.max_series_per_metric ?? 2000,
    valueCaps: (card.attribute_value_caps ?? []).map((c) => ({ key: c.key, maxValues: c.max_values })),
  };
}

export function pipelineRefs(cfg: GenAiMetricsConfig): PipelineRef[] {
  return cfg.metricsPipelines.map((pipeline, i) => ({
    path: `metrics_pipelines.${i}`,
    pipeline,
    signal: 'metrics',
  }));
}
