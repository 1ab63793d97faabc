import type { Consumer, CreateSettings } from '../../component/component.ts';
import type { Processor } from '../../component/processor.ts';
import { readFacts } from '../../genai/span-facts.ts';
import { hasAttribute, int64ToNumber, setAttribute } from '../../genai/values.ts';
import type { AnyValue, KeyValue, Span, TracesRequest } from '../../otlp/model.ts';
import { COST, type CostStatus, READER_ALIASES, TOKEN_ALIASES, TRACE } from './attributes.ts';
import type { CostConfig } from './config.ts';
import { type Estimate, estimate } from './estimate.ts';
import { TraceRollup } from './rollup.ts';

const dbl = (v: number): AnyValue => ({ doubleValue: v });
const str = (v: string): AnyValue => ({ stringValue: v });
const int = (v: number): AnyValue => ({ intValue: v });

/** Distinct model labels on llmobs_cost_unknown_model_total before the rest count as `__other__`. */
const UNKNOWN_MODEL_LABELS = 100;

const isRoot = (s: Span): boolean => !s.parentSpanId || s.parentSpanId.length === 0;
const traceKey = (s: Span): string => (s.traceId ? Buffer.from(s.traceId).toString('hex') : '');

/**
 * `llm_cost`: prices every LLM span from its token counts and writes the cost onto it
 * (gen_ai.usage.cost.*, plus the aliases other readers use), then rolls the calls of each trace up
 * onto its root span. A span whose model has no price gets `gen_ai.usage.cost.status=unknown_model`
 * and no amount — never a silent 0 — and is counted on /metrics.
 */
export class CostProcessor implements Processor<'traces'> {
  readonly #set: CreateSettings;
  readonly #cfg: CostConfig;
  readonly #next: Consumer<'traces'>;
  readonly #rollup: TraceRollup | undefined;
  readonly #unknownLabels = new Set<string>();

  constructor(set: CreateSettings, cfg: CostConfig, next: Consumer<'traces'>) {
    this.#set = set;
    this.#cfg = cfg;
    this.#next = next;
    this.#rollup = cfg.rollup.enabled
      ? new TraceRollup(cfg.rollup.maxTraces, cfg.rollup.ttlMs, (reason, n) =>
          set.telemetry.costRollupEvicted(set.id, reason, n),
        )
      : undefined;
  }

  /** Prices `data` in place (exposed for tests and benchmarks). */
  apply(data: TracesRequest, now = Date.now()): void {
    const statuses = new Map<CostStatus, number>();
    const roots: Span[] = [];
    for (const rs of data.resourceSpans) {
      for (const ss of rs.scopeSpans) {
        for (const span of ss.spans) {
          if (this.#rollup && isRoot(span)) roots.push(span);
          const facts = readFacts(span.attributes);
          if (!facts) continue;
          const start = int64ToNumber(span.startTimeUnixNano);
          const end = int64ToNumber(span.endTimeUnixNano);
          const e = estimate(this.#cfg, facts, start / 1e6, Math.max(0, end - start) / 1e9);
          if (!e) continue;
          const status = this.#write(span.attributes, e);
          statuses.set(status, (statuses.get(status) ?? 0) + 1);
          if (status === 'unknown_model') this.#countUnknown(e);
          this.#rollup?.add(traceKey(span), now, (t) => {
            t.calls++;
            if (e.cost) t.cost += e.cost.amount;
            else t.unpricedCalls++;
            t.inputTokens += e.usage?.inputTotal ?? 0;
            t.outputTokens += e.usage?.outputTotal ?? 0;
          });
        }
      }
    }
    for (const root of roots) this.#writeRoot(root);
    for (const [status, n] of statuses) this.#set.telemetry.costSpans(this.#set.id, status, n);
  }

