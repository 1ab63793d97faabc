import { ExpiringSet } from './expiring-set.ts';
import { boundedKey } from './series-key.ts';

/** The OTel metrics SDK's default cardinality limit per metric stream. */
export const DEFAULT_MAX_SERIES_PER_METRIC = 2000;
/**
 * Ten minutes: ten SDK export intervals (60 s default) or forty 15 s Prometheus scrapes, so a live
 * series is never forgotten between two exports even when a few are lost, while attribute sets that
 * churn away (finished pods, one-off users or prompts) give their slot back within minutes.
 */
export const DEFAULT_SERIES_TTL_MS = 10 * 60_000;
export const DEFAULT_MAX_METRICS = 10_000;
/** Total tracked series across metrics: about 20–40 MiB of keys at worst. */
export const DEFAULT_MAX_TOTAL_SERIES = 200_000;

export interface SeriesLimiterOptions {
  /** Distinct attribute sets tracked per metric (default 2000). */
  readonly maxSeriesPerMetric?: number;
  /** A per-metric override of `maxSeriesPerMetric` (e.g. from globs); asked once per metric name. */
  readonly limitFor?: (metric: string) => number | undefined;
  /** Idle time after which a tracked set is forgotten, ms (default 10 min); 0 never forgets. */
  readonly ttlMs?: number;
  /** Distinct metric names tracked (default 10000); points of other metrics all overflow. */
  readonly maxMetrics?: number;
  /** Tracked sets across all metrics (default 200000); beyond, new sets overflow. */
  readonly maxTotalSeries?: number;
  /** Called for each forgotten set, with the key as stored ({@link boundedKey} of what was admitted). */
  readonly onExpire?: (metric: string, storedKey: string) => void;
}

interface MetricState {
  readonly name: string;
  readonly series: ExpiringSet;
  readonly limit: number;
  /** Last time the metric was seen, refreshed like an ExpiringSet entry (at most every slack ms). */
  stamp: number;
}

/** Running counts, for tests, self-metrics and logs. */
export interface SeriesLimiterStats {
  /** Sets that got a slot. */
  admitted: number;
  /** admit() calls answered false (points the caller folds into the overflow series). */
  refused: number;
  /** Sets forgotten after their idle TTL (including those of metrics forgotten whole). */
  expired: number;
  /** admit() calls refused because the metric name could not be tracked (max_metrics reached). */
  refusedMetric: number;
}

/**
 * Per-metric limit on distinct attribute sets, with the OTel SDK's overflow semantics: the first
 * `limit` sets of a metric are tracked, `admit` answers false for any other, and the caller folds
 * that point into the series whose only attribute is `otel.metric.overflow=true`, so totals stay
 * exact. Unlike the SDK (which counts the overflow series in its limit), the overflow series comes on
 * top: at most `limit + 1` series per metric.
 *
 * Tracked sets are forgotten after `ttlMs` without a point (see {@link ExpiringSet}), which gives
 * their slot to new sets; metric names idle that long are forgotten whole. Memory is bounded whatever
 * the input: at most `min(maxTotalSeries, Σ limits)` keys of at most 256 characters (longer keys are
 * stored as a digest, {@link boundedKey}) and `maxMetrics` metric entries. Every operation is
 * amortised O(1).
 */
export class SeriesLimiter {
  readonly #metrics = new Map<string, MetricState>();
  readonly #defaultLimit: number;
  readonly #limitFor: ((metric: string) => number | undefined) | undefined;
  readonly #ttl: number;
  readonly #slack: number;
  readonly #maxMetrics: number;
  readonly #maxTotal: number;
  readonly #onExpire: ((metric: string, key: string) => void) | undefined;
  #total = 0;
  #nextMetricSweep = Number.POSITIVE_INFINITY;
  readonly stats: SeriesLimiterStats = { admitted: 0, refused: 0, expired: 0, refusedMetric: 0 };

