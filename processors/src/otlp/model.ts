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

/** Metric and log payloads are carried opaquely until a processor needs their structure. */
export interface MetricsRequest {
  resourceMetrics: { resource?: Resource | null; scopeMetrics: { metrics: unknown[] }[] }[];
}

export interface LogsRequest {
  resourceLogs: { resource?: Resource | null; scopeLogs: { logRecords: unknown[] }[] }[];
}

export interface RequestBySignal {
  traces: TracesRequest;
  metrics: MetricsRequest;
  logs: LogsRequest;
}
