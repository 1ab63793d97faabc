import type { Consumer, CreateSettings } from '../../component/component.ts';
import { PermanentError } from '../../component/errors.ts';
import type { Processor } from '../../component/processor.ts';
import { AttributeFilter } from '../../metrics/cardinality/attribute-filter.ts';
import { GlobRules } from '../../metrics/cardinality/glob.ts';
import { compareInt64 } from '../../metrics/cardinality/int64.ts';
import { type DataPoint, mergePoint, type PointKind } from '../../metrics/cardinality/merge.ts';
import { OTHER_VALUE, OVERFLOW_SERIES_KEY, overflowAttributes } from '../../metrics/cardinality/overflow.ts';
import { seriesKey } from '../../metrics/cardinality/series-key.ts';
import { SeriesLimiter } from '../../metrics/cardinality/series-limiter.ts';
import { ValueCaps } from '../../metrics/cardinality/value-caps.ts';
import {
  type Metric,
  type MetricsRequest,
  type RequestBySignal,
  type ResourceMetrics,
  type ScopeMetrics,
  TEMPORALITY_DELTA,
} from '../../otlp/model.ts';
import type { Signal } from '../../otlp/schema.ts';
import type { CardinalityConfig } from './config.ts';

/** What one request did: for the self-metrics, logs and tests. */
export interface CardinalityOutcome {
  /** Points folded into an overflow series, by metric name (bounded only when reported as a label). */
  readonly overflowed: Map<string, number>;
  /** Values replaced by `__other__`, by configured key. */
  readonly capped: Map<string, number>;
  /** Summary points beyond the limit, dropped (summaries cannot be merged into an overflow series). */
  droppedOverflow: number;
  /** Points that collided with another point of their series and could not be merged into it. */
  droppedUnmergeable: number;
  /** Points merged into another point of the same series (including superseded cumulative points). */
  merged: number;
}

/** Distinct `metric` label values of the overflow counter; beyond, `__other__`. */
const MAX_METRIC_LABELS = 1000;

const KINDS: readonly PointKind[] = ['gauge', 'sum', 'histogram', 'exponentialHistogram', 'summary'];

interface MetricData {
  dataPoints: DataPoint[];
  aggregationTemporality?: number;
  isMonotonic?: boolean;
}

/** One metric stream of the request: same resource, scope, name, type and temporality. */
interface Group {
  readonly name: string;
  readonly kind: PointKind;
  /** Cumulative data and summaries: of two points of one original series, only the latest counts. */
  readonly latestOnly: boolean;
  /** Every Metric of the request in this stream (more than one only when a sender split it). */
  readonly metrics: Metric[];
}

function kindOf(m: Metric): PointKind | undefined {
  for (const k of KINDS) if (m[k]) return k;
  return undefined;
}

function dataOf(m: Metric, kind: PointKind): MetricData {
  return m[kind] as unknown as MetricData;
}

/**
 * For cumulative data: keeps, per original attribute set, only the latest point (two cumulative
 * points of one series are two readings of the same total, not two amounts to add). Returns the
 * points kept and their series keys.
 */
function latestPerSeries(points: DataPoint[]): { points: DataPoint[]; keys: string[] } {
  const keys = points.map((p) => seriesKey(p.attributes));
  const latest = new Map<string, number>();
  let duplicates = false;
  for (let i = 0; i < points.length; i++) {
    const k = keys[i] as string;
    const j = latest.get(k);
    if (j === undefined) latest.set(k, i);
    else {
      duplicates = true;
      if (compareInt64(points[i]?.timeUnixNano, points[j]?.timeUnixNano) >= 0) latest.set(k, i);
    }
  }
  if (!duplicates) return { points, keys };
  const kept: DataPoint[] = [];
  const keptKeys: string[] = [];
  for (let i = 0; i < points.length; i++) {
    const k = keys[i] as string;
    if (latest.get(k) === i) {
      kept.push(points[i] as DataPoint);
      keptKeys.push(k);
    }
  }
  return { points: kept, keys: keptKeys };
}

/**
 * `cardinality_limit`: bounds the number of series per metric in incoming OTLP metrics. Per data
 * point: attribute filter (allow/deny globs), per-key value caps (`__other__`), then the per-metric
 * series limit; points refused by the limit are folded into one `otel.metric.overflow=true` point
 * per metric stream (resource + scope + metric) in the request, and points that end up with the
 * same attribute set are merged, so totals stay exact. Semantics per temporality: README.md.
 */
export class CardinalityLimitProcessor<S extends Signal> implements Processor<S> {
  readonly #set: CreateSettings;
  readonly #cfg: CardinalityConfig;
  readonly #signal: S;
  readonly #next: Consumer<S>;
  readonly #clock: () => number;
  readonly #filter: AttributeFilter;
  readonly #labels = new Set<string>();
  #timer: NodeJS.Timeout | undefined;
  /** The per-metric series limit (exposed for tests and the self-metrics). */
  readonly limiter: SeriesLimiter;
  /** The per-key value caps (exposed for tests). */
  readonly caps: ValueCaps;

