import type {
  AnyValue,
  ExponentialHistogramDataPoint,
  HistogramDataPoint,
  Int64,
  KeyValue,
  Metric,
  MetricsRequest,
  NumberDataPoint,
  SummaryDataPoint,
} from '../../otlp/model.ts';
import { TEMPORALITY_CUMULATIVE, TEMPORALITY_DELTA } from '../../otlp/model.ts';
import { type ExpBuckets, type ExpHistogram, MAX_SCALE, MIN_SCALE, mergeExp } from './exphist.ts';
import { labelBody } from './exposition.ts';
import { formatFloat, labelName, metricFamilyName, type OtlpKind } from './naming.ts';
import type { FamilyType, PointUpdate, PointValue, Problem, ResourceInfo } from './store.ts';

export interface TranslateOptions {
  /** Escaped namespace, '' for none. */
  readonly namespace: string;
  readonly addMetricSuffixes: boolean;
  /** Sanitised names. They win over every other label of the same name. */
  readonly constLabels: readonly (readonly [string, string])[];
  /** `resource_to_telemetry_conversion.enabled`: every resource attribute becomes a label too. */
  readonly resourceToTelemetry: boolean;
  /** With resourceToTelemetry: leave out service.name, service.namespace and service.instance.id. */
  readonly excludeServiceAttributes: boolean;
  /** No otel_scope_* labels. */
  readonly withoutScopeInfo: boolean;
}

export interface Translation {
  readonly updates: PointUpdate[];
  /** Points refused while translating (they never reach the store). */
  readonly problems: Problem[];
  /** Data points seen, refused ones included. */
  readonly points: number;
}

const SERVICE_NAME = 'service.name';
const SERVICE_NAMESPACE = 'service.namespace';
const SERVICE_INSTANCE_ID = 'service.instance.id';
const SERVICE_KEYS = new Set([SERVICE_NAME, SERVICE_NAMESPACE, SERVICE_INSTANCE_ID]);

/** OTLP DataPointFlags: FLAG_NO_RECORDED_VALUE. */
const FLAG_NO_RECORDED_VALUE = 1;

type Labels = Map<string, string>;

/** A field of a protobufjs message only if it was set: unset fields read as their defaults from the prototype. */
function field<T extends object, K extends keyof T>(obj: T, key: K): NonNullable<T[K]> | undefined {
  if (!Object.hasOwn(obj, key)) return undefined;
  const v = obj[key];
  return v === null || v === undefined ? undefined : (v as NonNullable<T[K]>);
}

export function int64ToNumber(v: Int64 | null | undefined): number {
  if (v === null || v === undefined) return 0;
  return typeof v === 'number' ? v : v.toNumber();
}

export function int64ToBigInt(v: Int64 | null | undefined): bigint {
  if (v === null || v === undefined) return 0n;
  if (typeof v === 'number') return Number.isFinite(v) ? BigInt(Math.trunc(v)) : 0n;
  const raw = (BigInt(v.high >>> 0) << 32n) | BigInt(v.low >>> 0);
  return v.unsigned ? raw : BigInt.asIntN(64, raw);
}

function jsonValue(v: AnyValue | null | undefined): unknown {
  if (!v) return null;
  const s = field(v, 'stringValue');
  if (s !== undefined) return s;
  const b = field(v, 'boolValue');
  if (b !== undefined) return b;
  const i = field(v, 'intValue');
  if (i !== undefined) return int64ToNumber(i);
  const d = field(v, 'doubleValue');
  if (d !== undefined) return d;
  const arr = field(v, 'arrayValue');
  if (arr !== undefined) return (arr.values ?? []).map(jsonValue);
  const kv = field(v, 'kvlistValue');
  if (kv !== undefined) return Object.fromEntries((kv.values ?? []).map((x) => [x.key, jsonValue(x.value)]));
  const bytes = field(v, 'bytesValue');
  if (bytes !== undefined) return Buffer.from(bytes).toString('base64');
  return null;
}

