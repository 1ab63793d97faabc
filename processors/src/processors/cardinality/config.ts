import type { FieldError } from '../../component/factory.ts';
import { DURATION, durationField } from '../../config/schema-helpers.ts';
import { OVERFLOW_ATTRIBUTE } from '../../metrics/cardinality/overflow.ts';
import {
  DEFAULT_MAX_METRICS,
  DEFAULT_MAX_SERIES_PER_METRIC,
  DEFAULT_MAX_TOTAL_SERIES,
} from '../../metrics/cardinality/series-limiter.ts';
import type { ValueCap } from '../../metrics/cardinality/value-caps.ts';

/** The validated configuration of one `cardinality_limit` processor. */
export interface CardinalityConfig {
  readonly maxSeriesPerMetric: number;
  /** Idle time after which a tracked attribute set (or capped value) is forgotten; 0 never. */
  readonly seriesTtlMs: number;
  readonly maxMetrics: number;
  readonly maxTotalSeries: number;
  /** Per-metric overrides, first matching glob wins. */
  readonly limits: readonly { readonly metric: string; readonly maxSeries: number }[];
  readonly valueCaps: readonly ValueCap[];
  /** Allow-list of attribute key globs; undefined keeps every key. */
  readonly includeAttributes: readonly string[] | undefined;
  readonly excludeAttributes: readonly string[];
}

export const DEFAULTS = {
  maxSeriesPerMetric: DEFAULT_MAX_SERIES_PER_METRIC,
  seriesTtl: '10m',
  maxMetrics: DEFAULT_MAX_METRICS,
  maxTotalSeries: DEFAULT_MAX_TOTAL_SERIES,
} as const;

const MAX_SERIES = 1_000_000;
const GLOBS = { type: 'array', items: { type: 'string', minLength: 1 }, uniqueItems: true } as const;

export const CONFIG_SCHEMA = {
  type: 'object',
  additionalProperties: false,
  properties: {
    max_series_per_metric: {
      type: 'integer',
      minimum: 1,
      maximum: MAX_SERIES,
      default: DEFAULTS.maxSeriesPerMetric,
    },
    series_ttl: { ...DURATION, default: DEFAULTS.seriesTtl },
    max_metrics: { type: 'integer', minimum: 1, maximum: 1_000_000, default: DEFAULTS.maxMetrics },
    max_total_series: {
      type: 'integer',
      minimum: 1,
      maximum: 10_000_000,
      default: DEFAULTS.maxTotalSeries,
    },
    limits: {
      type: 'array',
      maxItems: 256,
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['metric', 'max_series'],
        properties: {
          metric: { type: 'string', minLength: 1 },
          max_series: { type: 'integer', minimum: 0, maximum: MAX_SERIES },
        },
      },
    },
    attribute_value_caps: {
      type: 'array',
      maxItems: 64,
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['key', 'max_values'],
        properties: {
          key: { type: 'string', minLength: 1 },
          max_values: { type: 'integer', minimum: 1, maximum: 100_000 },
        },
      },
    },
    include_attributes: { ...GLOBS, minItems: 1 },
    exclude_attributes: GLOBS,
    overflow_attribute: { const: OVERFLOW_ATTRIBUTE },
  },
} as const;

function strings(v: unknown): string[] {
  return Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : [];
}

function objects(v: unknown): Record<string, unknown>[] {
  return Array.isArray(v)
    ? v.filter((x): x is Record<string, unknown> => x !== null && typeof x === 'object' && !Array.isArray(x))
    : [];
}

function integer(v: unknown, fallback: number): number {
  return typeof v === 'number' && Number.isInteger(v) ? v : fallback;
}

/** Checks what the schema cannot (durations, duplicates, globs where keys are exact); all errors at once. */
export function parseCardinalityConfig(block: Record<string, unknown>): CardinalityConfig | FieldError[] {
  const errors: FieldError[] = [];

  const ttlText = block.series_ttl === undefined ? DEFAULTS.seriesTtl : String(block.series_ttl);
  const seriesTtlMs = durationField('series_ttl', ttlText, errors);
  if (seriesTtlMs > 0 && seriesTtlMs < 1000)
    errors.push({ path: 'series_ttl', message: 'must be 0 (never forget) or at least 1s' });

  const maxSeriesPerMetric = integer(block.max_series_per_metric, DEFAULTS.maxSeriesPerMetric);
  const maxMetrics = integer(block.max_metrics, DEFAULTS.maxMetrics);
  const maxTotalSeries = integer(block.max_total_series, DEFAULTS.maxTotalSeries);
  if (maxSeriesPerMetric > maxTotalSeries)
    errors.push({
      path: 'max_series_per_metric',
      message: `must not exceed max_total_series (${maxTotalSeries})`,
    });

  const limits: { metric: string; maxSeries: number }[] = [];
  const seenMetrics = new Set<string>();
  objects(block.limits).forEach((l, i) => {
    const metric = String(l.metric ?? '');
    const maxSeries = integer(l.max_series, maxSeriesPerMetric);
    if (seenMetrics.has(metric))
      errors.push({ path: `limits.${i}.metric`, message: `duplicate metric "${metric}"` });
    else if (maxSeries > maxTotalSeries)
      errors.push({
        path: `limits.${i}.max_series`,
        message: `must not exceed max_total_series (${maxTotalSeries})`,
      });
    seenMetrics.add(metric);
    limits.push({ metric, maxSeries });
  });

  const valueCaps: ValueCap[] = [];
  const seenKeys = new Set<string>();
  objects(block.attribute_value_caps).forEach((c, i) => {
    const key = String(c.key ?? '');
    const path = `attribute_value_caps.${i}.key`;
    if (key.includes('*'))
      errors.push({ path, message: `must be an exact attribute key, not a glob ("${key}")` });
    else if (key === OVERFLOW_ATTRIBUTE)
      errors.push({ path, message: `${OVERFLOW_ATTRIBUTE} cannot be capped` });
    else if (seenKeys.has(key)) errors.push({ path, message: `duplicate key "${key}"` });
    seenKeys.add(key);
    valueCaps.push({ key, maxValues: integer(c.max_values, 1) });
  });

  const include = strings(block.include_attributes);
  const excludeAttributes = strings(block.exclude_attributes);
  excludeAttributes.forEach((g, i) => {
    if (g === OVERFLOW_ATTRIBUTE)
      errors.push({
        path: `exclude_attributes.${i}`,
        message: `${OVERFLOW_ATTRIBUTE} marks the overflow series and is always kept`,
      });
  });

  if (block.overflow_attribute !== undefined && block.overflow_attribute !== OVERFLOW_ATTRIBUTE)
    errors.push({
      path: 'overflow_attribute',
      message: `must be "${OVERFLOW_ATTRIBUTE}" (the OTel SDK's name)`,
    });

  if (errors.length > 0) return errors;
  return {
    maxSeriesPerMetric,
    seriesTtlMs,
    maxMetrics,
    maxTotalSeries,
    limits,
    valueCaps,
    includeAttributes: include.length > 0 ? include : undefined,
    excludeAttributes,
  };
}
