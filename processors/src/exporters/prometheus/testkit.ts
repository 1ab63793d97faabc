/** Builders and readers for the prometheus exporter's tests (not used by the exporter itself). */
import Long from 'long';
import { pino } from 'pino';
import type { Reservation } from '../../exporterhelper/queue.ts';
import { countItems } from '../../otlp/count.ts';
import type {
  ExponentialHistogramDataPoint,
  HistogramDataPoint,
  KeyValue,
  Metric,
  MetricsRequest,
  NumberDataPoint,
  SummaryDataPoint,
} from '../../otlp/model.ts';
import { SelfTelemetry } from '../../telemetry/self-telemetry.ts';
import { PrometheusExporter, type PrometheusExporterConfig } from './exporter.ts';
import { prometheusExporterFactory } from './factory.ts';

/** An arbitrary epoch (2023-11-14) for data point times, in ns. */
export const T0 = 1_700_000_000_000_000_000n;

/** `T0 + seconds` as the fixed64 protobufjs decodes. */
export function at(seconds: number): Long {
  return Long.fromString(String(T0 + BigInt(Math.round(seconds * 1e9))), true);
}

export type AttrValue = string | number | boolean;

export function attrs(o: Readonly<Record<string, AttrValue>> = {}): KeyValue[] {
  return Object.entries(o).map(([key, v]) => ({
    key,
    value:
      typeof v === 'string'
        ? { stringValue: v }
        : typeof v === 'boolean'
          ? { boolValue: v }
          : Number.isInteger(v)
            ? { intValue: v }
            : { doubleValue: v },
  }));
}

export interface RequestOptions {
  readonly resource?: Readonly<Record<string, AttrValue>>;
  readonly scope?: { name?: string; version?: string; attributes?: Readonly<Record<string, AttrValue>> };
  readonly schemaUrl?: string;
}

export function request(metrics: Metric[], opts: RequestOptions = {}): MetricsRequest {
  return {
    resourceMetrics: [
      {
        resource: { attributes: attrs(opts.resource ?? { 'service.name': 'chat' }) },
        scopeMetrics: [
          {
            scope: {
              name: opts.scope?.name ?? 'llm',
              version: opts.scope?.version ?? '',
              attributes: attrs(opts.scope?.attributes),
            },
            schemaUrl: opts.schemaUrl ?? '',
            metrics,
          },
        ],
      },
    ],
  };
}

export interface NumberPointOptions {
  readonly attributes?: Readonly<Record<string, AttrValue>>;
  readonly start?: number;
  readonly time?: number;
  readonly flags?: number;
}

export function numberPoint(value: number | undefined, o: NumberPointOptions = {}): NumberDataPoint {
  const p: NumberDataPoint = {
    attributes: attrs(o.attributes),
    exemplars: [],
    startTimeUnixNano: at(o.start ?? 0),
    timeUnixNano: at(o.time ?? 1),
    flags: o.flags ?? 0,
  };
  if (value !== undefined) {
    if (Number.isInteger(value)) p.asInt = value;
    else p.asDouble = value;
  }
  return p;
}

interface MetricOptions {
  readonly unit?: string;
  readonly description?: string;
}

export function gauge(name: string, points: NumberDataPoint[], o: MetricOptions = {}): Metric {
  return { name, unit: o.unit ?? '', description: o.description ?? '', gauge: { dataPoints: points } };
}

export function sum(
  name: string,
  points: NumberDataPoint[],
  o: MetricOptions & { delta?: boolean; monotonic?: boolean; temporality?: number } = {},
): Metric {
  return {
    name,
    unit: o.unit ?? '',
    description: o.description ?? '',
    sum: {
      dataPoints: points,
      aggregationTemporality: o.temporality ?? (o.delta ? 1 : 2),
      isMonotonic: o.monotonic ?? true,
    },
  };
}

export interface HistogramPointOptions extends NumberPointOptions {
  readonly bounds: number[];
  readonly counts: number[];
  readonly sum?: number;
  /** Defaults to the sum of counts. */
  readonly count?: number;
}

export function histogramPoint(o: HistogramPointOptions): HistogramDataPoint {
  return {
    attributes: attrs(o.attributes),
    exemplars: [],
    startTimeUnixNano: at(o.start ?? 0),
    timeUnixNano: at(o.time ?? 1),
    count: o.count ?? o.counts.reduce((a, b) => a + b, 0),
    sum: o.sum ?? null,
    bucketCounts: o.counts,
    explicitBounds: o.bounds,
    flags: o.flags ?? 0,
  };
}