  #write(attrs: KeyValue[], e: Estimate): CostStatus {
    if (this.#cfg.keepReportedCost && hasAttribute(attrs, COST.amount)) {
      setAttribute(attrs, COST.status, str('reported'));
      return 'reported';
    }
    setAttribute(attrs, COST.status, str(e.status));
    const cost = e.cost;
    if (!cost || !e.match) return e.status;
    const currency = this.#cfg.currency;
    setAttribute(attrs, COST.amount, dbl(cost.amount));
    setAttribute(attrs, COST.currency, str(currency));
    setAttribute(attrs, COST.source, str('local'));
    setAttribute(attrs, COST.model, str(e.match.entry.model));
    if (e.match.resolution !== 'exact') setAttribute(attrs, COST.resolution, str(e.match.resolution));
    if (cost.contextTier !== undefined) setAttribute(attrs, COST.contextTier, int(cost.contextTier));
    if (cost.serviceTier) setAttribute(attrs, COST.serviceTier, str(cost.serviceTier));
    if (cost.unpriced.length > 0) setAttribute(attrs, COST.unpriced, str(cost.unpriced.join(',')));
    for (const [bucket, amount] of Object.entries(cost.byBucket)) {
      setAttribute(attrs, `${COST.bucketPrefix}${bucket}`, dbl(amount));
    }

    const b = cost.byBucket;
    if (this.#cfg.readerAliases && currency === 'USD') {
      const cacheWrite = (b.cache_write_5m ?? 0) + (b.cache_write_1h ?? 0);
      const prompt =
        (b.input ?? 0) + (b.cache_read ?? 0) + cacheWrite + (b.audio_input ?? 0) + (b.image_input ?? 0);
      const completion = (b.output ?? 0) + (b.reasoning ?? 0) + (b.audio_output ?? 0);
      setAttribute(attrs, READER_ALIASES.openlit, dbl(cost.amount));
      setAttribute(attrs, READER_ALIASES.total, dbl(cost.amount));
      setAttribute(attrs, READER_ALIASES.prompt, dbl(prompt));
      setAttribute(attrs, READER_ALIASES.completion, dbl(completion));
      const details: [string, number | undefined][] = [
        [READER_ALIASES.promptInput, (b.input ?? 0) + (b.image_input ?? 0) || undefined],
        [READER_ALIASES.promptCacheRead, b.cache_read],
        [READER_ALIASES.promptCacheWrite, cacheWrite || undefined],
        [READER_ALIASES.promptAudio, b.audio_input],
        [READER_ALIASES.completionOutput, b.output],
        [READER_ALIASES.completionReasoning, b.reasoning],
        [READER_ALIASES.completionAudio, b.audio_output],
      ];
      for (const [k, v] of details) if (v !== undefined) setAttribute(attrs, k, dbl(v));
    }
    const u = e.usage?.buckets;
    if (this.#cfg.tokenAliases && u) {
      const add = (k: string, v: number) => {
        if (v > 0 && !hasAttribute(attrs, k)) attrs.push({ key: k, value: int(v) });
      };
      add(TOKEN_ALIASES.cacheRead, u.cache_read);
      add(TOKEN_ALIASES.cacheWrite, u.cache_write_5m + u.cache_write_1h);
      add(TOKEN_ALIASES.reasoning, u.reasoning);
    }
    return e.status;
  }

  #writeRoot(root: Span): void {
    const t = this.#rollup?.take(traceKey(root));
    if (!t || t.calls === 0) return;
    setAttribute(root.attributes, TRACE.calls, int(t.calls));
    setAttribute(root.attributes, TRACE.inputTokens, int(t.inputTokens));
    setAttribute(root.attributes, TRACE.outputTokens, int(t.outputTokens));
    if (t.unpricedCalls > 0) setAttribute(root.attributes, TRACE.unpricedCalls, int(t.unpricedCalls));
    if (t.calls > t.unpricedCalls) {
      setAttribute(root.attributes, TRACE.amount, dbl(t.cost));
      setAttribute(root.attributes, TRACE.currency, str(this.#cfg.currency));
    }
  }

  #countUnknown(e: Estimate): void {
    let label = e.model ?? '(none)';
    if (!this.#unknownLabels.has(label)) {
      if (this.#unknownLabels.size >= UNKNOWN_MODEL_LABELS) label = '__other__';
      else this.#unknownLabels.add(label);
    }
    this.#set.telemetry.costUnknownModel(this.#set.id, e.provider ?? '', label, 1);
  }

  async consume(data: TracesRequest): Promise<void> {
    this.apply(data);
    return this.#next.consume(data);
  }

  async start(): Promise<void> {}
  async shutdown(): Promise<void> {}
}
