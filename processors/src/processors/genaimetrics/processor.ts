import type { Consumer, CreateSettings } from '../../component/component.ts';
import type { Processor } from '../../component/processor.ts';
import { normaliseProvider } from '../../genai/dialects.ts';
import { operationOf, type Stage, stageOf } from '../../genai/operation.ts';
import { factNumber, factString, factsOf, type SpanFacts } from '../../genai/span-facts.ts';
import { usageOf } from '../../genai/usage.ts';
import { int64ToNumber } from '../../genai/values.ts';
import { seriesKey, valueKey } from '../../metrics/cardinality/series-key.ts';
import { ValueCaps } from '../../metrics/cardinality/value-caps.ts';
import type { AnyValue, KeyValue, Resource, Span, TracesRequest } from '../../otlp/model.ts';
import type { Aggregator, Series } from './aggregator.ts';
import type { GenAiMetricsConfig } from './config.ts';
import { DerivedMetricsFeed } from './feed.ts';
import {
  ALL_INSTRUMENTS,
  CACHE_HIT_RATIO,
  CALLS,
  COST,
  DURATION,
  type Instrument,
  OPERATION_DURATION,
  TIME_TO_FIRST_CHUNK,
  TOKEN_USAGE,
  TOKENS,
} from './instruments.ts';

const STATUS_ERROR = 2;
const str = (v: string): AnyValue => ({ stringValue: v });
const SCOPE = { name: 'llmobs.dev/processor/llm_metrics', version: '0.1.0' };

/** Token buckets as the gen_ai.token.type values of llmobs.tokens (both cache-write lifetimes are one type). */
const TOKEN_TYPES = [
  ['input', 'input'],
  ['output', 'output'],
  ['cache_read', 'cache_read'],
  ['cache_write_5m', 'cache_write'],
  ['cache_write_1h', 'cache_write'],
  ['reasoning', 'reasoning'],
  ['audio_input', 'audio_input'],
  ['audio_output', 'audio_output'],
  ['image_input', 'image_input'],
] as const;

/** Token types in TOKEN_TYPES order, each once: the slot of llmobs.tokens for that type is 6 + its index. */
const TOKEN_TYPE_SLOTS = [...new Set(TOKEN_TYPES.map(([, type]) => type))];
const TOKEN_SLOT_AT = TOKEN_TYPES.map(([, type]) => 6 + TOKEN_TYPE_SLOTS.indexOf(type));
const SLOTS = 6 + TOKEN_TYPE_SLOTS.length + 2;
const CACHE_SLOT = SLOTS - 2;
const USD_COST_SLOT = SLOTS - 1;

/** Groups remembered between sweeps; past this, the cache starts over (a storm of new groups). */
const MAX_GROUPS = 10_000;

/**
 * The measurements of one attribute group (resource, operation, provider, models, dimensions, error):
 * its attributes and keys, built once, and the series each instrument and variant records into.
 * Variants: `red` (llmobs.stage and error.type), `err` (error.type), a token type, a currency, or ''.
 */
class Group {
  readonly #agg: Aggregator;
  readonly #rk: string;
  readonly #base: KeyValue[];
  readonly #baseKey: string;
  readonly #err: KeyValue[];
  readonly stage: Stage;
  readonly #series = new Map<Instrument, Map<string, Series>>();
  /** The series every span of the group records into, by fixed slot: an array read instead of two Map lookups. */
  readonly #slots: (Series | undefined)[] = new Array(SLOTS).fill(undefined);

  constructor(agg: Aggregator, rk: string, base: KeyValue[], errorType: string | undefined, stage: Stage) {
    this.#agg = agg;
    this.#rk = rk;
    this.#base = base;
    this.#baseKey = seriesKey(base);
    this.#err = errorType ? [{ key: 'error.type', value: str(errorType) }] : [];
    this.stage = stage;
  }

  /** `series(inst, variant)` for one of the fixed combinations, kept in slot `slot`. */
  slot(slot: number, inst: Instrument, variant: string, now: number): Series {
    const hit = this.#slots[slot];
    if (hit) return hit;
    const s = this.series(inst, variant, now);
    this.#slots[slot] = s;
    return s;
  }

