/**
 * Metric cardinality building blocks, shared by the `cardinality_limit` processor (incoming OTLP
 * metrics) and the `llm_metrics` processor (metrics derived from spans). See README.md.
 */
export { AttributeFilter, type AttributeFilterOptions } from './attribute-filter.ts';
export { ExpiringSet } from './expiring-set.ts';
export { GlobRules, GlobSet, globMatch } from './glob.ts';
export { addInt64, compareInt64, int64ToNumber } from './int64.ts';
export {
  type DataPoint,
  MAX_EXEMPLARS,
  MAX_EXPONENTIAL_BUCKETS,
  mergeExponentialHistogramPoint,
  mergeHistogramPoint,
  mergeNumberPoint,
  mergePoint,
  type NumberMerge,
  type PointKind,
} from './merge.ts';
export { OTHER_VALUE, OVERFLOW_ATTRIBUTE, OVERFLOW_SERIES_KEY, overflowAttributes } from './overflow.ts';
export { boundedKey, MAX_STORED_KEY_CHARS, seriesKey, valueKey } from './series-key.ts';
export {
  DEFAULT_MAX_METRICS,
  DEFAULT_MAX_SERIES_PER_METRIC,
  DEFAULT_MAX_TOTAL_SERIES,
  DEFAULT_SERIES_TTL_MS,
  SeriesLimiter,
  type SeriesLimiterOptions,
  type SeriesLimiterStats,
} from './series-limiter.ts';
export { type ValueCap, ValueCaps } from './value-caps.ts';
