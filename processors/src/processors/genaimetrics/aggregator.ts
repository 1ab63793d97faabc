import Long from 'long';
import type { KeyValue, Metric, MetricsRequest, ResourceMetrics } from '../../otlp/model.ts';
import { TEMPORALITY_CUMULATIVE } from '../../otlp/model.ts';
import type { Instrument } from './instruments.ts';

/** Decides whether a new series may exist (the cardinality limit); false folds it into the overflow series. */
export interface SeriesAdmission {
  admit(metric: string, key: string, now: number): boolean;
}

interface Series {
  readonly resourceKey: string;
  readonly attrs: KeyValue[];
  readonly startNs: Long;
  lastMs: number;
  /** counter: the sum; ratio: the numerator. */
  value: number;
  /** ratio: the denominator. */
  den: number;
  /** histogram state. */
  counts?: number[];
  count: number;
  sum: number;
  min: number;
  max: number;
}

const msToNs = (ms: number): Long => Long.fromNumber(ms, true).multiply(1_000_000);

const OVERFLOW_KEY = '\u0000overflow';
const OVERFLOW_ATTRS: readonly KeyValue[] = [{ key: 'otel.metric.overflow', value: { boolValue: true } }];

/**
 * Cumulative aggregation of span-derived measurements, grouped by resource. Memory is bounded by the
 * admission policy (at most its limit of series per metric, plus one overflow series) and by the
 * idle TTL after which a series is forgotten (and restarts with a new start time if it comes back).
 */
export class Aggregator {
  readonly #resources = new Map<string, { attrs: KeyValue[]; lastMs: number }>();
  readonly #metrics = new Map<Instrument, Map<string, Series>>();
  readonly #admission: SeriesAdmission;
  readonly #ttlMs: number;
  readonly #scope: { name: string; version: string };
  /** Measurements folded into the overflow series since the last `takeOverflows`, by metric. */
  readonly #overflows = new Map<string, number>();

  constructor(admission: SeriesAdmission, ttlMs: number, scope: { name: string; version: string }) {
    this.#admission = admission;
    this.#ttlMs = ttlMs;
    this.#scope = scope;
  }

  /** Registers (or refreshes) a resource group; `key` identifies its attribute set. */
  resource(key: string, attrs: () => KeyValue[], now: number): void {
    const r = this.#resources.get(key);
    if (r) r.lastMs = now;
    else this.#resources.set(key, { attrs: attrs(), lastMs: now });
  }

  /**
   * Adds one measurement. `seriesKey` must identify `attrs` (the caller computes it once and reuses it
   * across instruments with the same attributes). `den` is the ratio denominator.
   */
  record(
    inst: Instrument,
    resourceKey: string,
    seriesKey: string,
    attrs: () => KeyValue[],
    value: number,
    now: number,
    den = 0,
  ): void {
    let series = this.#metrics.get(inst);
    if (!series) {
      series = new Map();
      this.#metrics.set(inst, series);
    }
    const key = `${resourceKey}\u0001${seriesKey}`;
    let s = series.get(key);
    if (!s) {
      if (this.#admission.admit(inst.name, key, now)) {
        s = this.#newSeries(inst, resourceKey, attrs(), now);
        series.set(key, s);
      } else {
        this.#overflows.set(inst.name, (this.#overflows.get(inst.name) ?? 0) + 1);
        s = series.get(OVERFLOW_KEY);
        if (!s) {
          s = this.#newSeries(inst, '', [...OVERFLOW_ATTRS], now);
          series.set(OVERFLOW_KEY, s);
        }
      }
    }
    s.lastMs = now;
    if (inst.kind === 'histogram') {
      const bounds = inst.bounds ?? [];
      let i = 0;
      while (i < bounds.length && value > (bounds[i] as number)) i++;
      (s.counts as number[])[i] = ((s.counts as number[])[i] ?? 0) + 1;
      s.count++;
      s.sum += value;
      if (value < s.min) s.min = value;
      if (value > s.max) s.max = value;
    } else {
      s.value += value;
      s.den += den;
    }
  }

