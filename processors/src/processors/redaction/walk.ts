import type {
  AnyValue,
  InstrumentationScope,
  KeyValue,
  LogsRequest,
  MetricsRequest,
  Resource,
  Span,
  TracesRequest,
} from '../../otlp/model.ts';
import { failClosedToken } from './entities.ts';
import { indexless } from './keys.ts';
import { type KeyInfo, PLAIN, type Redactor, type Tally } from './redactor.ts';

// The parts of metrics and logs the model carries opaquely.
interface DataPoint {
  attributes?: KeyValue[] | null;
  exemplars?: { filteredAttributes?: KeyValue[] | null }[] | null;
}
interface Metric {
  metadata?: KeyValue[] | null;
  gauge?: { dataPoints?: DataPoint[] | null } | null;
  sum?: { dataPoints?: DataPoint[] | null } | null;
  histogram?: { dataPoints?: DataPoint[] | null } | null;
  exponentialHistogram?: { dataPoints?: DataPoint[] | null } | null;
  summary?: { dataPoints?: DataPoint[] | null } | null;
}
interface LogRecord {
  body?: AnyValue | null;
  attributes?: KeyValue[] | null;
  eventName?: string | null;
}

const POINT_KINDS = ['gauge', 'sum', 'histogram', 'exponentialHistogram', 'summary'] as const;
/**
 * Deeper AnyValue nesting than this is replaced, not followed. protobufjs stops at 100 message
 * levels (about 47 AnyValue levels); real structured GenAI messages use well under 16.
 */
const MAX_ANYVALUE_DEPTH = 32;

function own(v: object, field: string): boolean {
  return Object.hasOwn(v, field) && (v as Record<string, unknown>)[field] != null;
}

export interface WalkOptions {
  /** Indexless keys that get their own `key` label; others count as `other`. */
  readonly metricKeys: ReadonlySet<string>;
  /** Add `llmobs.redaction.count` / `.entities` to spans and log records that had redactions. */
  readonly summary: boolean;
}

export const SUMMARY_COUNT = 'llmobs.redaction.count';
export const SUMMARY_ENTITIES = 'llmobs.redaction.entities';

/**
 * Visits every string-bearing field of the three signals and redacts it in place: resource,
 * scope, span, event, link, log, datapoint, exemplar and metric-metadata attributes (keys and
 * values, nested arrays and key-value lists, integers), span names, status messages, event
 * names, log bodies and log event names. Attributes whose entity action is `drop` are removed;
 * fields that cannot be removed (a span name, a log body) get the entity's mask token instead.
 * Not visited: ids and timestamps (bytes and integers), scope name/version, schema URLs and
 * metric names, units and descriptions (instrumentation vocabulary, not data).
 */
export class OtlpRedaction {
  readonly #r: Redactor;
  readonly #o: WalkOptions;
  readonly #labels = new Map<string, string>();

  constructor(redactor: Redactor, opts: WalkOptions) {
    this.#r = redactor;
    this.#o = opts;
  }

  traces(req: TracesRequest, tally: Tally): void {
    for (const rs of req.resourceSpans ?? []) {
      this.#resource(rs.resource, tally);
      for (const ss of rs.scopeSpans ?? []) {
        this.#scope(ss.scope, tally);
        for (const span of ss.spans ?? []) this.#span(span, tally);
      }
    }
  }

  metrics(req: MetricsRequest, tally: Tally): void {
    for (const rm of req.resourceMetrics ?? []) {
      this.#resource(rm.resource, tally);
      for (const sm of rm.scopeMetrics ?? []) {
        this.#scope((sm as { scope?: InstrumentationScope | null }).scope, tally);
        for (const metric of (sm.metrics ?? []) as Metric[]) {
          this.#attributes(metric.metadata, tally);
          for (const kind of POINT_KINDS) {
            for (const dp of metric[kind]?.dataPoints ?? []) {
              this.#attributes(dp.attributes, tally);
              for (const ex of dp.exemplars ?? []) this.#attributes(ex.filteredAttributes, tally);
            }
          }
        }
      }
    }
  }

  logs(req: LogsRequest, tally: Tally): void {
    for (const rl of req.resourceLogs ?? []) {
      this.#resource(rl.resource, tally);
      for (const sl of rl.scopeLogs ?? []) {
        this.#scope((sl as { scope?: InstrumentationScope | null }).scope, tally);
        for (const rec of (sl.logRecords ?? []) as LogRecord[]) {
          tally.startItem();
          if (rec.body) {
            tally.metricKey = 'log.body';
            // A body cannot be dropped: drop-action entities in it are masked instead.
            this.#value(rec.body, undefined, PLAIN, tally, 0);
          }
          this.#attributes(rec.attributes, tally);
          if (rec.eventName) {
            const name = this.#field(rec.eventName, 'log.event_name', tally);
            if (name !== undefined) rec.eventName = name;
          }
          this.#summarize(rec, tally);
        }
      }
    }
  }