/** An attribute value as a label value, as the Collector's `AsString` spells it (JSON for arrays and maps). */
export function anyValueString(v: AnyValue | null | undefined): string {
  if (!v) return '';
  const s = field(v, 'stringValue');
  if (s !== undefined) return s;
  const b = field(v, 'boolValue');
  if (b !== undefined) return b ? 'true' : 'false';
  const i = field(v, 'intValue');
  if (i !== undefined) return typeof i === 'number' ? String(Math.trunc(i)) : i.toString();
  const d = field(v, 'doubleValue');
  if (d !== undefined) return formatFloat(d);
  const bytes = field(v, 'bytesValue');
  if (bytes !== undefined) return Buffer.from(bytes).toString('base64');
  const j = jsonValue(v);
  return j === null ? '' : JSON.stringify(j);
}

/**
 * Attributes as labels: keys sanitised (see labelName), keys that cannot be labels left out, and
 * keys that collide once sanitised joined with `;` in the order of their original keys, as the
 * OpenTelemetry–Prometheus compatibility spec asks.
 */
export function attributeLabels(attrs: readonly KeyValue[], prefix = '', skip?: ReadonlySet<string>): Labels {
  const entries: [string, string, string][] = [];
  for (const kv of attrs) {
    if (skip?.has(kv.key)) continue;
    const name = labelName(prefix + kv.key);
    if (name === undefined) continue;
    entries.push([name, kv.key, anyValueString(kv.value)]);
  }
  entries.sort((a, b) => (a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0));
  const out: Labels = new Map();
  for (const [name, , value] of entries) {
    const had = out.get(name);
    out.set(name, had === undefined ? value : `${had};${value}`);
  }
  return out;
}

function attr(attrs: readonly KeyValue[], key: string): string | undefined {
  const kv = attrs.find((a) => a.key === key);
  return kv ? anyValueString(kv.value) : undefined;
}

/** `job` from service.namespace/service.name (service.name alone without a namespace), `instance` from service.instance.id. */
export function jobAndInstance(attrs: readonly KeyValue[]): Labels {
  const out: Labels = new Map();
  const name = attr(attrs, SERVICE_NAME);
  if (name !== undefined) {
    const ns = attr(attrs, SERVICE_NAMESPACE);
    out.set('job', ns !== undefined ? `${ns}/${name}` : name);
  }
  const instance = attr(attrs, SERVICE_INSTANCE_ID);
  if (instance !== undefined) out.set('instance', instance);
  return out;
}

