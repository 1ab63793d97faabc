import { closeSync, fstatSync, openSync, readSync } from 'node:fs';

/**
 * Reader for what the Collector's `file` exporter writes with `format: json`: one OTLP/JSON export
 * request per line (`{"resourceSpans":[...]}`, or `resourceMetrics` / `resourceLogs` when those
 * pipelines share the file), with hex trace/span ids, enums as numbers and 64-bit integers as strings.
 */

/** An attribute value as a test wants to compare it; OTLP's 64-bit ints become numbers when they fit. */
export type AttributeValue =
  | string
  | number
  | boolean
  | bigint
  | Uint8Array
  | null
  | readonly AttributeValue[]
  | { readonly [key: string]: AttributeValue };

export type Attributes = Readonly<Record<string, AttributeValue>>;

// The OTLP/JSON shapes, as far as the reader needs them.
export interface OtlpAnyValue {
  readonly stringValue?: string;
  readonly boolValue?: boolean;
  readonly intValue?: string | number;
  readonly doubleValue?: number | string;
  readonly bytesValue?: string;
  readonly arrayValue?: { readonly values?: readonly OtlpAnyValue[] };
  readonly kvlistValue?: { readonly values?: readonly OtlpKeyValue[] };
}
export interface OtlpKeyValue {
  readonly key: string;
  readonly value?: OtlpAnyValue;
}
interface OtlpEvent {
  readonly timeUnixNano?: string;
  readonly name?: string;
  readonly attributes?: readonly OtlpKeyValue[];
  readonly droppedAttributesCount?: number;
}
interface OtlpLink {
  readonly traceId?: string;
  readonly spanId?: string;
  readonly traceState?: string;
  readonly attributes?: readonly OtlpKeyValue[];
  readonly flags?: number;
}
export interface OtlpSpan {
  readonly traceId?: string;
  readonly spanId?: string;
  readonly parentSpanId?: string;
  readonly traceState?: string;
  readonly flags?: number;
  readonly name?: string;
  readonly kind?: number | string;
  readonly startTimeUnixNano?: string;
  readonly endTimeUnixNano?: string;
  readonly attributes?: readonly OtlpKeyValue[];
  readonly droppedAttributesCount?: number;
  readonly events?: readonly OtlpEvent[];
  readonly links?: readonly OtlpLink[];
  readonly status?: { readonly code?: number | string; readonly message?: string };
}
interface OtlpScope {
  readonly name?: string;
  readonly version?: string;
  readonly attributes?: readonly OtlpKeyValue[];
}
export interface OtlpTracesData {
  readonly resourceSpans?: readonly {
    readonly resource?: { readonly attributes?: readonly OtlpKeyValue[] };
    readonly schemaUrl?: string;
    readonly scopeSpans?: readonly {
      readonly scope?: OtlpScope;
      readonly schemaUrl?: string;
      readonly spans?: readonly OtlpSpan[];
    }[];
  }[];
}

/**
 * OTLP's SpanKind numbers. Not @opentelemetry/api's SpanKind: the wire enum has UNSPECIFIED = 0, so every
 * API kind is one higher here.
 */
export const OtlpSpanKind = {
  UNSPECIFIED: 0,
  INTERNAL: 1,
  SERVER: 2,
  CLIENT: 3,
  PRODUCER: 4,
  CONSUMER: 5,
} as const;
/** OTLP's Status.code numbers (these do match @opentelemetry/api's SpanStatusCode). */
export const OtlpStatusCode = { UNSET: 0, OK: 1, ERROR: 2 } as const;

export interface ReceivedEvent {
  readonly name: string;
  readonly timeUnixNano: bigint;
  readonly attributes: Attributes;
}

export interface ReceivedLink {
  readonly traceId: string;
  readonly spanId: string;
  readonly traceState: string | undefined;
  readonly attributes: Attributes;
}

export interface ReceivedSpan {
  readonly resource: { readonly attributes: Attributes; readonly schemaUrl: string | undefined };
  readonly scope: {
    readonly name: string;
    readonly version: string | undefined;
    readonly attributes: Attributes;
  };
  readonly span: {
    readonly traceId: string;
    readonly spanId: string;
    readonly parentSpanId: string | undefined;
    readonly traceState: string | undefined;
    readonly name: string;
    readonly kind: number;
    readonly startTimeUnixNano: bigint;
    readonly endTimeUnixNano: bigint;
    readonly attributes: Attributes;
    readonly events: readonly ReceivedEvent[];
    readonly links: readonly ReceivedLink[];
    readonly status: { readonly code: number; readonly message: string | undefined };
  };
  /** The span exactly as the file held it, for checks on the wire types (int vs double, ...). */
  readonly raw: OtlpSpan;
}

function decodeNumberLike(v: number | string): number {
  if (typeof v === 'number') return v;
  // protojson spells non-finite doubles as strings.
  if (v === 'NaN') return Number.NaN;
  if (v === 'Infinity') return Number.POSITIVE_INFINITY;
  if (v === '-Infinity') return Number.NEGATIVE_INFINITY;
  return Number(v);
}

export function decodeAnyValue(v: OtlpAnyValue | undefined): AttributeValue {
  if (v === undefined) return null;
  if (v.stringValue !== undefined) return v.stringValue;
  if (v.boolValue !== undefined) return v.boolValue;
  if (v.intValue !== undefined) {
    const big = BigInt(v.intValue);
    const n = Number(big);
    return Number.isSafeInteger(n) ? n : big;
  }
  if (v.doubleValue !== undefined) return decodeNumberLike(v.doubleValue);
  if (v.bytesValue !== undefined) return new Uint8Array(Buffer.from(v.bytesValue, 'base64'));
  if (v.arrayValue !== undefined) return (v.arrayValue.values ?? []).map(decodeAnyValue);
  if (v.kvlistValue !== undefined) return decodeAttributes(v.kvlistValue.values);
  return null;
}

