import { randomBytes } from 'node:crypto';
import type { Consumer, CreateSettings } from '../../component/component.ts';
import type { Processor } from '../../component/processor.ts';
import { documentsOf, exchangeOf } from '../../genai/content.ts';
import { normaliseProvider } from '../../genai/dialects.ts';
import { operationOf, stageOf } from '../../genai/operation.ts';
import { factString, factsOf } from '../../genai/span-facts.ts';
import { emptyBuckets } from '../../genai/usage.ts';
import { seriesKey } from '../../metrics/cardinality/series-key.ts';
import type { AnyValue, KeyValue, Span, TracesRequest } from '../../otlp/model.ts';
import { appendSpanAttribute } from '../../otlp/span-appends.ts';
import { periodAt, priceUsage } from '../../pricing/price.ts';
import { FEEDBACK } from '../../receivers/feedback/feedback.ts';
import type { DerivedMetricsFeed } from '../genaimetrics/feed.ts';
import { ConsistentSampler, explicitRandomness } from '../sampling/randomness.ts';
import { JudgeBudget, type Spend } from './budget.ts';
import type { EvaluationConfig } from './config.ts';
import { EVAL_INSTRUMENTS, JUDGE_COST, VERDICTS, verdictFeed } from './instruments.ts';
import { askJudge, JudgeError, type JudgeInput, type JudgeResult, type Rubric } from './judge.ts';

const STATUS_ERROR = 2;
/** On a judged call: how many verdicts were queued for it (llm_sampling waits for them). */
const PENDING = 'llmobs.eval.pending';
const SCOPE = { name: 'llmobs.dev/processor/llm_evaluation', version: '0.1.0' };
const str = (v: string): AnyValue => ({ stringValue: v });
const hex = (b: Uint8Array | undefined) => (b ? Buffer.from(b).toString('hex') : '');

/** One judge call waiting for a worker: a model call's text and where its verdict goes. */
interface Job {
  readonly rubric: Rubric;
  readonly content: JudgeInput;
  readonly traceId: Uint8Array;
  readonly spanId: Uint8Array;
  readonly resource: KeyValue[];
  readonly resourceKey: string;
  readonly model: string | undefined;
  readonly provider: string | undefined;
  readonly responseId: string | undefined;
}

/** Characters the judge reads for a job: the judged text plus the fixed prompt around it. */
const charsOf = (job: Job): number =>
  job.content.input.length + job.content.output.length + (job.content.documents?.length ?? 0) + 600;

export type SkipReason = 'queue_full' | 'budget_rate' | 'budget_cost' | 'no_content' | 'no_documents';

/**
 * `llm_evaluation`: LLM-as-judge, off the request path. A share of model calls (by trace id, plus
 * every call a rule flags) is queued, and workers ask an OpenAI-compatible judge one TRUE/FALSE
 * question per rubric. Each verdict becomes a span under the judged call (with the OTel GenAI
 * `gen_ai.evaluation.result` event), passed on down this pipeline so tail sampling sees it, and a
 * `llmobs.eval.verdicts` count fed into the metrics pipelines. Spans pass through at once: a slow,
 * failing or over-budget judge costs verdicts (counted), never telemetry.
 */
export class EvaluationProcessor implements Processor<'traces'> {
  readonly #set: CreateSettings;
  readonly #cfg: EvaluationConfig;
  readonly #next: Consumer<'traces'>;
  readonly #budget: JudgeBudget;
  /** The same trace-id rule llm_sampling uses, so a judged share and a kept share line up. */
  readonly #sampler: ConsistentSampler;
  readonly #feed: DerivedMetricsFeed;
  readonly #queue: Job[] = [];
  #running = 0;
  #stopped = false;
  readonly #idle = new Set<() => void>();
  /** Upper bound of one call's cost, per character of prompt (USD), from the judge's price. */
  readonly #bound: (chars: number) => number;