class Problems {
  readonly #byKey = new Map<string, Problem>();
  add(metric: string, reason: string, points: number): void {
    if (points <= 0) return;
    const key = `${metric}\u0000${reason}`;
    const p = this.#byKey.get(key);
    if (p) p.points += points;
    else this.#byKey.set(key, { metric, reason, points });
  }
  list(): Problem[] {
    return [...this.#byKey.values()];
  }
}

interface Shape {
  readonly kind: OtlpKind;
  readonly type: FamilyType;
  readonly delta: boolean;
  readonly points: readonly (
    | NumberDataPoint
    | HistogramDataPoint
    | ExponentialHistogramDataPoint
    | SummaryDataPoint
  )[];
}

function temporality(t: number | undefined): 'delta' | 'cumulative' | undefined {
  if (t === TEMPORALITY_DELTA) return 'delta';
  if (t === TEMPORALITY_CUMULATIVE) return 'cumulative';
  return undefined;
}

/** What a metric is, or why its points cannot be exported. */
function shapeOf(m: Metric): Shape | { readonly invalid: string; readonly count: number } | undefined {
  if (m.gauge) return { kind: 'gauge', type: 'gauge', delta: false, points: m.gauge.dataPoints ?? [] };
  if (m.sum) {
    const points = m.sum.dataPoints ?? [];
    const t = temporality(m.sum.aggregationTemporality);
    if (!t) return { invalid: 'sum without aggregation temporality', count: points.length };
    return m.sum.isMonotonic
      ? { kind: 'monotonic_sum', type: 'counter', delta: t === 'delta', points }
      : { kind: 'non_monotonic_sum', type: 'gauge', delta: t === 'delta', points };
  }
  if (m.histogram) {
    const points = m.histogram.dataPoints ?? [];
    const t = temporality(m.histogram.aggregationTemporality);
    if (!t) return { invalid: 'histogram without aggregation temporality', count: points.length };
    return { kind: 'histogram', type: 'histogram', delta: t === 'delta', points };
  }
  if (m.exponentialHistogram) {
    const points = m.exponentialHistogram.dataPoints ?? [];
    const t = temporality(m.exponentialHistogram.aggregationTemporality);
    if (!t) return { invalid: 'exponential histogram without aggregation temporality', count: points.length };
    return { kind: 'exponential_histogram', type: 'histogram', delta: t === 'delta', points };
  }
  if (m.summary)
    return { kind: 'summary', type: 'summary', delta: false, points: m.summary.dataPoints ?? [] };
  return undefined;
}

const isCount = (n: number) => Number.isFinite(n) && n >= 0;

function numberValue(p: NumberDataPoint): PointValue | string {
  const d = field(p, 'asDouble');
  if (d !== undefined) return { kind: 'number', value: d };
  const i = field(p, 'asInt');
  if (i !== undefined) return { kind: 'number', value: int64ToNumber(i) };
  return 'data point without a value';
}

function histogramValue(p: HistogramDataPoint): PointValue | string {
  const count = int64ToNumber(p.count);
  const sum = typeof p.sum === 'number' ? p.sum : undefined;
  const counts = (p.bucketCounts ?? []).map(int64ToNumber);
  const bounds = counts.length === 0 ? [] : [...(p.explicitBounds ?? [])];
  if (counts.length > 0 && counts.length !== bounds.length + 1) {
    return 'histogram bucket_counts do not match explicit_bounds (need one more count than bounds)';
  }
  for (let i = 0; i < bounds.length; i++) {
    const b = bounds[i] ?? Number.NaN;
    if (!Number.isFinite(b) || (i > 0 && b <= (bounds[i - 1] ?? Number.NaN))) {
      return 'histogram explicit_bounds are not finite and strictly increasing';
    }
  }
  if (!isCount(count) || !counts.every(isCount)) return 'histogram with an invalid count';
  if (counts.length > 0 && counts.reduce((a, b) => a + b, 0) !== count) {
    return 'histogram count is not the sum of its bucket_counts';
  }
  return { kind: 'histogram', histogram: { bounds, counts, count, sum } };
}

function expBuckets(b: { offset?: number; bucketCounts: Int64[] } | null | undefined): ExpBuckets {
  return { offset: b?.offset ?? 0, counts: (b?.bucketCounts ?? []).map(int64ToNumber) };
}

function exponentialValue(p: ExponentialHistogramDataPoint): PointValue | string {
  const scale = p.scale ?? 0;
  if (!Number.isInteger(scale) || scale < MIN_SCALE || scale > MAX_SCALE) {
    return `exponential histogram scale ${scale} outside [${MIN_SCALE}, ${MAX_SCALE}]`;
  }
  const positive = expBuckets(p.positive);
  const negative = expBuckets(p.negative);
  const zeroCount = int64ToNumber(p.zeroCount);
  const count = int64ToNumber(p.count);
  const zeroThreshold = p.zeroThreshold ?? 0;
  if (!Number.isFinite(zeroThreshold) || zeroThreshold < 0)
    return 'exponential histogram with an invalid zero_threshold';
  const all = [zeroCount, count, ...positive.counts, ...negative.counts];
  if (!all.every(isCount)) return 'exponential histogram with an invalid count';
  const total = zeroCount + [...positive.counts, ...negative.counts].reduce((a, b) => a + b, 0);
  if (total !== count) return 'exponential histogram count is not the sum of its buckets';
  const h: ExpHistogram = {
    scale,
    zeroCount,
    zeroThreshold,
    positive,
    negative,
    count,
    sum: typeof p.sum === 'number' ? p.sum : undefined,
  };
  return { kind: 'exponential', histogram: mergeExp([h]) };
}

function summaryValue(p: SummaryDataPoint): PointValue | string {
  const byQuantile = new Map<number, number>();
  for (const q of p.quantileValues ?? []) {
    const quantile = q.quantile ?? 0;
    if (!(quantile >= 0 && quantile <= 1)) return 'summary quantile outside [0, 1]';
    byQuantile.set(quantile, q.value ?? 0);
  }
  const count = int64ToNumber(p.count);
  if (!isCount(count)) return 'summary with an invalid count';
  const quantiles = [...byQuantile.entries()].sort((a, b) => a[0] - b[0]);
  return { kind: 'summary', summary: { quantiles, count, sum: p.sum ?? 0 } };
}

function pointValue(kind: OtlpKind, p: Shape['points'][number]): PointValue | string {
  switch (kind) {
    case 'gauge':
    case 'monotonic_sum':
    case 'non_monotonic_sum':
      return numberValue(p as NumberDataPoint);
    case 'histogram':
      return histogramValue(p as HistogramDataPoint);
    case 'exponential_histogram':
      return exponentialValue(p as ExponentialHistogramDataPoint);
    case 'summary':
      return summaryValue(p as SummaryDataPoint);
  }
}

/** Labels the exporter writes itself on a type, which an attribute may not take. */
const OWN_LABEL: Readonly<Record<FamilyType, string | undefined>> = {
  counter: undefined,
  gauge: undefined,
  histogram: 'le',
  summary: 'quantile',
};

/**
 * Turns a request into series updates, without touching any state: names and labels translated,
 * values checked. On a label name clash the more specific source wins: const_labels, then job and
 * instance, then otel_scope_*, then the data point's attributes, then (with
 * resource_to_telemetry_conversion) the resource's.
 */
export function translate(req: MetricsRequest, opts: TranslateOptions): Translation {
  const updates: PointUpdate[] = [];
  const problems = new Problems();
  let points = 0;
  for (const rm of req.resourceMetrics ?? []) {
    const resAttrs = rm.resource?.attributes ?? [];
    const job = jobAndInstance(resAttrs);
    const info = new Map([...attributeLabels(resAttrs, '', SERVICE_KEYS), ...job]);
    const targetLabels = labelBody(info);
    const resource: ResourceInfo | undefined = targetLabels === '' ? undefined : { labels: targetLabels };
    const resourceLayer: Labels = opts.resourceToTelemetry
      ? attributeLabels(resAttrs, '', opts.excludeServiceAttributes ? SERVICE_KEYS : undefined)
      : new Map();
    for (const sm of rm.scopeMetrics ?? []) {
      const top: Labels = new Map();
      if (!opts.withoutScopeInfo) {
        for (const [k, v] of attributeLabels(sm.scope?.attributes ?? [], 'otel_scope_')) top.set(k, v);
        top.set('otel_scope_name', sm.scope?.name ?? '');
        top.set('otel_scope_version', sm.scope?.version ?? '');
        top.set('otel_scope_schema_url', sm.schemaUrl ?? '');
      }
      for (const [k, v] of job) top.set(k, v);
      for (const [k, v] of opts.constLabels) top.set(k, v);

      for (const m of sm.metrics ?? []) {
        const metric = m.name ?? '';
        const shape = shapeOf(m);
        if (!shape) continue;
        if ('invalid' in shape) {
          points += shape.count;
          problems.add(metric, shape.invalid, shape.count);
          continue;
        }
        points += shape.points.length;
        const family = metricFamilyName(metric, m.unit ?? '', shape.kind, opts);
        if (family === undefined) {
          problems.add(
            metric,
            `metric name "${metric}" leaves no valid Prometheus name`,
            shape.points.length,
          );
          continue;
        }
        const own = OWN_LABEL[shape.type];
        for (const p of shape.points) {
          let value: PointValue | string | undefined;
          if (((p.flags ?? 0) & FLAG_NO_RECORDED_VALUE) !== 0) value = undefined;
          else {
            value = pointValue(shape.kind, p);
            if (typeof value === 'string') {
              problems.add(metric, value, 1);
              continue;
            }
          }
          const labels: Labels = new Map(resourceLayer);
          for (const [k, v] of attributeLabels(p.attributes ?? [])) labels.set(k, v);
          for (const [k, v] of top) labels.set(k, v);
          if (own !== undefined) labels.delete(own);
          updates.push({
            family,
            type: shape.type,
            help: m.description ?? '',
            metric,
            labels: labelBody(labels),
            resource,
            startNs: int64ToBigInt(p.startTimeUnixNano),
            timeNs: int64ToBigInt(p.timeUnixNano),
            delta: shape.delta,
            value,
          });
        }
      }
    }
  }
  return { updates, problems: problems.list(), points };
}
