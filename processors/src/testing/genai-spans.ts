import type { AnyValue, KeyValue, Span, TracesRequest } from '../otlp/model.ts';

export type AttrValue = string | number | boolean;

export interface SpanSpec {
  readonly name?: string;
  readonly attrs?: Readonly<Record<string, AttrValue>>;
  /** 32 hex digits; default one fixed trace. */
  readonly traceId?: string;
  /** 16 hex digits; default derived from the span's index. */
  readonly spanId?: string;
  /** 16 hex digits; absent = a root span. */
  readonly parentSpanId?: string;
  readonly startMs?: number;
  readonly durationMs?: number;
  /** OTLP status code: 1 ok, 2 error. */
  readonly status?: number;
}

/** An AnyValue for a JS value: integers as intValue, other numbers as doubleValue. */
export function anyValue(v: AttrValue): AnyValue {
  if (typeof v === 'string') return { stringValue: v };
  if (typeof v === 'boolean') return { boolValue: v };
  return Number.isInteger(v) ? { intValue: v } : { doubleValue: v };
}

export function keyValues(o: Readonly<Record<string, AttrValue>>): KeyValue[] {
  return Object.entries(o).map(([key, v]) => ({ key, value: anyValue(v) }));
}

const hex = (s: string) => Uint8Array.from(Buffer.from(s, 'hex'));
export const DEFAULT_TRACE = '0af7651916cd43dd8448eb211c80319c';
/** 2026-06-01T00:00:00Z: after every catalogue effective date unless a test says otherwise. */
export const DEFAULT_START_MS = Date.UTC(2026, 5, 1);

export function span(spec: SpanSpec, index = 0): Span {
  const start = spec.startMs ?? DEFAULT_START_MS;
  const end = start + (spec.durationMs ?? 1000);
  return {
    traceId: hex(spec.traceId ?? DEFAULT_TRACE),
    spanId: hex(spec.spanId ?? (index + 1).toString(16).padStart(16, '0')),
    ...(spec.parentSpanId ? { parentSpanId: hex(spec.parentSpanId) } : {}),
    name: spec.name ?? 'chat',
    kind: 3,
    startTimeUnixNano: start * 1e6,
    endTimeUnixNano: end * 1e6,
    attributes: keyValues(spec.attrs ?? {}),
    events: [],
    links: [],
    ...(spec.status !== undefined ? { status: { code: spec.status } } : {}),
  };
}

/** One resource, one scope, the given spans. */
export function traces(
  specs: readonly SpanSpec[],
  resource: Readonly<Record<string, AttrValue>> = { 'service.name': 'chat-api' },
): TracesRequest {
  return {
    resourceSpans: [
      {
        resource: { attributes: keyValues(resource) },
        scopeSpans: [{ scope: { name: 'test', attributes: [] }, spans: specs.map((s, i) => span(s, i)) }],
      },
    ],
  };
}

/** A span attribute's value as a JS value (undefined when absent). */
export function attr(s: Span, key: string): AttrValue | undefined {
  const v = s.attributes.find((kv) => kv.key === key)?.value;
  if (!v) return undefined;
  if (typeof v.stringValue === 'string') return v.stringValue;
  if (typeof v.boolValue === 'boolean') return v.boolValue;
  if (typeof v.doubleValue === 'number') return v.doubleValue;
  if (v.intValue !== undefined && v.intValue !== null) return Number(v.intValue);
  return undefined;
}

export function firstSpans(req: TracesRequest): Span[] {
  return req.resourceSpans.flatMap((rs) => rs.scopeSpans.flatMap((ss) => ss.spans));
}
