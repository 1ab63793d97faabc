/** Shared helpers of the cardinality_limit tests (not used by the processor itself). */
import Long from 'long';
import pino from 'pino';
import type { Consumer, CreateSettings } from '../../component/component.ts';
import { int64ToNumber } from '../../metrics/cardinality/int64.ts';
import { has, seriesKey } from '../../metrics/cardinality/series-key.ts';
import type {
  AnyValue,
  ExponentialHistogramDataPoint,
  HistogramDataPoint,
  Int64,
  KeyValue,
  Metric,
  MetricsRequest,
  NumberDataPoint,
  ResourceMetrics,
  SummaryDataPoint,
} from '../../otlp/model.ts';
import { TEMPORALITY_CUMULATIVE, TEMPORALITY_DELTA } from '../../otlp/model.ts';
import { SelfTelemetry } from '../../telemetry/self-telemetry.ts';
import { type CardinalityConfig, parseCardinalityConfig } from './config.ts';
import { CardinalityLimitProcessor } from './processor.ts';

export type Attrs = Readonly<Record<string, string | number | boolean>>;

/** 2026-01-01T00:00:00Z in ns, a Long as protobufjs decodes fixed64 timestamps (beyond 2^53). */
export const T0 = Long.fromString('1767225600000000000', true);

/** T0 plus `s` seconds. */
export function at(s: number): Long {
  return T0.add(Long.fromNumber(s * 1e9, true));
}

function anyValue(v: string | number | boolean): AnyValue {
  if (typeof v === 'string') return { stringValue: v };
  if (typeof v === 'boolean') return { boolValue: v };
  return Number.isInteger(v) ? { intValue: v } : { doubleValue: v };
}

export function attrs(a: Attrs): KeyValue[] {
  return Object.entries(a).map(([key, v]) => ({ key, value: anyValue(v) }));
}

export function numberPoint(
  a: Attrs,
  value: number,
  time: Int64 = T0,
  start: Int64 = at(-60),
): NumberDataPoint {
  const v = Number.isInteger(value) ? { asInt: value } : { asDouble: value };
  return { attributes: attrs(a), startTimeUnixNano: start, timeUnixNano: time, exemplars: [], ...v };
}

export function histogramPoint(
  a: Attrs,
  values: readonly number[],
  bounds: readonly number[],
): HistogramDataPoint {
  const counts = new Array<number>(bounds.length + 1).fill(0);
  for (const v of values) {
    let i = bounds.findIndex((b) => v <= b);
    if (i === -1) i = bounds.length;
    counts[i] = (counts[i] ?? 0) + 1;
  }
  return {
    attributes: attrs(a),
    startTimeUnixNano: at(-60),
    timeUnixNano: T0,
    count: values.length,
    sum: values.reduce((s, v) => s + v, 0),
    min: Math.min(...values),
    max: Math.max(...values),
    bucketCounts: counts,
    explicitBounds: [...bounds],
    exemplars: [],
  };
}

export function exponentialPoint(
  a: Attrs,
  scale: number,
  offset: number,
  counts: number[],
): ExponentialHistogramDataPoint {
  const n = counts.reduce((s, c) => s + c, 0);
  return {
    attributes: attrs(a),
    startTimeUnixNano: at(-60),
    timeUnixNano: T0,
    count: n,
    sum: n,
    scale,
    zeroCount: 0,
    positive: { offset, bucketCounts: counts },
    exemplars: [],
  };
}

export function summaryPoint(a: Attrs, count: number, sum: number): SummaryDataPoint {
  return {
    attributes: attrs(a),
    timeUnixNano: T0,
    count,
    sum,
    quantileValues: [
      { quantile: 0.5, value: sum / count },
      { quantile: 0.99, value: sum / count },
    ],
  };
}

export const deltaSum = (name: string, dataPoints: NumberDataPoint[]): Metric => ({
  name,
  unit: '{token}',
  sum: { dataPoints, aggregationTemporality: TEMPORALITY_DELTA, isMonotonic: true },
});