export function decodeAttributes(kvs: readonly OtlpKeyValue[] | undefined): Attributes {
  const out: Record<string, AttributeValue> = {};
  for (const kv of kvs ?? []) out[kv.key] = decodeAnyValue(kv.value);
  return out;
}

const kindNames: Readonly<Record<string, number>> = {
  SPAN_KIND_UNSPECIFIED: 0,
  SPAN_KIND_INTERNAL: 1,
  SPAN_KIND_SERVER: 2,
  SPAN_KIND_CLIENT: 3,
  SPAN_KIND_PRODUCER: 4,
  SPAN_KIND_CONSUMER: 5,
};
const statusNames: Readonly<Record<string, number>> = {
  STATUS_CODE_UNSET: 0,
  STATUS_CODE_OK: 1,
  STATUS_CODE_ERROR: 2,
};

// pdata writes enums as numbers, protojson from other producers as names; accept both.
function enumValue(v: number | string | undefined, names: Readonly<Record<string, number>>): number {
  if (v === undefined) return 0;
  if (typeof v === 'number') return v;
  return names[v] ?? Number(v);
}

const nonEmpty = (s: string | undefined): string | undefined => (s === undefined || s === '' ? undefined : s);

/** Flattens one OTLP/JSON traces request into resource/scope/span triples. */
export function decodeTracesData(data: OtlpTracesData): ReceivedSpan[] {
  const out: ReceivedSpan[] = [];
  for (const rs of data.resourceSpans ?? []) {
    const resource = {
      attributes: decodeAttributes(rs.resource?.attributes),
      schemaUrl: nonEmpty(rs.schemaUrl),
    };
    for (const ss of rs.scopeSpans ?? []) {
      const scope = {
        name: ss.scope?.name ?? '',
        version: nonEmpty(ss.scope?.version),
        attributes: decodeAttributes(ss.scope?.attributes),
      };
      for (const s of ss.spans ?? []) {
        out.push({
          resource,
          scope,
          span: {
            traceId: s.traceId ?? '',
            spanId: s.spanId ?? '',
            parentSpanId: nonEmpty(s.parentSpanId),
            traceState: nonEmpty(s.traceState),
            name: s.name ?? '',
            kind: enumValue(s.kind, kindNames),
            startTimeUnixNano: BigInt(s.startTimeUnixNano ?? 0),
            endTimeUnixNano: BigInt(s.endTimeUnixNano ?? 0),
            attributes: decodeAttributes(s.attributes),
            events: (s.events ?? []).map((e) => ({
              name: e.name ?? '',
              timeUnixNano: BigInt(e.timeUnixNano ?? 0),
              attributes: decodeAttributes(e.attributes),
            })),
            links: (s.links ?? []).map((l) => ({
              traceId: l.traceId ?? '',
              spanId: l.spanId ?? '',
              traceState: nonEmpty(l.traceState),
              attributes: decodeAttributes(l.attributes),
            })),
            status: { code: enumValue(s.status?.code, statusNames), message: nonEmpty(s.status?.message) },
          },
          raw: s,
        });
      }
    }
  }
  return out;
}

/**
 * Follows a JSON-lines file that another process is still appending to. Only complete lines are
 * parsed, so a line the Collector is half-way through writing is picked up on the next read.
 */
export class OtlpJsonLinesReader {
  readonly path: string;
  #offset = 0;
  #ino = -1;
  #pending = Buffer.alloc(0);
  readonly #requests: unknown[] = [];
  #spans: ReceivedSpan[] = [];

  constructor(path: string) {
    this.path = path;
  }

  /** Every export request read so far, parsed but otherwise as written. */
  requests(): readonly unknown[] {
    this.#poll();
    return this.#requests;
  }

  /** Every span read so far, in file order. */
  spans(): readonly ReceivedSpan[] {
    this.#poll();
    return this.#spans;
  }

  #poll(): void {
    let fd: number;
    try {
      fd = openSync(this.path, 'r');
    } catch (err) {
      // The exporter creates the file on its first write.
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw err;
    }
    try {
      const { size, ino } = fstatSync(fd);
      if (size < this.#offset || ino !== this.#ino) {
        // Truncated or replaced (or first opened): start over rather than return stale spans.
        this.#ino = ino;
        this.#offset = 0;
        this.#pending = Buffer.alloc(0);
        this.#requests.length = 0;
        this.#spans = [];
      }
      if (size === this.#offset) return;
      const chunk = Buffer.alloc(size - this.#offset);
      const n = readSync(fd, chunk, 0, chunk.length, this.#offset);
      this.#offset += n;
      this.#pending = Buffer.concat([this.#pending, chunk.subarray(0, n)]);
    } finally {
      closeSync(fd);
    }
    const lastNewline = this.#pending.lastIndexOf(0x0a);
    if (lastNewline < 0) return;
    const complete = this.#pending.subarray(0, lastNewline).toString('utf8');
    this.#pending = Buffer.from(this.#pending.subarray(lastNewline + 1));
    for (const line of complete.split('\n')) {
      if (line.trim() === '') continue;
      const parsed: unknown = JSON.parse(line);
      this.#requests.push(parsed);
      if (typeof parsed === 'object' && parsed !== null && 'resourceSpans' in parsed) {
        // A loop, not push(...spans): a benchmark-sized request would overflow the argument stack.
        for (const span of decodeTracesData(parsed as OtlpTracesData)) this.#spans.push(span);
      }
    }
  }
}
