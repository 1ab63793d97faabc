import type { Consumer, CreateSettings } from '../../component/component.ts';
import type { Processor } from '../../component/processor.ts';
import { factsOf, noteFact } from '../../genai/span-facts.ts';
import { hasAttribute, int64ToNumber, setAttribute } from '../../genai/values.ts';
import type { AnyValue, KeyValue, Span, TracesRequest } from '../../otlp/model.ts';
import { doubleValue, intValue, stringValue } from '../../otlp/scalar-values.ts';
import { appendSpanAttribute, appendSpanAttributes, markChanged } from '../../otlp/span-appends.ts';
import { BUCKETS } from '../../pricing/catalogue.ts';
import type { Cost } from '../../pricing/price.ts';
import { COST, type CostStatus, READER_ALIASES, TOKEN_ALIASES, TRACE } from './attributes.ts';
import type { CostConfig } from './config.ts';
import { type Estimate, estimate } from './estimate.ts';
import { TraceRollup } from './rollup.ts';

const dbl = doubleValue;
const str = stringValue;
const int = intValue;

/** Distinct model labels on llmobs_cost_unknown_model_total before the rest count as `__other__`. */
const UNKNOWN_MODEL_LABELS = 100;

const isRoot = (s: Span): boolean => !s.parentSpanId || s.parentSpanId.length === 0;
/** A trace id as a 16-character key (one character per byte: cheaper than hex, and only a Map key). */
const traceKey = (s: Span): string =>
  s.traceId ? String.fromCharCode.apply(null, s.traceId as unknown as number[]) : '';

/**
 * `traceKey` for spans in request order: the spans of a trace usually come together, so the key of
 * the previous span's trace is reused when the id's bytes are the same.
 */
class TraceKeys {
  #id: Uint8Array | undefined;
  #key = '';

  of(span: Span): string {
    const id = span.traceId;
    const last = this.#id;
    if (id && last && id.length === last.length) {
      let same = true;
      for (let i = 0; i < id.length; i++) {
        if (id[i] !== last[i]) {
          same = false;
          break;
        }
      }
      if (same) return this.#key;
    }
    this.#id = id ?? undefined;
    this.#key = traceKey(span);
    return this.#key;
  }
}
const SOURCE_LOCAL: AnyValue = stringValue('local');
const BUCKET_KEYS = Object.fromEntries(BUCKETS.map((b) => [b, `${COST.bucketPrefix}${b}`])) as Record<
  (typeof BUCKETS)[number],
  string