  #resource(res: Resource | null | undefined, tally: Tally): void {
    if (res) this.#attributes(res.attributes, tally);
  }

  #scope(scope: InstrumentationScope | null | undefined, tally: Tally): void {
    if (scope) this.#attributes(scope.attributes, tally);
  }

  #span(span: Span, tally: Tally): void {
    tally.startItem();
    if (span.name) {
      const name = this.#field(span.name, 'span.name', tally);
      if (name !== undefined) span.name = name;
    }
    this.#attributes(span.attributes, tally);
    if (span.status?.message) {
      const msg = this.#field(span.status.message, 'span.status.message', tally);
      if (msg !== undefined) span.status.message = msg;
    }
    for (const ev of span.events ?? []) {
      if (ev.name) {
        const name = this.#field(ev.name, 'span.event.name', tally);
        if (name !== undefined) ev.name = name;
      }
      this.#attributes(ev.attributes, tally);
    }
    for (const link of span.links ?? []) this.#attributes(link.attributes, tally);
    this.#summarize(span, tally);
  }

  #summarize(item: { attributes?: KeyValue[] | null }, tally: Tally): void {
    if (!this.#o.summary || tally.itemCount === 0) return;
    const attrs = item.attributes ?? [];
    attrs.push(
      { key: SUMMARY_COUNT, value: { intValue: tally.itemCount } },
      {
        key: SUMMARY_ENTITIES,
        value: { arrayValue: { values: [...tally.itemEntities].sort().map((e) => ({ stringValue: e })) } },
      },
    );
    item.attributes = attrs;
  }

  /** A field that is not an attribute: redacted as text, never dropped. */
  #field(value: string, location: string, tally: Tally): string | undefined {
    tally.metricKey = location;
    const r = this.#r.text(value, undefined, PLAIN, tally);
    return r.changed ? r.text : undefined;
  }

  #label(key: string): string {
    let label = this.#labels.get(key);
    if (label === undefined) {
      const k = indexless(key);
      label = this.#o.metricKeys.has(k) ? k : 'other';
      if (this.#labels.size >= 4096) this.#labels.clear();
      this.#labels.set(key, label);
    }
    return label;
  }

  /** Redacts an attribute list in place, removing attributes that hold a `drop` entity. */
  #attributes(attrs: KeyValue[] | null | undefined, tally: Tally): void {
    if (!attrs || attrs.length === 0) return;
    let w = 0;
    for (let i = 0; i < attrs.length; i++) {
      const kv = attrs[i];
      if (!kv) continue;
      const key = kv.key ?? '';
      tally.metricKey = this.#label(key);
      const info = this.#r.keyInfo(key);
      let drop = kv.value ? this.#value(kv.value, key, info, tally, 0) : false;
      const k = this.#r.text(key, undefined, PLAIN, tally);
      if (k.changed) kv.key = k.text;
      if (k.drop) drop = true;
      if (!drop) attrs[w++] = kv;
    }
    attrs.length = w;
  }

  /** Redacts one AnyValue in place; true when its attribute should be dropped. */
  #value(v: AnyValue, key: string | undefined, info: KeyInfo, tally: Tally, depth: number): boolean {
    if (info.allowed) return false;
    if (depth > MAX_ANYVALUE_DEPTH) {
      tally.fail('too_deep');
      v.arrayValue = null;
      v.kvlistValue = null;
      v.stringValue = failClosedToken('too_deep');
      return false;
    }
    if (own(v, 'stringValue')) {
      const r = this.#r.text(v.stringValue ?? '', key, info, tally);
      if (r.changed) v.stringValue = r.text;
      return r.drop;
    }
    if (own(v, 'intValue')) {
      const r = this.#r.integer(String(v.intValue), key, info, tally);
      if (r.changed) {
        v.intValue = null;
        v.stringValue = r.text;
      }
      return r.drop;
    }
    if (info.secret && (own(v, 'doubleValue') || own(v, 'bytesValue'))) {
      const r = this.#r.secretValue('', tally);
      v.doubleValue = null;
      v.bytesValue = null;
      v.stringValue = r.text;
      return r.drop;
    }
    let drop = false;
    if (own(v, 'arrayValue')) {
      for (const el of v.arrayValue?.values ?? []) {
        if (el && this.#value(el, key, info, tally, depth + 1)) drop = true;
      }
    } else if (own(v, 'kvlistValue')) {
      for (const kv of v.kvlistValue?.values ?? []) {
        if (!kv) continue;
        const childKey = kv.key ?? '';
        if (kv.value && this.#value(kv.value, childKey, this.#r.childInfo(info, childKey), tally, depth + 1))
          drop = true;
        if (!info.secret) {
          const k = this.#r.text(childKey, undefined, PLAIN, tally);
          if (k.changed) kv.key = k.text;
          if (k.drop) drop = true;
        }
      }
    }
    return drop;
  }
}