  series(inst: Instrument, variant: string, now: number): Series {
    let m = this.#series.get(inst);
    if (!m) {
      m = new Map();
      this.#series.set(inst, m);
    }
    let s = m.get(variant);
    if (!s) {
      const extra = this.#extra(inst, variant);
      const key = extra.length > 0 ? `${this.#baseKey}\u0002${seriesKey(extra)}` : this.#baseKey;
      s = this.#agg.seriesFor(inst, this.#rk, key, () => [...this.#base, ...extra], now);
      m.set(variant, s);
    }
    return s;
  }

  #extra(inst: Instrument, variant: string): KeyValue[] {
    if (variant === 'red') return [{ key: 'llmobs.stage', value: str(this.stage) }, ...this.#err];
    if (variant === 'err') return this.#err;
    if (inst === COST) return [{ key: 'gen_ai.usage.cost.currency', value: str(variant) }];
    if (variant !== '') return [{ key: 'gen_ai.token.type', value: str(variant) }];
    return [];
  }
}

/**
 * `llm_metrics`: derives GenAI metrics from spans as they pass — before any sampling, so rates and
 * error ratios are exact — and feeds them, as OTLP metrics, into the configured metrics pipelines
 * (which may export them as OTLP or on a Prometheus endpoint). Spans pass through unchanged.
 * Semconv gen_ai.client.* histograms; RED (llmobs.calls, llmobs.duration) per service, model,
 * operation and pipeline stage; tokens by disjoint bucket; cost; cache hit ratio. Series are
 * bounded per metric (otel.metric.overflow=true beyond the limit, so totals stay exact).
 */
export class GenAiMetricsProcessor implements Processor<'traces'> {
  readonly #cfg: GenAiMetricsConfig;
  readonly #next: Consumer<'traces'>;
  readonly #feed: DerivedMetricsFeed;
  readonly #agg: Aggregator;
  readonly #caps: ValueCaps;
  readonly #groups = new Map<string, Group>();
  #generation = -1;

