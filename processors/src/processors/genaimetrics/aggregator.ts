import Long from 'long';
import type { KeyValue, Metric, MetricsRequest, ResourceMetrics } from '../../otlp/model.ts';
import { TEMPORALITY_CUMULATIVE } from '../../otlp/model.ts';
import type { Instrument } from './instruments.ts';

/** Decides whether a new series may exist (the cardinality limit); false folds it into the overflow series. */
export interface SeriesAdmission {
  admit(metric: string, key: string, now: number): boolean;
}

export interface Series {
  readonly resourceKey: string;
  /** The metric's overflow series (otel.metric.overflow=true). */
  readonly overflow: boolean;
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
/** Refused attribute sets remembered between sweeps (beyond, each is asked about again). */
const MAX_REFUSED = 10_000;
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
  #generation = 0;
  /** Attribute sets the admission policy refused, by metric (bounded; forgotten at each sweep). */
  readonly #refused = new Map<Instrument, Set<string>>();
  #refusedCount = 0;

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
   * The series for `seriesKey` (which must identify `attrs`; callers compute it once and reuse it),
   * created if the admission policy lets it exist, else the metric's overflow series. Callers may
   * keep the result to record into it directly until `generation` changes (a sweep may drop it).
   */
  seriesFor(
    inst: Instrument,
    resourceKey: string,
    seriesKey: string,
    attrs: () => KeyValue[],
    now: number,
  ): Series {
    let series = this.#metrics.get(inst);
    if (!series) {
      series = new Map();
      this.#metrics.set(inst, series);
    }
    const key = `${resourceKey}\u0001${seriesKey}`;
    let s = series.get(key);
    if (s) return s;
    const refused = this.#refused.get(inst);
    if (!refused?.has(key)) {
      if (this.#admission.admit(inst.name, key, now)) {
        s = this.#newSeries(inst, resourceKey, attrs(), now, false);
        series.set(key, s);
        return s;
      }
      // Remembered until the next sweep, so later points of the same set skip the admission check.
      if (this.#refusedCount < MAX_REFUSED) {
        this.#refusedCount++;
        if (refused) refused.add(key);
        else this.#refused.set(inst, new Set([key]));
      }
    }
    s = series.get(OVERFLOW_KEY);
    if (!s) {
      s = this.#newSeries(inst, '', [...OVERFLOW_ATTRS], now, true);
      series.set(OVERFLOW_KEY, s);
    }
    return s;
  }

  /** Adds one measurement to a series from `seriesFor`. `den` is the ratio denominator. */
  observe(inst: Instrument, s: Series, value: number, now: number, den = 0): void {
    s.lastMs = now;
    if (s.overflow) this.#overflows.set(inst.name, (this.#overflows.get(inst.name) ?? 0) + 1);
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

  /** `observe(seriesFor(…))` in one call. */
  record(
    inst: Instrument,
    resourceKey: string,
    seriesKey: string,
    attrs: () => KeyValue[],
    value: number,
    now: number,
    den = 0,
  ): void {
    this.observe(inst, this.seriesFor(inst, resourceKey, seriesKey, attrs, now), value, now, den);
  }

  /** Changes whenever a sweep may have dropped series: series kept by callers are stale then. */
  get generation(): number {
    return this.#generation;
  }

  #newSeries(
    inst: Instrument,
    resourceKey: string,
    attrs: KeyValue[],
    now: number,
    overflow: boolean,
  ): Series {
    return {
      resourceKey,
      overflow,
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
    this.#generation++;
    // Refused sets are asked about again after a sweep: slots may have freed up.
    this.#refused.clear();
    this.#refusedCount = 0;
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