  constructor(opts: SeriesLimiterOptions = {}) {
    this.#defaultLimit = opts.maxSeriesPerMetric ?? DEFAULT_MAX_SERIES_PER_METRIC;
    this.#limitFor = opts.limitFor;
    const ttl = opts.ttlMs ?? DEFAULT_SERIES_TTL_MS;
    this.#ttl = ttl > 0 && Number.isFinite(ttl) ? ttl : 0;
    this.#slack = this.#ttl / 16;
    this.#maxMetrics = opts.maxMetrics ?? DEFAULT_MAX_METRICS;
    this.#maxTotal = opts.maxTotalSeries ?? DEFAULT_MAX_TOTAL_SERIES;
    this.#onExpire = opts.onExpire;
  }

  /** Attribute sets tracked now, across metrics. */
  get size(): number {
    return this.#total;
  }

  /** Metric names tracked now. */
  get metricCount(): number {
    return this.#metrics.size;
  }

  /** True if the metric name has a tracker now (its name is a bounded label value). */
  isTracked(metric: string): boolean {
    return this.#metrics.has(metric);
  }

  /** Series tracked now for one metric. */
  seriesOf(metric: string): number {
    return this.#metrics.get(metric)?.series.size ?? 0;
  }

  /** The limit that applies to a metric name. */
  limitOf(metric: string): number {
    return this.#metrics.get(metric)?.limit ?? this.#limitFor?.(metric) ?? this.#defaultLimit;
  }

  /**
   * True if the attribute set `seriesKey` (see `seriesKey()`) of `metric` is tracked or now becomes
   * tracked; false if the caller must fold the point into the overflow series. `now` is a monotonic
   * time in ms.
   */
  admit(metric: string, seriesKey: string, now: number): boolean {
    if (now >= this.#nextMetricSweep) this.#sweepMetrics(now);
    let st = this.#metrics.get(metric);
    if (st === undefined) {
      if (this.#metrics.size >= this.#maxMetrics) {
        this.stats.refusedMetric++;
        this.stats.refused++;
        return false;
      }
      st = {
        name: metric,
        series: new ExpiringSet(this.#ttl),
        limit: this.#limitFor?.(metric) ?? this.#defaultLimit,
        stamp: now,
      };
      this.#metrics.set(metric, st);
      if (this.#ttl > 0 && this.#nextMetricSweep === Number.POSITIVE_INFINITY)
        this.#nextMetricSweep = now + this.#ttl + this.#slack;
    } else if (this.#ttl > 0 && now - st.stamp >= this.#slack) {
      st.stamp = now;
      this.#metrics.delete(metric);
      this.#metrics.set(metric, st);
    }
    const key = boundedKey(seriesKey);
    if (st.series.touch(key, now)) return true;
    const expired = st.series.sweep(now, this.#expireHook(st));
    if (expired > 0) {
      this.#total -= expired;
      this.stats.expired += expired;
    }
    if (st.series.size >= st.limit || this.#total >= this.#maxTotal) {
      this.stats.refused++;
      return false;
    }
    st.series.add(key, now);
    this.#total++;
    this.stats.admitted++;
    return true;
  }

  /** Forgets everything idle for longer than the TTL now (admit does this lazily as it goes). */
  sweep(now: number): void {
    this.#sweepMetrics(now);
    for (const st of this.#metrics.values()) {
      const n = st.series.sweep(now, this.#expireHook(st));
      this.#total -= n;
      this.stats.expired += n;
    }
  }

  #expireHook(st: MetricState): ((key: string) => void) | undefined {
    const cb = this.#onExpire;
    return cb ? (key) => cb(st.name, key) : undefined;
  }

  /** Drops metric names idle for longer than the TTL, with their sets, from the head of the map. */
  #sweepMetrics(now: number): void {
    if (this.#ttl === 0) return;
    const horizon = this.#ttl + this.#slack;
    for (const st of this.#metrics.values()) {
      if (st.stamp + horizon > now) {
        this.#nextMetricSweep = st.stamp + horizon;
        return;
      }
      this.#metrics.delete(st.name);
      const n = st.series.size;
      if (this.#onExpire) for (const key of st.series.keys()) this.#onExpire(st.name, key);
      this.#total -= n;
      this.stats.expired += n;
    }
    this.#nextMetricSweep = Number.POSITIVE_INFINITY;
  }
}