  constructor(set: CreateSettings, cfg: EvaluationConfig, next: Consumer<'traces'>) {
    this.#set = set;
    this.#cfg = cfg;
    this.#next = next;
    this.#budget = new JudgeBudget(cfg.maxRequestsPerMinute, cfg.maxCostPerHour);
    this.#sampler = new ConsistentSampler(cfg.samplingPercentage);
    this.#feed = verdictFeed(set, cfg, EVAL_INSTRUMENTS, SCOPE.name);
    // A token is at least 1 character (so chars bound the prompt) and the reply is capped at 96 tokens
    // (+ the system prompt's few hundred characters, included by the caller).
    const match = cfg.judgePrices.lookup(undefined, cfg.judge.model);
    const period = match ? periodAt(match.entry.prices, Date.now()) : undefined;
    this.#bound = (chars) => ((period?.input ?? 0) * chars + (period?.output ?? 0) * 96) / 1e6;
  }

  /** Metrics state and queue, for tests. */
  get feed(): DerivedMetricsFeed {
    return this.#feed;
  }
  get queued(): number {
    return this.#queue.length;
  }

  async consume(data: TracesRequest): Promise<void> {
    if (!this.#stopped) this.#select(data, Date.now());
    return this.#next.consume(data);
  }

  #select(data: TracesRequest, now: number): void {
    // Retrieved documents of this request, by trace: a RAG answer is judged against what was retrieved.
    let documents: Map<string, string[]> | undefined;
    const docsOf = (traceId: Uint8Array | undefined): string | undefined => {
      if (!documents) {
        documents = new Map();
        for (const rs of data.resourceSpans)
          for (const ss of rs.scopeSpans)
            for (const s of ss.spans) {
              const d = documentsOf(s, this.#cfg.maxContentChars);
              if (d) documents.set(hex(s.traceId), [...(documents.get(hex(s.traceId)) ?? []), d]);
            }
      }
      const list = documents.get(hex(traceId));
      return list ? list.join('\n---\n').slice(0, this.#cfg.maxContentChars) : undefined;
    };
    for (const rs of data.resourceSpans) {
      let resourceKey: string | undefined;
      for (const ss of rs.scopeSpans) {
        for (const span of ss.spans) {
          const feedback = span.attributes.find((kv) => kv.key === FEEDBACK.value)?.value?.stringValue;
          if (feedback === 'thumbs_up' || feedback === 'thumbs_down') {
            resourceKey ??= this.#feed.resource(rs.resource, now);
            this.#countFeedback(resourceKey, feedback, now);
            continue;
          }
          const facts = factsOf(span);
          if (!facts) continue;
          const op = operationOf(facts);
          if (!op || stageOf(op) !== 'llm' || !span.traceId || !span.spanId) continue;
          if (!this.#wanted(span, facts.errorType !== undefined)) continue;
          const ex = exchangeOf(span, this.#cfg.maxContentChars);
          if (!ex) {
            this.#skip('no_content', this.#cfg.rubrics.length);
            continue;
          }
          resourceKey ??= this.#feed.resource(rs.resource, now);
          const docs = docsOf(span.traceId);
          let queued = 0;
          for (const rubric of this.#cfg.rubrics) {
            if (rubric.needsDocuments && docs === undefined) {
              this.#skip('no_documents', 1);
              continue;
            }
            if (this.#queue.length >= this.#cfg.queueSize) {
              this.#skip('queue_full', 1);
              continue;
            }
            this.#queue.push({
              rubric,
              content: { ...ex, ...(docs !== undefined ? { documents: docs } : {}) },
              traceId: span.traceId,
              spanId: span.spanId,
              resource: [...(rs.resource?.attributes ?? [])],
              resourceKey,
              model: factString(facts, 'responseModel') ?? factString(facts, 'requestModel'),
              provider: normaliseProvider(factString(facts, 'provider')),
              responseId:
                span.attributes.find((kv) => kv.key === 'gen_ai.response.id')?.value?.stringValue ??
                undefined,
            });
            queued++;
          }
          // Tells llm_sampling (after this processor) to hold the trace for these verdicts.
          if (queued > 0) appendSpanAttribute(data, span, { key: PENDING, value: { intValue: queued } });
        }
      }
    }
    this.#set.telemetry.evalQueue(this.#set.id, this.#queue.length);
    this.#pump();
  }

  /** User feedback counts like a verdict of the rubric `user_feedback`: thumbs up passes, down fails. */
  #countFeedback(resourceKey: string, value: 'thumbs_up' | 'thumbs_down', now: number): void {
    const attrs: KeyValue[] = [
      { key: 'gen_ai.evaluation.name', value: str('user_feedback') },
      { key: 'llmobs.eval.verdict', value: str(value === 'thumbs_up' ? 'pass' : 'fail') },
    ];
    this.#feed.aggregator.record(VERDICTS, resourceKey, seriesKey(attrs), () => attrs, 1, now);
  }

  #wanted(span: Span, hasErrorType: boolean): boolean {
    const a = this.#cfg.always;
    if (a.errors && (hasErrorType || span.status?.code === STATUS_ERROR)) return true;
    for (const rule of a.attributes) {
      const kv = span.attributes.find((x) => x.key === rule.key);
      if (
        kv &&
        (rule.value === undefined ||
          kv.value?.stringValue === rule.value ||
          String(kv.value?.boolValue) === rule.value)
      )
        return true;
    }
    return this.#sampler.keeps(span.traceId ?? new Uint8Array(), explicitRandomness(span.traceState));
  }

