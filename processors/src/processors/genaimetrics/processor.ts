import type { Consumer, CreateSettings } from '../../component/component.ts';
import type { Processor } from '../../component/processor.ts';
import { normaliseProvider } from '../../genai/dialects.ts';
import { operationOf, stageOf } from '../../genai/operation.ts';
import { factNumber, factString, readFacts, type SpanFacts } from '../../genai/span-facts.ts';
import { normaliseUsage } from '../../genai/usage.ts';
import { int64ToNumber } from '../../genai/values.ts';
import { seriesKey } from '../../metrics/cardinality/series-key.ts';
import { ValueCaps } from '../../metrics/cardinality/value-caps.ts';
import type { AnyValue, KeyValue, Resource, Span, TracesRequest } from '../../otlp/model.ts';
import type { Aggregator } from './aggregator.ts';
import type { GenAiMetricsConfig } from './config.ts';
import { DerivedMetricsFeed } from './feed.ts';
import {
  ALL_INSTRUMENTS,
  CACHE_HIT_RATIO,
  CALLS,
  COST,
  DURATION,
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
          const facts = readFacts(span.attributes);
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
    const provider = normaliseProvider(factString(facts, 'provider'));
    const requestModel = factString(facts, 'requestModel');
    const responseModel = factString(facts, 'responseModel');
    const base: KeyValue[] = [{ key: 'gen_ai.operation.name', value: str(op) }];
    if (provider) base.push({ key: 'gen_ai.provider.name', value: str(provider) });
    if (requestModel) base.push({ key: 'gen_ai.request.model', value: str(requestModel) });
    if (responseModel) base.push({ key: 'gen_ai.response.model', value: str(responseModel) });
    for (const d of this.#cfg.dimensions) {
      const v = lookup(span.attributes, d.name) ?? lookup(resource?.attributes ?? [], d.name);
      if (v) base.push({ key: d.name, value: v });
      else if (d.default !== undefined) base.push({ key: d.name, value: str(d.default) });
    }
    this.#caps.apply(base, now);
    const baseKey = seriesKey(base);
    const errorType =
      factString(facts, 'errorType') ?? (span.status?.code === STATUS_ERROR ? '_OTHER' : undefined);
    const withAttr = (extra: KeyValue[]) => () => [...base, ...extra];
    const errAttrs: KeyValue[] = errorType ? [{ key: 'error.type', value: str(errorType) }] : [];
    const errKey = errorType ? `${baseKey}\u0002e=${errorType}` : baseKey;

    const start = int64ToNumber(span.startTimeUnixNano);
    const end = int64ToNumber(span.endTimeUnixNano);
    const seconds = Math.max(0, end - start) / 1e9;
    const stage = stageOf(op);
    const stageAttrs: KeyValue[] = [{ key: 'llmobs.stage', value: str(stage) }, ...errAttrs];
    const redKey = `${errKey}\u0002s=${stage}`;
    this.#agg.record(CALLS, rk, redKey, withAttr(stageAttrs), 1, now);
    this.#agg.record(DURATION, rk, redKey, withAttr(stageAttrs), seconds, now);

    if (stage !== 'llm' && stage !== 'embedding') return;
    this.#agg.record(OPERATION_DURATION, rk, errKey, withAttr(errAttrs), seconds, now);
    const ttfc = factNumber(facts, 'timeToFirstChunk');
    if (ttfc !== undefined) this.#agg.record(TIME_TO_FIRST_CHUNK, rk, baseKey, withAttr([]), ttfc, now);

    const usage = normaliseUsage(facts);
    if (usage) {
      const tokenType = (t: string): KeyValue[] => [{ key: 'gen_ai.token.type', value: str(t) }];
      if (facts.input !== undefined || usage.inputTotal > 0)
        this.#agg.record(
          TOKEN_USAGE,
          rk,
          `${baseKey}\u0002t=input`,
          withAttr(tokenType('input')),
          usage.inputTotal,
          now,
        );
      if (facts.output !== undefined || usage.outputTotal > 0)
        this.#agg.record(
          TOKEN_USAGE,
          rk,
          `${baseKey}\u0002t=output`,
          withAttr(tokenType('output')),
          usage.outputTotal,
          now,
        );
      for (const [bucket, type] of TOKEN_TYPES) {
        const n = usage.buckets[bucket];
        if (n > 0)
          this.#agg.record(TOKENS, rk, `${baseKey}\u0002t=${type}`, withAttr(tokenType(type)), n, now);
      }
      if (usage.inputTotal > 0)
        this.#agg.record(
          CACHE_HIT_RATIO,
          rk,
          baseKey,
          withAttr([]),
          usage.buckets.cache_read,
          now,
          usage.inputTotal,
        );
    }
    const cost = factNumber(facts, 'costAmount');
    if (cost !== undefined) {
      const currency = factString(facts, 'costCurrency') ?? 'USD';
      this.#agg.record(
        COST,
        rk,
        `${baseKey}\u0002c=${currency}`,
        withAttr([{ key: 'gen_ai.usage.cost.currency', value: str(currency) }]),
        cost,
        now,
      );
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