>;

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
    const keys = new TraceKeys();
    for (const rs of data.resourceSpans) {
      for (const ss of rs.scopeSpans) {
        for (const span of ss.spans) {
          if (this.#rollup && isRoot(span)) roots.push(span);
          const facts = factsOf(span);
          if (!facts) continue;
          const start = int64ToNumber(span.startTimeUnixNano);
          const end = int64ToNumber(span.endTimeUnixNano);
          const e = estimate(this.#cfg, facts, start / 1e6, Math.max(0, end - start) / 1e9);
          if (!e) continue;
          const status = this.#write(data, span, e);
          statuses.set(status, (statuses.get(status) ?? 0) + 1);
          if (status === 'unknown_model') this.#countUnknown(e);
          if (this.#rollup) {
            const t = this.#rollup.totalsFor(keys.of(span), now);
            t.calls++;
            if (e.cost) t.cost += e.cost.amount;
            else t.unpricedCalls++;
            t.inputTokens += e.usage?.inputTotal ?? 0;
            t.outputTokens += e.usage?.outputTotal ?? 0;
          }
        }
      }
    }
    for (const root of roots) this.#writeRoot(data, root);
    for (const [status, n] of statuses) this.#set.telemetry.costSpans(this.#set.id, status, n);
  }

  #write(data: TracesRequest, span: Span, e: Estimate): CostStatus {
    const attrs = span.attributes;
    // One pass to learn whether any attribute this writes is already there (an instrumentation that
    // prices calls itself, a span priced twice); if none is — the usual case — they are appended
    // without searching for each, and spliced into the received bytes downstream. Otherwise they are
    // set in place, and the request is encoded whole.
    let fresh = true;
    for (const kv of attrs) {
      if (kv.key.startsWith('gen_ai.usage.cost') || kv.key.startsWith('llm.cost.')) {
        fresh = false;
        break;
      }
    }
    if (!fresh) {
      markChanged(data);
      if (this.#cfg.keepReportedCost && hasAttribute(attrs, COST.amount)) {
        setAttribute(attrs, COST.status, str('reported'));
        return 'reported';
      }
    }
    const out = new AttributeWriter(attrs, fresh);
    out.set(COST.status, str(e.status));
    const cost = e.cost;
    if (cost && e.match) {
      const currency = this.#cfg.currency;
      const amount = dbl(cost.amount);
      const currencyValue = str(currency);
      out.set(COST.amount, amount);
      out.set(COST.currency, currencyValue);
      out.set(COST.source, SOURCE_LOCAL);
      out.set(COST.model, str(e.match.entry.model));
      noteFact(span, 'costAmount', amount);
      noteFact(span, 'costCurrency', currencyValue);
      if (e.match.resolution !== 'exact') out.set(COST.resolution, str(e.match.resolution));
      if (cost.contextTier !== undefined) out.set(COST.contextTier, int(cost.contextTier));
      if (cost.serviceTier) out.set(COST.serviceTier, str(cost.serviceTier));
      if (cost.unpriced.length > 0) out.set(COST.unpriced, str(cost.unpriced.join(',')));
      const b = cost.byBucket;
      for (const bucket of BUCKETS) {
        const v = b[bucket];
        if (v !== undefined) out.set(BUCKET_KEYS[bucket], dbl(v));
      }
      if (this.#cfg.readerAliases && currency === 'USD') writeReaderAliases(out, b, amount);
      const u = e.usage?.buckets;
      if (this.#cfg.tokenAliases && u) {
        out.add(TOKEN_ALIASES.cacheRead, u.cache_read);
        out.add(TOKEN_ALIASES.cacheWrite, u.cache_write_5m + u.cache_write_1h);
        out.add(TOKEN_ALIASES.reasoning, u.reasoning);
      }
    }
    if (out.appended.length > 0) appendSpanAttributes(data, span, out.appended);
    return e.status;
  }

  #writeRoot(data: TracesRequest, root: Span): void {
    const t = this.#rollup?.take(traceKey(root));
    if (!t || t.calls === 0) return;
    const fresh = !root.attributes.some((kv) => kv.key.startsWith('llmobs.trace.'));
    if (!fresh) markChanged(data);
    const set = (key: string, value: AnyValue): void =>
      fresh ? appendSpanAttribute(data, root, { key, value }) : setAttribute(root.attributes, key, value);
    set(TRACE.calls, int(t.calls));
    set(TRACE.inputTokens, int(t.inputTokens));
    set(TRACE.outputTokens, int(t.outputTokens));
    if (t.unpricedCalls > 0) set(TRACE.unpricedCalls, int(t.unpricedCalls));
    if (t.calls > t.unpricedCalls) {
      set(TRACE.amount, dbl(t.cost));
      set(TRACE.currency, str(this.#cfg.currency));
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

/**
 * Where llm_cost's attributes go: appended (collected, then recorded as appends in one call) when
 * the span had none of them, else set in place.
 */
class AttributeWriter {
  readonly appended: KeyValue[] = [];
  readonly #attrs: KeyValue[];
  readonly #fresh: boolean;

  constructor(attrs: KeyValue[], fresh: boolean) {
    this.#attrs = attrs;
    this.#fresh = fresh;
  }

  set(key: string, value: AnyValue): void {
    if (this.#fresh) this.appended.push({ key, value });
    else setAttribute(this.#attrs, key, value);
  }

  /** A token count alias: only when positive, and never over a count the instrumentation reported. */
  add(key: string, n: number): void {
    if (n <= 0 || hasAttribute(this.#attrs, key)) return;
    if (this.#fresh) this.appended.push({ key, value: int(n) });
    else this.#attrs.push({ key, value: int(n) });
  }
}

/** The cost where OpenLIT/Langfuse (gen_ai.usage.cost) and OpenInference/Phoenix (llm.cost.*) read it. */
function writeReaderAliases(out: AttributeWriter, b: Cost['byBucket'], amount: AnyValue): void {
  out.set(READER_ALIASES.openlit, amount);
  out.set(READER_ALIASES.total, amount);
  const input = (b.input ?? 0) + (b.image_input ?? 0);
  const cacheWrite = (b.cache_write_5m ?? 0) + (b.cache_write_1h ?? 0);
  const cacheRead = b.cache_read ?? 0;
  const audioIn = b.audio_input ?? 0;
  const output = b.output ?? 0;
  const reasoning = b.reasoning ?? 0;
  const audioOut = b.audio_output ?? 0;
  out.set(READER_ALIASES.prompt, dbl(input + cacheRead + cacheWrite + audioIn));
  out.set(READER_ALIASES.completion, dbl(output + reasoning + audioOut));
  // Details only say something when a side has more than one part (cached input, reasoning, audio).
  if ((input > 0 ? 1 : 0) + (cacheRead > 0 ? 1 : 0) + (cacheWrite > 0 ? 1 : 0) + (audioIn > 0 ? 1 : 0) > 1) {
    if (input > 0) out.set(READER_ALIASES.promptInput, dbl(input));
    if (cacheRead > 0) out.set(READER_ALIASES.promptCacheRead, dbl(cacheRead));
    if (cacheWrite > 0) out.set(READER_ALIASES.promptCacheWrite, dbl(cacheWrite));
    if (audioIn > 0) out.set(READER_ALIASES.promptAudio, dbl(audioIn));
  }
  if ((output > 0 ? 1 : 0) + (reasoning > 0 ? 1 : 0) + (audioOut > 0 ? 1 : 0) > 1) {
    if (output > 0) out.set(READER_ALIASES.completionOutput, dbl(output));
    if (reasoning > 0) out.set(READER_ALIASES.completionReasoning, dbl(reasoning));
    if (audioOut > 0) out.set(READER_ALIASES.completionAudio, dbl(audioOut));
  }
}