  #skip(reason: SkipReason, n: number): void {
    if (n > 0) this.#set.telemetry.evalSkipped(this.#set.id, reason, n);
  }

  #pump(): void {
    while (this.#running < this.#cfg.maxConcurrency && this.#queue.length > 0) {
      const job = this.#queue[0] as Job;
      const spend = this.#budget.take(Date.now(), this.#bound(charsOf(job)));
      // Only calls in flight hold the cost back: the job waits for one of them to settle.
      if (spend === 'wait') return;
      this.#queue.shift();
      if (spend === 'rate' || spend === 'cost') {
        this.#skip(spend === 'rate' ? 'budget_rate' : 'budget_cost', 1);
        continue;
      }
      this.#running++;
      void this.#run(job, spend).finally(() => {
        this.#running--;
        this.#set.telemetry.evalQueue(this.#set.id, this.#queue.length);
        this.#pump();
        if (this.#running === 0 && this.#queue.length === 0) for (const f of this.#idle) f();
      });
    }
  }

  async #run(job: Job, spend: Spend): Promise<void> {
    const started = Date.now();
    let result: JudgeResult;
    try {
      result = await askJudge(this.#cfg.judge, job.rubric, job.content);
    } catch (err) {
      const reason = err instanceof JudgeError ? err.reason : 'response';
      // A call that timed out may still have been billed: count its bound; others cost nothing.
      this.#budget.settle(spend, reason === 'timeout' ? spend.bound : 0);
      this.#set.telemetry.evalJudgments(this.#set.id, job.rubric.name, `error_${reason}`, 1);
      this.#set.logger.debug({ err, rubric: job.rubric.name }, 'judge call failed');
      return;
    }
    const ended = Date.now();
    const cost = this.#judgeCost(result);
    this.#budget.settle(spend, cost, ended);
    this.#set.telemetry.evalJudgments(this.#set.id, job.rubric.name, result.verdict, 1);
    this.#set.telemetry.evalJudgeCost(this.#set.id, cost);
    this.#record(job, result, cost, ended);
    if (result.verdict === 'unparseable') return;
    await this.#emit(job, result, started, ended, cost);
  }

  #judgeCost(r: JudgeResult): number {
    const match = this.#cfg.judgePrices.lookup(undefined, this.#cfg.judge.model);
    const period = match ? periodAt(match.entry.prices, Date.now()) : undefined;
    if (!period) return 0;
    const buckets = emptyBuckets();
    buckets.cache_read = r.usage.cachedTokens;
    buckets.input = Math.max(0, r.usage.promptTokens - r.usage.cachedTokens);
    buckets.output = r.usage.completionTokens;
    return priceUsage(period, {
      buckets,
      inputTotal: r.usage.promptTokens,
      outputTotal: r.usage.completionTokens,
      inputIncludesCache: true,
      outputIncludesReasoning: true,
      ruleSource: 'default',
    }).amount;
  }

  #record(job: Job, r: JudgeResult, cost: number, now: number): void {
    const agg = this.#feed.aggregator;
    if (r.verdict !== 'unparseable') {
      const attrs: KeyValue[] = [
        { key: 'gen_ai.evaluation.name', value: str(job.rubric.name) },
        { key: 'llmobs.eval.verdict', value: str(r.verdict) },
      ];
      if (job.model) attrs.push({ key: 'gen_ai.request.model', value: str(job.model) });
      if (job.provider) attrs.push({ key: 'gen_ai.provider.name', value: str(job.provider) });
      agg.record(VERDICTS, job.resourceKey, seriesKey(attrs), () => attrs, 1, now);
    }
    if (cost > 0) {
      const attrs: KeyValue[] = [{ key: 'gen_ai.evaluation.name', value: str(job.rubric.name) }];
      agg.record(JUDGE_COST, job.resourceKey, seriesKey(attrs), () => attrs, cost, now);
    }
  }

  /** The verdict as a child span of the judged call, carrying the semconv evaluation event. */
  async #emit(job: Job, r: JudgeResult, startMs: number, endMs: number, cost: number): Promise<void> {
    const pass = r.verdict === 'pass';
    const result: KeyValue[] = [
      { key: 'gen_ai.evaluation.name', value: str(job.rubric.name) },
      { key: 'gen_ai.evaluation.score.value', value: { doubleValue: pass ? 1 : 0 } },
      { key: 'gen_ai.evaluation.score.label', value: str(r.verdict) },
      ...(r.explanation ? [{ key: 'gen_ai.evaluation.explanation', value: str(r.explanation) }] : []),
      ...(job.responseId ? [{ key: 'gen_ai.response.id', value: str(job.responseId) }] : []),
    ];
    const span: Span = {
      traceId: job.traceId,
      spanId: Uint8Array.from(randomBytes(8)),
      parentSpanId: job.spanId,
      name: `evaluate ${job.rubric.name}`,
      kind: 1,
      startTimeUnixNano: startMs * 1e6,
      endTimeUnixNano: endMs * 1e6,
      attributes: [
        ...result,
        { key: 'llmobs.eval.verdict', value: { boolValue: pass } },
        { key: 'llmobs.eval.judge.model', value: str(this.#cfg.judge.model) },
        ...(cost > 0 ? [{ key: 'llmobs.eval.judge.cost.amount', value: { doubleValue: cost } }] : []),
      ],
      events: [{ name: 'gen_ai.evaluation.result', timeUnixNano: endMs * 1e6, attributes: result }],
      links: [],
    };
    try {
      await this.#next.consume({
        resourceSpans: [
          {
            resource: { attributes: job.resource },
            scopeSpans: [
              { scope: { name: SCOPE.name, version: SCOPE.version, attributes: [] }, spans: [span] },
            ],
          },
        ],
      });
    } catch (err) {
      // Derived data: counted as dropped, never retried into the request path.
      this.#set.telemetry.drop(this.#set.id, 'traces', 'queue_full', 1);
      this.#set.logger.warn({ err }, 'evaluation span refused downstream');
    }
  }

  /** Resolves when no judge call is queued or running (tests, shutdown). */
  idle(): Promise<void> {
    if (this.#running === 0 && this.#queue.length === 0) return Promise.resolve();
    return new Promise((resolve) => {
      const f = () => {
        this.#idle.delete(f);
        resolve();
      };
      this.#idle.add(f);
    });
  }

  async start(): Promise<void> {
    this.#feed.start();
  }

  /** Stops taking new work; judge calls already running may finish until the deadline, queued ones are skipped. */
  async shutdown(deadline: number): Promise<void> {
    this.#stopped = true;
    const dropped = this.#queue.length;
    this.#queue.length = 0;
    this.#skip('queue_full', dropped);
    const left = deadline - Date.now();
    if (left > 0) await Promise.race([this.idle(), new Promise((r) => setTimeout(r, left).unref())]);
    await this.#feed.stop();
  }
}