  constructor(set: CreateSettings, cfg: GenAiMetricsConfig, next: Consumer<'traces'>) {
    this.#cfg = cfg;
    this.#next = next;
    this.#feed = new DerivedMetricsFeed(set, {
      pipelines: cfg.metricsPipelines,
      flushIntervalMs: cfg.flushIntervalMs,
      seriesTtlMs: cfg.seriesTtlMs,
      maxSeriesPerMetric: cfg.maxSeriesPerMetric,
      resourceAttributes: cfg.resourceAttributes,
      instruments: ALL_INSTRUMENTS,
      scope: SCOPE,
    });
    this.#agg = this.#feed.aggregator;
    this.#caps = new ValueCaps(cfg.valueCaps, { ttlMs: cfg.seriesTtlMs });
  }

  /** The aggregation state (for tests and benchmarks). */
  get aggregator(): Aggregator {
    return this.#agg;
  }

  /** Records every GenAI span of `data` (exposed for tests and benchmarks). */
  observe(data: TracesRequest, now = Date.now()): void {
    for (const rs of data.resourceSpans) {
      let resourceKey: string | undefined;
      for (const ss of rs.scopeSpans) {
        for (const span of ss.spans) {
          const facts = factsOf(span);
          if (!facts) continue;
          const op = operationOf(facts);
          if (!op) continue;
          resourceKey ??= this.#feed.resource(rs.resource, now);
          this.#record(span, facts, op, rs.resource, resourceKey, now);
        }
      }
    }
  }

  #record(
    span: Span,
    facts: SpanFacts,
    op: string,
    resource: Resource | null | undefined,
    rk: string,
    now: number,
  ): void {
    if (this.#agg.generation !== this.#generation) {
      this.#groups.clear();
      this.#generation = this.#agg.generation;
    }
    const provider = normaliseProvider(factString(facts, 'provider'));
    const requestModel = factString(facts, 'requestModel');
    const responseModel = factString(facts, 'responseModel');
    const errorType =
      factString(facts, 'errorType') ?? (span.status?.code === STATUS_ERROR ? '_OTHER' : undefined);
    // The group's identity from the raw values, without building or sorting attributes: most spans of
    // a service repeat a handful of groups, whose series are then found with one Map lookup.
    let fast = `${rk}\u0001${op}\u0001${provider ?? ''}\u0001${requestModel ?? ''}\u0001${responseModel ?? ''}\u0001${errorType ?? ''}`;
    const dims: (AnyValue | undefined)[] = [];
    for (const d of this.#cfg.dimensions) {
      const v = lookup(span.attributes, d.name) ?? lookup(resource?.attributes ?? [], d.name);
      dims.push(v);
      fast += `\u0001${v ? valueKey(v) : '\u0000'}`;
    }
    let g = this.#groups.get(fast);
    if (!g) {
      const base: KeyValue[] = [{ key: 'gen_ai.operation.name', value: str(op) }];
      if (provider) base.push({ key: 'gen_ai.provider.name', value: str(provider) });
      if (requestModel) base.push({ key: 'gen_ai.request.model', value: str(requestModel) });
      if (responseModel) base.push({ key: 'gen_ai.response.model', value: str(responseModel) });
      this.#cfg.dimensions.forEach((d, i) => {
        const v = dims[i];
        if (v) base.push({ key: d.name, value: v });
        else if (d.default !== undefined) base.push({ key: d.name, value: str(d.default) });
      });
      // Capped values depend on what was seen: a group is only remembered when nothing was capped away.
      const capped = this.#caps.apply(base, now);
      g = new Group(this.#agg, rk, base, errorType, stageOf(op));
      if (capped === 0) {
        if (this.#groups.size >= MAX_GROUPS) this.#groups.clear();
        this.#groups.set(fast, g);
      }
    }

    const start = int64ToNumber(span.startTimeUnixNano);
    const end = int64ToNumber(span.endTimeUnixNano);
    const seconds = Math.max(0, end - start) / 1e9;
    const agg = this.#agg;
    agg.observe(CALLS, g.slot(0, CALLS, 'red', now), 1, now);
    agg.observe(DURATION, g.slot(1, DURATION, 'red', now), seconds, now);
    if (g.stage !== 'llm' && g.stage !== 'embedding') return;
    agg.observe(OPERATION_DURATION, g.slot(2, OPERATION_DURATION, 'err', now), seconds, now);
    const ttfc = factNumber(facts, 'timeToFirstChunk');
    if (ttfc !== undefined)
      agg.observe(TIME_TO_FIRST_CHUNK, g.slot(3, TIME_TO_FIRST_CHUNK, '', now), ttfc, now);

    // The buckets llm_cost priced, when it ran first (with its configured rules).
    const usage = usageOf(facts);
    if (usage) {
      if (facts.input !== undefined || usage.inputTotal > 0)
        agg.observe(TOKEN_USAGE, g.slot(4, TOKEN_USAGE, 'input', now), usage.inputTotal, now);
      if (facts.output !== undefined || usage.outputTotal > 0)
        agg.observe(TOKEN_USAGE, g.slot(5, TOKEN_USAGE, 'output', now), usage.outputTotal, now);
      for (let i = 0; i < TOKEN_TYPES.length; i++) {
        const [bucket, type] = TOKEN_TYPES[i] as (typeof TOKEN_TYPES)[number];
        const n = usage.buckets[bucket];
        if (n > 0) agg.observe(TOKENS, g.slot(TOKEN_SLOT_AT[i] as number, TOKENS, type, now), n, now);
      }
      if (usage.inputTotal > 0)
        agg.observe(
          CACHE_HIT_RATIO,
          g.slot(CACHE_SLOT, CACHE_HIT_RATIO, '', now),
          usage.buckets.cache_read,
          now,
          usage.inputTotal,
        );
    }
    const cost = factNumber(facts, 'costAmount');
    if (cost !== undefined) {
      const currency = factString(facts, 'costCurrency') ?? 'USD';
      const series =
        currency === 'USD' ? g.slot(USD_COST_SLOT, COST, currency, now) : g.series(COST, currency, now);
      agg.observe(COST, series, cost, now);
    }
  }

  async consume(data: TracesRequest): Promise<void> {
    this.observe(data);
    return this.#next.consume(data);
  }

  /** Sends the current state into every configured metrics pipeline. */
  flush(now = Date.now()): Promise<void> {
    return this.#feed.flush(now);
  }

  async start(): Promise<void> {
    this.#feed.start();
  }

  async shutdown(): Promise<void> {
    await this.#feed.stop();
  }
}

function lookup(attrs: readonly KeyValue[], key: string): AnyValue | undefined {
  for (const kv of attrs) if (kv.key === key && kv.value) return kv.value;
  return undefined;
}
