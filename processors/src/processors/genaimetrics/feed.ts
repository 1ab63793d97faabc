import type { CreateSettings } from '../../component/component.ts';
import { seriesKey } from '../../metrics/cardinality/series-key.ts';
import { SeriesLimiter } from '../../metrics/cardinality/series-limiter.ts';
import type { KeyValue, Resource } from '../../otlp/model.ts';
import { Aggregator } from './aggregator.ts';
import type { Instrument } from './instruments.ts';

export interface FeedOptions {
  readonly pipelines: readonly string[];
  readonly flushIntervalMs: number;
  readonly seriesTtlMs: number;
  readonly maxSeriesPerMetric: number;
  /** Resource attributes that identify a measurement's source (the rest of the resource is dropped). */
  readonly resourceAttributes: readonly string[];
  readonly instruments: readonly Instrument[];
  readonly scope: { readonly name: string; readonly version: string };
}

/**
 * Metrics a processor derives from the data passing through it, aggregated (cumulative, bounded per
 * metric) and fed into metrics pipelines on a timer — what a Collector connector does. A flush a
 * pipeline refuses loses nothing: the next one carries the same totals.
 */
export class DerivedMetricsFeed {
  readonly #set: CreateSettings;
  readonly #opts: FeedOptions;
  readonly aggregator: Aggregator;
  readonly #limiter: SeriesLimiter;
  #timer: NodeJS.Timeout | undefined;
  #flushing: Promise<void> = Promise.resolve();

  constructor(set: CreateSettings, opts: FeedOptions) {
    this.#set = set;
    this.#opts = opts;
    this.#limiter = new SeriesLimiter({
      maxSeriesPerMetric: opts.maxSeriesPerMetric,
      ttlMs: opts.seriesTtlMs,
    });
    this.aggregator = new Aggregator(this.#limiter, opts.seriesTtlMs, opts.scope);
  }

  /** Registers the resource a measurement comes from and returns its key for `record`. */
  resource(resource: Resource | null | undefined, now: number): string {
    const wanted = this.#opts.resourceAttributes;
    const attrs: KeyValue[] = (resource?.attributes ?? []).filter((kv) => wanted.includes(kv.key));
    const key = seriesKey(attrs);
    this.aggregator.resource(key, () => attrs, now);
    return key;
  }

  /** Sends the current state into every configured metrics pipeline. */
  flush(now = Date.now()): Promise<void> {
    this.#flushing = this.#flushing.then(() => this.#flush(now));
    return this.#flushing;
  }

  async #flush(now: number): Promise<void> {
    const { telemetry, id } = this.#set;
    this.aggregator.sweep(now);
    this.#limiter.sweep(now);
    for (const [metric, n] of this.aggregator.takeOverflows())
      telemetry.cardinalityOverflowPoints(id, metric, n);
    const counts = this.aggregator.seriesCounts();
    for (const inst of this.#opts.instruments)
      telemetry.derivedMetricsSeries(id, inst.name, counts.get(inst.name) ?? 0);
    if (counts.size === 0) return;
    for (const pid of this.#opts.pipelines) {
      const consumer = this.#set.pipeline?.(pid, 'metrics');
      if (!consumer) {
        telemetry.derivedMetricsFlush(id, pid, 'missing');
        continue;
      }
      // Each pipeline gets its own request: its processors may change it in place.
      const req = this.aggregator.collect(now);
      try {
        await consumer.consume(req);
        telemetry.derivedMetricsFlush(id, pid, 'ok');
      } catch (err) {
        telemetry.derivedMetricsFlush(id, pid, 'refused');
        this.#set.logger.warn({ err, pipeline: pid }, 'derived metrics refused; they go with the next flush');
      }
    }
  }

  start(): void {
    if (this.#opts.pipelines.length === 0) return;
    this.#timer = setInterval(() => {
      void this.flush();
    }, this.#opts.flushIntervalMs);
    this.#timer.unref();
  }

  async stop(): Promise<void> {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = undefined;
    await this.flush();
  }
}
