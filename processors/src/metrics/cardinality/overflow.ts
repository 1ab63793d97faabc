import type { KeyValue } from '../../otlp/model.ts';
import { seriesKey } from './series-key.ts';

/** The attribute of the overflow series, as the OTel metrics SDK spec names it. */
export const OVERFLOW_ATTRIBUTE = 'otel.metric.overflow';

/** What a capped attribute value is replaced with. */
export const OTHER_VALUE = '__other__';

/** A fresh copy of the overflow series' attribute set: `otel.metric.overflow=true`, nothing else. */
export function overflowAttributes(): KeyValue[] {
  return [{ key: OVERFLOW_ATTRIBUTE, value: { boolValue: true } }];
}

/** The series key of the overflow attribute set (points already in overflow, e.g. from an SDK, have it). */
export const OVERFLOW_SERIES_KEY = seriesKey(overflowAttributes());