export const cumulativeSum = (name: string, dataPoints: NumberDataPoint[]): Metric => ({
  name,
  sum: { dataPoints, aggregationTemporality: TEMPORALITY_CUMULATIVE, isMonotonic: true },
});

export const gauge = (name: string, dataPoints: NumberDataPoint[]): Metric => ({
  name,
  gauge: { dataPoints },
});

export const histogram = (
  name: string,
  dataPoints: HistogramDataPoint[],
  temporality = TEMPORALITY_DELTA,
): Metric => ({
  name,
  unit: 's',
  histogram: { dataPoints, aggregationTemporality: temporality },
});

export function resourceMetrics(
  metrics: Metric[],
  resource: Attrs = { 'service.name': 'chat-api' },
): ResourceMetrics {
  return {
    resource: { attributes: attrs(resource) },
    scopeMetrics: [
      {
        scope: { name: 'opentelemetry.instrumentation.openai_v2', version: '2.1b0', attributes: [] },
        metrics,
      },
    ],
  };
}

export function request(...resources: ResourceMetrics[]): MetricsRequest {
  return { resourceMetrics: resources };
}

/** Compiles a config block or throws with every error. */
export function compile(block: Record<string, unknown> = {}): CardinalityConfig {
  const cfg = parseCardinalityConfig(structuredClone(block));
  if (Array.isArray(cfg)) throw new Error(cfg.map((e) => `${e.path}: ${e.message}`).join('\n'));
  return cfg;
}

export function settings(id = 'cardinality_limit'): CreateSettings & { telemetry: SelfTelemetry } {
  return { id, logger: pino({ level: 'silent' }), telemetry: new SelfTelemetry({ processMetrics: false }) };
}

export function sink(): Consumer<'metrics'> & { received: MetricsRequest[] } {
  const received: MetricsRequest[] = [];
  return {
    received,
    async consume(data) {
      received.push(data);
    },
  };
}

/** A processor with a fake clock (ms) the test moves by hand. */
export function setup(block: Record<string, unknown> = {}) {
  const set = settings();
  const out = sink();
  const clock = { now: 0 };
  const p = new CardinalityLimitProcessor(set, compile(block), 'metrics', out, () => clock.now);
  return { p, set, out, clock };
}

/** The value of one series of a self-metric (0 when absent). */
export async function selfMetric(
  set: { telemetry: SelfTelemetry },
  name: string,
  labels: Record<string, string>,
) {
  const m = set.telemetry.registry.getSingleMetric(name);
  if (!m) return 0;
  const { values } = await m.get();
  return values
    .filter((v) => Object.entries(labels).every(([k, want]) => String(v.labels[k]) === want))
    .reduce((sum, v) => sum + v.value, 0);
}

/** Every metric of a request by name, with the resource it came under. */
export function metricsNamed(req: MetricsRequest, name: string): { resource: string; metric: Metric }[] {
  const out: { resource: string; metric: Metric }[] = [];
  for (const rm of req.resourceMetrics)
    for (const sm of rm.scopeMetrics)
      for (const m of sm.metrics)
        if (m.name === name) out.push({ resource: seriesKey(rm.resource?.attributes), metric: m });
  return out;
}

/** A point's attributes as a plain object (for readable assertions); reads decoded messages by presence. */
export function plain(kvs: readonly KeyValue[]): Record<string, unknown> {
  const o: Record<string, unknown> = {};
  for (const kv of kvs) {
    const v = kv.value ?? {};
    if (has(v, 'stringValue')) o[kv.key] = v.stringValue;
    else if (has(v, 'boolValue')) o[kv.key] = v.boolValue;
    else if (has(v, 'intValue')) o[kv.key] = int64ToNumber(v.intValue);
    else if (has(v, 'doubleValue')) o[kv.key] = v.doubleValue;
  }
  return o;
}

export function numberValue(p: NumberDataPoint): number {
  return has(p, 'asInt') ? int64ToNumber(p.asInt) : (p.asDouble ?? 0);
}