  #newSeries(inst: Instrument, resourceKey: string, attrs: KeyValue[], now: number): Series {
    return {
      resourceKey,
      attrs,
      startNs: msToNs(now),
      lastMs: now,
      value: 0,
      den: 0,
      ...(inst.kind === 'histogram'
        ? { counts: new Array<number>((inst.bounds?.length ?? 0) + 1).fill(0) }
        : {}),
      count: 0,
      sum: 0,
      min: Number.POSITIVE_INFINITY,
      max: Number.NEGATIVE_INFINITY,
    };
  }

  /** Overflowed measurements by metric since the last call, and resets them. */
  takeOverflows(): Map<string, number> {
    const out = new Map(this.#overflows);
    this.#overflows.clear();
    return out;
  }

  /** Number of live series per instrument name (for tests and self-metrics). */
  seriesCounts(): Map<string, number> {
    return new Map([...this.#metrics].map(([i, m]) => [i.name, m.size]));
  }

  /** Forgets series (and resources) idle for longer than the TTL. */
  sweep(now: number): void {
    for (const series of this.#metrics.values()) {
      for (const [k, s] of series) if (now - s.lastMs > this.#ttlMs) series.delete(k);
    }
    for (const [k, r] of this.#resources) if (now - r.lastMs > this.#ttlMs) this.#resources.delete(k);
  }

  /** The current cumulative state as one OTLP request (empty resourceMetrics when nothing was recorded). */
  collect(now: number): MetricsRequest {
    const nowNs = msToNs(now);
    const byResource = new Map<string, Metric[]>();
    for (const [inst, series] of this.#metrics) {
      const perResource = new Map<string, Series[]>();
      for (const s of series.values()) {
        const list = perResource.get(s.resourceKey) ?? [];
        list.push(s);
        perResource.set(s.resourceKey, list);
      }
      for (const [rk, list] of perResource) {
        const metrics = byResource.get(rk) ?? [];
        metrics.push(toMetric(inst, list, nowNs));
        byResource.set(rk, metrics);
      }
    }
    const resourceMetrics: ResourceMetrics[] = [];
    for (const [rk, metrics] of byResource) {
      resourceMetrics.push({
        resource: { attributes: rk === '' ? [] : (this.#resources.get(rk)?.attrs ?? []) },
        scopeMetrics: [
          { scope: { name: this.#scope.name, version: this.#scope.version, attributes: [] }, metrics },
        ],
      });
    }
    return { resourceMetrics };
  }
}

function toMetric(inst: Instrument, list: readonly Series[], nowNs: Long): Metric {
  const times = (s: Series) => ({
    startTimeUnixNano: s.startNs,
    timeUnixNano: nowNs,
  });
  const base = { name: inst.name, description: inst.description, unit: inst.unit };
  if (inst.kind === 'histogram') {
    return {
      ...base,
      histogram: {
        aggregationTemporality: TEMPORALITY_CUMULATIVE,
        dataPoints: list.map((s) => ({
          attributes: s.attrs,
          ...times(s),
          count: s.count,
          sum: s.sum,
          bucketCounts: [...(s.counts ?? [])],
          explicitBounds: [...(inst.bounds ?? [])],
          exemplars: [],
          ...(s.count > 0 ? { min: s.min, max: s.max } : {}),
        })),
      },
    };
  }
  if (inst.kind === 'counter') {
    return {
      ...base,
      sum: {
        aggregationTemporality: TEMPORALITY_CUMULATIVE,
        isMonotonic: true,
        dataPoints: list.map((s) => ({ attributes: s.attrs, ...times(s), asDouble: s.value, exemplars: [] })),
      },
    };
  }
  return {
    ...base,
    gauge: {
      dataPoints: list
        .filter((s) => s.den > 0)
        .map((s) => ({ attributes: s.attrs, ...times(s), asDouble: s.value / s.den, exemplars: [] })),
    },
  };
}