  constructor(
    set: CreateSettings,
    cfg: CardinalityConfig,
    signal: S,
    next: Consumer<S>,
    /** Monotonic milliseconds (tests pass a fake clock). */
    clock: () => number = () => performance.now(),
  ) {
    if (signal !== 'metrics') throw new Error(`cardinality_limit handles metrics, not ${signal}`);
    this.#set = set;
    this.#cfg = cfg;
    this.#signal = signal;
    this.#next = next;
    this.#clock = clock;
    const rules = new GlobRules(cfg.limits.map((l) => ({ glob: l.metric, value: l.maxSeries })));
    this.limiter = new SeriesLimiter({
      maxSeriesPerMetric: cfg.maxSeriesPerMetric,
      limitFor: cfg.limits.length > 0 ? (m) => rules.lookup(m) : undefined,
      ttlMs: cfg.seriesTtlMs,
      maxMetrics: cfg.maxMetrics,
      maxTotalSeries: cfg.maxTotalSeries,
    });
    this.caps = new ValueCaps(cfg.valueCaps, { ttlMs: cfg.seriesTtlMs });
    this.#filter = new AttributeFilter({ include: cfg.includeAttributes, exclude: cfg.excludeAttributes });
  }

  /** Limits `req` in place and returns what it did (exposed for tests and benchmarks). */
  process(req: MetricsRequest): CardinalityOutcome {
    const now = this.#clock();
    const out: CardinalityOutcome = {
      overflowed: new Map(),
      capped: new Map(),
      droppedOverflow: 0,
      droppedUnmergeable: 0,
      merged: 0,
    };
    const groups = new Map<string, Group>();
    const scopes = new Map<string, number>();
    for (const rm of req.resourceMetrics ?? []) {
      const rk = `${rm.schemaUrl ?? ''}\u0000${seriesKey(rm.resource?.attributes)}`;
      for (const sm of rm.scopeMetrics ?? []) {
        const s = sm.scope;
        const sk = `${rk}\u0000${sm.schemaUrl ?? ''}\u0000${s?.name ?? ''}\u0000${s?.version ?? ''}\u0000${seriesKey(s?.attributes)}`;
        let sid = scopes.get(sk);
        if (sid === undefined) {
          sid = scopes.size;
          scopes.set(sk, sid);
        }
        for (const m of sm.metrics ?? []) {
          const kind = kindOf(m);
          if (!kind) continue;
          const data = dataOf(m, kind);
          if (!data.dataPoints || data.dataPoints.length === 0) continue;
          const temporality = data.aggregationTemporality ?? 0;
          const id = `${sid}\u0000${kind}\u0000${temporality}\u0000${data.isMonotonic ? 1 : 0}\u0000${m.name ?? ''}`;
          const g = groups.get(id);
          if (g) g.metrics.push(m);
          else
            groups.set(id, {
              name: m.name ?? '',
              kind,
              latestOnly: kind === 'summary' || (kind !== 'gauge' && temporality !== TEMPORALITY_DELTA),
              metrics: [m],
            });
        }
      }
    }
    const emptied = new Set<Metric>();
    const onCapped = (key: string) => out.capped.set(key, (out.capped.get(key) ?? 0) + 1);
    for (const g of groups.values()) this.#limit(g, now, out, emptied, onCapped);
    if (emptied.size > 0) removeEmptied(req, emptied);
    return out;
  }