export function histogram(
  name: string,
  points: HistogramDataPoint[],
  o: MetricOptions & { delta?: boolean } = {},
): Metric {
  return {
    name,
    unit: o.unit ?? '',
    description: o.description ?? '',
    histogram: { dataPoints: points, aggregationTemporality: o.delta ? 1 : 2 },
  };
}

export interface ExpPointOptions extends NumberPointOptions {
  readonly scale: number;
  readonly positive?: { offset: number; counts: number[] };
  readonly negative?: { offset: number; counts: number[] };
  readonly zeroCount?: number;
  readonly zeroThreshold?: number;
  readonly sum?: number;
  readonly count?: number;
}

export function expPoint(o: ExpPointOptions): ExponentialHistogramDataPoint {
  const total =
    (o.zeroCount ?? 0) +
    [...(o.positive?.counts ?? []), ...(o.negative?.counts ?? [])].reduce((a, b) => a + b, 0);
  return {
    attributes: attrs(o.attributes),
    exemplars: [],
    startTimeUnixNano: at(o.start ?? 0),
    timeUnixNano: at(o.time ?? 1),
    scale: o.scale,
    count: o.count ?? total,
    sum: o.sum ?? null,
    zeroCount: o.zeroCount ?? 0,
    zeroThreshold: o.zeroThreshold ?? 0,
    positive: { offset: o.positive?.offset ?? 0, bucketCounts: o.positive?.counts ?? [] },
    negative: { offset: o.negative?.offset ?? 0, bucketCounts: o.negative?.counts ?? [] },
    flags: o.flags ?? 0,
  };
}

export function expHistogram(
  name: string,
  points: ExponentialHistogramDataPoint[],
  o: MetricOptions & { delta?: boolean } = {},
): Metric {
  return {
    name,
    unit: o.unit ?? '',
    description: o.description ?? '',
    exponentialHistogram: { dataPoints: points, aggregationTemporality: o.delta ? 1 : 2 },
  };
}

export function summary(
  name: string,
  points: {
    quantiles: [number, number][];
    count: number;
    sum: number;
    attributes?: Record<string, AttrValue>;
  }[],
  o: MetricOptions = {},
): Metric {
  const dataPoints: SummaryDataPoint[] = points.map((p) => ({
    attributes: attrs(p.attributes),
    timeUnixNano: at(1),
    count: p.count,
    sum: p.sum,
    quantileValues: p.quantiles.map(([quantile, value]) => ({ quantile, value })),
  }));
  return { name, unit: o.unit ?? '', description: o.description ?? '', summary: { dataPoints } };
}

/** An exporter from a config block as written in YAML (defaults applied by parse), on a free loopback port. */
export function exporterFor(block: Record<string, unknown> = {}, id = 'prometheus') {
  const cfg = prometheusExporterFactory.parse({ endpoint: '127.0.0.1:0', ...block });
  if (Array.isArray(cfg)) throw new Error(`bad test config: ${JSON.stringify(cfg)}`);
  const telemetry = new SelfTelemetry({ processMetrics: false });
  const exporter = new PrometheusExporter({ id, logger: pino({ level: 'silent' }), telemetry }, cfg);
  return {
    exporter,
    telemetry,
    config: cfg as PrometheusExporterConfig,
    /** prepare, with the item count a fan-out passes. */
    prepare(req: MetricsRequest): Reservation {
      return exporter.prepare(req, countItems('metrics', req));
    },
    /** prepare + commit, as a fan-out with one exporter does. */
    push(req: MetricsRequest): void {
      exporter.prepare(req, countItems('metrics', req)).commit();
    },
    /** The exposition's sample lines (comments left out). */
    samples(now?: number): string[] {
      return exporter
        .exposition(now)
        .split('\n')
        .filter((l) => l !== '' && !l.startsWith('#'));
    },
    async dropped(): Promise<number> {
      const m = await telemetry.dropped.get();
      return m.values.find((v) => v.labels.component === id && v.labels.reason === 'invalid')?.value ?? 0;
    },
    async sent(): Promise<number> {
      const counter = telemetry.registry.getSingleMetric('otelcol_exporter_sent_metric_points_total');
      const m = await counter?.get();
      return m?.values.find((v) => v.labels.exporter === id)?.value ?? 0;
    },
  };
}

/** The value of the one sample line starting with `prefix` (name and labels as written). */
export function sampleValue(lines: readonly string[], prefix: string): number | undefined {
  const found = lines.filter((l) => l.startsWith(`${prefix} `));
  if (found.length > 1) throw new Error(`${found.length} samples start with ${prefix}`);
  const v = found[0]?.slice(prefix.length + 1);
  return v === undefined ? undefined : Number(v === '+Inf' ? 'Infinity' : v);
}
