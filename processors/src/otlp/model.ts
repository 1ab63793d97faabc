import type Long from 'long';

/**
 * The in-memory OTLP data model: exactly what protobufjs decodes (camelCase fields, bytes as
 * Uint8Array, 64-bit integers as Long). A request is decoded into it once, processors mutate it in
 * place, and each exporter encodes it once.
 */
export type Int64 = Long | number;

export interface AnyValue {
  stringValue?: string | null;
  boolValue?: boolean | null;
  intValue?: Int64 | null;
  doubleValue?: number | null;
  arrayValue?: { values: AnyValue[] } | null;
  kvlistValue?: { values: KeyValue[] } | null;
  bytesValue?: Uint8Array | null;
}

export interface KeyValue {
  key: string;
  value?: AnyValue | null;
}

export interface Resource {
  attributes: KeyValue[];
  droppedAttributesCount?: number;
}

export interface InstrumentationScope {
  name?: string;
  version?: string;
  attributes: KeyValue[];
  droppedAttributesCount?: number;
}

export interface SpanEvent {
  timeUnixNano?: Int64;
  name?: string;
  attributes: KeyValue[];
  droppedAttributesCount?: number;
}

export interface SpanLink {
  traceId?: Uint8Array;
  spanId?: Uint8Array;
  traceState?: string;
  attributes: KeyValue[];
  droppedAttributesCount?: number;
  flags?: number;
}

export interface Span {
  traceId?: Uint8Array;
  spanId?: Uint8Array;
  traceState?: string;
  parentSpanId?: Uint8Array;
  flags?: number;
  name?: string;
  kind?: number;
  startTimeUnixNano?: Int64;
  endTimeUnixNano?: Int64;
  attributes: KeyValue[];
  droppedAttributesCount?: number;
  events: SpanEvent[];
  droppedEventsCount?: number;
  links: SpanLink[];
  droppedLinksCount?: number;
  status?: { message?: string; code?: number } | null;
}

export interface ScopeSpans {
  scope?: InstrumentationScope | null;
  spans: Span[];
  schemaUrl?: string;
}

export interface ResourceSpans {
  resource?: Resource | null;
  scopeSpans: ScopeSpans[];
  schemaUrl?: string;
}

export interface TracesRequest {
  resourceSpans: ResourceSpans[];
}

export interface Exemplar {
  filteredAttributes: KeyValue[];
  timeUnixNano?: Int64;
  asDouble?: number | null;
  asInt?: Int64 | null;
  spanId?: Uint8Array;
  traceId?: Uint8Array;
}

export interface NumberDataPoint {
  attributes: KeyValue[];
  startTimeUnixNano?: Int64;
  timeUnixNano?: Int64;
  asDouble?: number | null;
  asInt?: Int64 | null;
  exemplars: Exemplar[];
  flags?: number;
}

export interface HistogramDataPoint {
  attributes: KeyValue[];
  startTimeUnixNano?: Int64;
  timeUnixNano?: Int64;
  count?: Int64;
  sum?: number | null;
  bucketCounts: Int64[];
  explicitBounds: number[];
  exemplars: Exemplar[];
  flags?: number;
  min?: number | null;
  max?: number | null;
}

export interface ExponentialHistogramBuckets {
  offset?: number;
  bucketCounts: Int64[];
}

export interface ExponentialHistogramDataPoint {
  attributes: KeyValue[];
  startTimeUnixNano?: Int64;
  timeUnixNano?: Int64;
  count?: Int64;
  sum?: number | null;
  scale?: number;
  zeroCount?: Int64;
  positive?: ExponentialHistogramBuckets | null;
  negative?: ExponentialHistogramBuckets | null;
  flags?: number;
  exemplars: Exemplar[];
  min?: number | null;
  max?: number | null;
  zeroThreshold?: number;
}

export interface SummaryDataPoint {
  attributes: KeyValue[];
  startTimeUnixNano?: Int64;
  timeUnixNano?: Int64;
  count?: Int64;
  sum?: number;
  quantileValues: { quantile?: number; value?: number }[];
  flags?: number;
}

/** OTLP AggregationTemporality: 1 delta, 2 cumulative. */
export const TEMPORALITY_DELTA = 1;
export const TEMPORALITY_CUMULATIVE = 2;

/** One metric; exactly one of the data fields is set (the proto's `oneof data`). */
export interface Metric {
  name?: string;
  description?: string;
  unit?: string;
  gauge?: { dataPoints: NumberDataPoint[] } | null;
  sum?: { dataPoints: NumberDataPoint[]; aggregationTemporality?: number; isMonotonic?: boolean } | null;
  histogram?: { dataPoints: HistogramDataPoint[]; aggregationTemporality?: number } | null;
  exponentialHistogram?: {
    dataPoints: ExponentialHistogramDataPoint[];
    aggregationTemporality?: number;
  } | null;
  summary?: { dataPoints: SummaryDataPoint[] } | null;
  metadata?: KeyValue[];
}

export interface ScopeMetrics {
  scope?: InstrumentationScope | null;
  metrics: Metric[];
  schemaUrl?: string;
}

export interface ResourceMetrics {
  resource?: Resource | null;
  scopeMetrics: ScopeMetrics[];
  schemaUrl?: string;
}

export interface MetricsRequest {
  resourceMetrics: ResourceMetrics[];
}

/** Log payloads are carried opaquely until a processor needs their structure. */

export interface LogsRequest {
  resourceLogs: { resource?: Resource | null; scopeLogs: { logRecords: unknown[] }[] }[];
}

export interface RequestBySignal {
  traces: TracesRequest;
  metrics: MetricsRequest;
  logs: LogsRequest;
}