  #limit(
    g: Group,
    now: number,
    out: CardinalityOutcome,
    emptied: Set<Metric>,
    onCapped: (key: string) => void,
  ): void {
    const first = g.metrics[0] as Metric;
    let points =
      g.metrics.length === 1
        ? dataOf(first, g.kind).dataPoints
        : g.metrics.flatMap((m) => dataOf(m, g.kind).dataPoints);
    let keys: string[] | undefined;
    if (g.latestOnly && points.length > 1) {
      const n = points.length;
      ({ points, keys } = latestPerSeries(points));
      out.merged += n - points.length;
    }
    const filter = this.#filter;
    const caps = this.caps;
    const series = new Map<string, DataPoint>();
    const kept: DataPoint[] = [];
    let overflow: DataPoint | undefined;
    let folded = 0;
    for (let i = 0; i < points.length; i++) {
      const p = points[i] as DataPoint;
      const attrs = p.attributes;
      let changed = false;
      if (attrs && attrs.length > 0) {
        if (filter.active && filter.apply(attrs) > 0) changed = true;
        if (caps.active && caps.apply(attrs, now, onCapped) > 0) changed = true;
      }
      const key = keys !== undefined && !changed ? (keys[i] as string) : seriesKey(attrs);
      if (key !== OVERFLOW_SERIES_KEY) {
        const existing = series.get(key);
        if (existing !== undefined) {
          if (mergePoint(g.kind, existing, p)) out.merged++;
          else out.droppedUnmergeable++;
          continue;
        }
        if (this.limiter.admit(g.name, key, now)) {
          series.set(key, p);
          kept.push(p);
          continue;
        }
        if (g.kind === 'summary') {
          out.droppedOverflow++;
          continue;
        }
        folded++;
      }
      // Into the overflow series: the first such point becomes it, the others merge into it.
      if (overflow === undefined) {
        p.attributes = overflowAttributes();
        overflow = p;
      } else if (mergePoint(g.kind, overflow, p)) out.merged++;
      else out.droppedUnmergeable++;
    }
    if (overflow !== undefined) kept.push(overflow);
    if (folded > 0) out.overflowed.set(g.name, (out.overflowed.get(g.name) ?? 0) + folded);
    dataOf(first, g.kind).dataPoints = kept;
    if (kept.length === 0) emptied.add(first);
    for (let i = 1; i < g.metrics.length; i++) {
      const m = g.metrics[i] as Metric;
      dataOf(m, g.kind).dataPoints = [];
      emptied.add(m);
    }
  }

  /** The `metric` label: the name while it is tracked and among the first 1000 seen, else `__other__`. */
  #label(metric: string): string {
    if (this.#labels.has(metric)) return metric;
    if (this.#labels.size < MAX_METRIC_LABELS && this.limiter.isTracked(metric)) {
      this.#labels.add(metric);
      return metric;
    }
    return OTHER_VALUE;
  }

  #report(out: CardinalityOutcome): void {
    const t = this.#set.telemetry;
    const id = this.#set.id;
    for (const [metric, n] of out.overflowed) t.cardinalityOverflowPoints(id, this.#label(metric), n);
    for (const [key, n] of out.capped) t.cardinalityCappedValues(id, key, n);
    t.cardinalityDropped(id, 'cardinality_overflow', out.droppedOverflow);
    t.cardinalityDropped(id, 'unmergeable', out.droppedUnmergeable);
    t.cardinalitySeries(id, this.limiter.size);
  }

  async consume(data: RequestBySignal[S]): Promise<void> {
    let out: CardinalityOutcome;
    try {
      out = this.process(data as MetricsRequest);
    } catch (err) {
      // The request may be half-limited: passing it on could let unbounded cardinality through.
      this.#set.logger.error({ err }, 'cardinality limit failed; request refused');
      throw new PermanentError(`cardinality limit failed: ${(err as Error).message}`);
    }
    this.#report(out);
    return this.#next.consume(data);
  }

  async start(): Promise<void> {
    const c = this.#cfg;
    this.#set.logger.info(
      {
        signal: this.#signal,
        maxSeriesPerMetric: c.maxSeriesPerMetric,
        seriesTtlMs: c.seriesTtlMs,
        maxMetrics: c.maxMetrics,
        maxTotalSeries: c.maxTotalSeries,
        limits: c.limits.length,
        valueCaps: c.valueCaps.map((v) => v.key),
      },
      'cardinality_limit ready',
    );
    this.#set.telemetry.cardinalitySeries(this.#set.id, 0);
    if (c.seriesTtlMs > 0) {
      // Idle sets are forgotten as points arrive; this frees them (and updates the gauge) when none do.
      this.#timer = setInterval(() => this.sweep(), Math.max(1000, c.seriesTtlMs / 4));
      this.#timer.unref();
    }
  }

  /** Forgets idle series and values now, and updates the series gauge. */
  sweep(): void {
    const now = this.#clock();
    this.limiter.sweep(now);
    this.caps.sweep(now);
    this.#set.telemetry.cardinalitySeries(this.#set.id, this.limiter.size);
  }

  async shutdown(): Promise<void> {
    clearInterval(this.#timer);
  }
}

/** Removes the metrics this processor emptied, then scopes and resources left without metrics. */
function removeEmptied(req: MetricsRequest, emptied: Set<Metric>): void {
  const emptyResources = new Set<ResourceMetrics>();
  for (const rm of req.resourceMetrics) {
    const emptyScopes = new Set<ScopeMetrics>();
    for (const sm of rm.scopeMetrics) {
      if (!sm.metrics.some((m) => emptied.has(m))) continue;
      sm.metrics = sm.metrics.filter((m) => !emptied.has(m));
      if (sm.metrics.length === 0) emptyScopes.add(sm);
    }
    if (emptyScopes.size === 0) continue;
    rm.scopeMetrics = rm.scopeMetrics.filter((sm) => !emptyScopes.has(sm));
    if (rm.scopeMetrics.length === 0) emptyResources.add(rm);
  }
  if (emptyResources.size > 0)
    req.resourceMetrics = req.resourceMetrics.filter((rm) => !emptyResources.has(rm));
}
