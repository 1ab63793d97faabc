import { int64ToNumber, numberOf } from '../../genai/values.ts';
import type { AnyValue, KeyValue, Span } from '../../otlp/model.ts';
import type { PolicyConfig, ScoreRule } from './config.ts';

/**
 * Why a trace was kept or dropped, in evaluation order: the first policy that matches gives the
 * reason; `probabilistic` decides the rest; `no_trace_id` marks spans that cannot be grouped.
 */
export const REASONS = [
  'errors',
  'guardrail',
  'validation',
  'latency',
  'cost',
  'low_score',
  'feedback',
  'probabilistic',
  'no_trace_id',
] as const;
export type Reason = (typeof REASONS)[number];

export const ERRORS = 0;
export const GUARDRAIL = 1;
export const VALIDATION = 2;
export const LATENCY = 3;
export const COST = 4;
export const LOW_SCORE = 5;
export const FEEDBACK = 6;
export const PROBABILISTIC = 7;
export const NO_TRACE_ID = 8;
/** Policies that keep a trace, in evaluation order. */
const KEEP_POLICIES = [ERRORS, GUARDRAIL, VALIDATION, LATENCY, COST, LOW_SCORE, FEEDBACK];

/** The attribute keys each policy reads (the README lists them with their sources). */
export const KEYS = {
  errorType: 'error.type',
  openInferenceKind: 'openinference.span.kind',
  outputValue: 'output.value',
  guardrailsAiValidator: 'validator_name',
  guardrailResult: 'gen_ai.guardrail.result.value',
  guardrailActions: ['gen_ai.guardrail.action', 'gen_ai.guardrails.action'],
  guardrailTriggered: 'gen_ai.guardrail.triggered',
  finishReasons: 'gen_ai.response.finish_reasons',
  /** Per-call cost, best spelling first (llm_cost writes the first; OpenLIT and OpenInference the others). */
  cost: ['gen_ai.usage.cost.amount', 'gen_ai.usage.cost', 'llm.cost.total'],
  traceCost: 'llmobs.trace.cost.amount',
  evaluationName: 'gen_ai.evaluation.name',
  evaluationScore: 'gen_ai.evaluation.score.value',
  evaluationLabel: 'gen_ai.evaluation.score.label',
  verdict: 'llmobs.eval.verdict',
  feedbackScore: 'llmobs.feedback.score',
  feedbackValue: 'llmobs.feedback.value',
} as const;

/** What a trace's spans showed so far; filled span by span as they arrive, so deciding is O(1). */
export interface Evidence {
  /** Bit i set: policy i matched on some span. */
  matched: number;
  minStartNs: number;
  maxEndNs: number;
  /** Sum of per-call costs. */
  cost: number;
  /** The largest trace roll-up (llmobs.trace.cost.amount) seen. */
  traceCost: number;
}

export function emptyEvidence(): Evidence {
  return {
    matched: 0,
    minStartNs: Number.POSITIVE_INFINITY,
    maxEndNs: Number.NEGATIVE_INFINITY,
    cost: 0,
    traceCost: 0,
  };
}

// Roles of the keys a policy reads; one Map lookup per attribute finds them.
const R_ERROR_TYPE = 1;
const R_OI_KIND = 2;
const R_OUTPUT = 3;
const R_VALIDATOR = 4;
const R_GUARD_VALUE = 5;
const R_GUARD_TRIGGERED = 6;
const R_FINISH = 7;
const R_COST = 8;
const R_TRACE_COST = 9;
const R_EVAL_NAME = 10;
const R_EVAL_SCORE = 11;
const R_EVAL_LABEL = 12;
const R_VERDICT = 13;
const R_FEEDBACK_SCORE = 14;
const R_FEEDBACK_VALUE = 15;

interface KeyInfo {
  role: number;
  /** For R_COST: the spelling's rank (0 best). */
  rank: number;
  /** Set when the key is a validation attribute (it may also have a role). */
  validation: ReadonlySet<string> | undefined;
}

const STATUS_ERROR = 2;
/** OTLP span flags: the parent's is-remote bit is known, and it is set. */
const PARENT_REMOTE = 0x300;

const bit = (i: number) => 1 << i;

function text(v: AnyValue | null | undefined): string | undefined {
  if (!v) return undefined;
  if (typeof v.stringValue === 'string') return v.stringValue;
  if (typeof v.boolValue === 'boolean') return v.boolValue ? 'true' : 'false';
  if (v.intValue !== null && v.intValue !== undefined) return String(int64ToNumber(v.intValue));
  if (typeof v.doubleValue === 'number') return String(v.doubleValue);
  return undefined;
}

const FAILED_VERDICTS: ReadonlySet<string> = new Set(['false', 'fail', 'failed']);
/** llmobs.eval.verdict: false (as llm_evaluation writes it on verdict spans), or "false" / "fail". */
const isFailedVerdict = (v: AnyValue | null | undefined): boolean =>
  v?.boolValue === false ||
  (typeof v?.stringValue === 'string' && FAILED_VERDICTS.has(v.stringValue.toLowerCase()));

const isTrue = (v: AnyValue | null | undefined): boolean =>
  v?.boolValue === true || (typeof v?.stringValue === 'string' && v.stringValue.toLowerCase() === 'true');

/** True for a root span: no parent, or (with `localRoot`) a parent in another process. */
export function isRoot(s: Span, localRoot: boolean): boolean {
  if (!s.parentSpanId || s.parentSpanId.length === 0) return true;
  return localRoot && ((s.flags ?? 0) & PARENT_REMOTE) === PARENT_REMOTE;
}

/**
 * The policies of one processor, compiled: reads spans into Evidence and decides from it. Reading a
 * span is one pass over its attributes and its events' attributes with one Map lookup each; nothing
 * is allocated except for the few attributes a policy reads (lower-casing their values).
 */
export class Policies {
  readonly #cfg: PolicyConfig;
  readonly #keys = new Map<string, KeyInfo>();
  readonly #latencyNs: number;
  // Scratch for one attribute set; single-threaded, reset by #scan.
  #oiGuardrail = false;
  #validator = false;
  #output: string | undefined;
  #costRank = 99;
  #costValue = 0;
  #evalName: string | undefined;
  #evalScore: number | undefined;
  #evalLabel: string | undefined;

  constructor(cfg: PolicyConfig) {
    this.#cfg = cfg;
    this.#latencyNs = cfg.latency.thresholdMs * 1e6;
    const add = (key: string, role: number, rank = 0) => {
      this.#keys.set(key, { role, rank, validation: undefined });
    };
    if (cfg.errors.enabled) add(KEYS.errorType, R_ERROR_TYPE);
    if (cfg.guardrail.enabled) {
      add(KEYS.openInferenceKind, R_OI_KIND);
      add(KEYS.outputValue, R_OUTPUT);
      add(KEYS.guardrailsAiValidator, R_VALIDATOR);
      add(KEYS.guardrailResult, R_GUARD_VALUE);
      for (const k of KEYS.guardrailActions) add(k, R_GUARD_VALUE);
      add(KEYS.guardrailTriggered, R_GUARD_TRIGGERED);
      add(KEYS.finishReasons, R_FINISH);
    }
    if (cfg.cost.enabled) {
      KEYS.cost.forEach((k, i) => {
        add(k, R_COST, i);
      });
      add(KEYS.traceCost, R_TRACE_COST);
    }
    if (cfg.lowScore.enabled || cfg.feedback.enabled) {
      add(KEYS.evaluationName, R_EVAL_NAME);
      add(KEYS.evaluationScore, R_EVAL_SCORE);
      add(KEYS.evaluationLabel, R_EVAL_LABEL);
    }
    if (cfg.lowScore.enabled) add(KEYS.verdict, R_VERDICT);
    if (cfg.feedback.enabled) {
      add(KEYS.feedbackScore, R_FEEDBACK_SCORE);
      add(KEYS.feedbackValue, R_FEEDBACK_VALUE);
    }
    if (cfg.validation.enabled) {
      for (const [key, values] of cfg.validation.attributes) {
        const info = this.#keys.get(key);
        if (info) info.validation = values;
        else this.#keys.set(key, { role: 0, rank: 0, validation: values });
      }
    }
  }

  /** Reads one span into `e`. */
  observe(s: Span, e: Evidence): void {
    const cfg = this.#cfg;
    if (cfg.errors.enabled && s.status?.code === STATUS_ERROR) e.matched |= bit(ERRORS);
    const start = int64ToNumber(s.startTimeUnixNano);
    const end = int64ToNumber(s.endTimeUnixNano);
    if (start > 0 && end >= start) {
      if (start < e.minStartNs) e.minStartNs = start;
      if (end > e.maxEndNs) e.maxEndNs = end;
      if (cfg.latency.enabled && end - start >= this.#latencyNs) e.matched |= bit(LATENCY);
    }
    // Once the first policy matched, nothing later can change the reason: skip the attributes.
    if ((e.matched & bit(ERRORS)) !== 0 || this.#keys.size === 0) return;
    this.#scan(s.attributes, e, true);
    if (
      (this.#oiGuardrail || this.#validator) &&
      (s.status?.code === STATUS_ERROR ||
        (this.#output !== undefined && cfg.guardrail.failureValues.has(this.#output.toLowerCase())))
    )
      e.matched |= bit(GUARDRAIL);
    if (this.#costRank !== 99) e.cost += this.#costValue;
    for (const ev of s.events) if (ev.attributes.length > 0) this.#scan(ev.attributes, e, false);
  }

  /** Reads one attribute set (a span's or an event's) into `e` and the scratch fields. */
  #scan(attrs: readonly KeyValue[], e: Evidence, onSpan: boolean): void {
    const cfg = this.#cfg;
    this.#oiGuardrail = false;
    this.#validator = false;
    this.#output = undefined;
    this.#costRank = 99;
    this.#evalName = undefined;
    this.#evalScore = undefined;
    this.#evalLabel = undefined;
    let matched = 0;
    for (const kv of attrs) {
      const info = this.#keys.get(kv.key);
      if (!info) continue;
      const v = kv.value;
      if (info.validation) {
        const t = text(v);
        if (t !== undefined && info.validation.has(t)) matched |= bit(VALIDATION);
      }
      switch (info.role) {
        case R_ERROR_TYPE:
          // On events error.type means the evaluation or guardrail call failed, not the trace.
          if (onSpan && typeof v?.stringValue === 'string' && v.stringValue !== '') matched |= bit(ERRORS);
          break;
        case R_OI_KIND:
          this.#oiGuardrail = v?.stringValue?.toUpperCase() === 'GUARDRAIL';
          break;
        case R_OUTPUT:
          if (onSpan && typeof v?.stringValue === 'string' && v.stringValue.length <= 64)
            this.#output = v.stringValue;
          break;
        case R_VALIDATOR:
          this.#validator = onSpan;
          break;
        case R_GUARD_VALUE: {
          const t = text(v);
          if (t !== undefined && cfg.guardrail.failureValues.has(t.toLowerCase())) matched |= bit(GUARDRAIL);
          break;
        }
        case R_GUARD_TRIGGERED:
          if (isTrue(v)) matched |= bit(GUARDRAIL);
          break;
        case R_FINISH:
          if (onSpan && this.#finishedBySafety(v)) matched |= bit(GUARDRAIL);
          break;
        case R_COST: {
          const n = onSpan ? numberOf(v) : undefined;
          if (n !== undefined && n >= 0 && info.rank < this.#costRank) {
            this.#costRank = info.rank;
            this.#costValue = n;
          }
          break;
        }
        case R_TRACE_COST: {
          const n = onSpan ? numberOf(v) : undefined;
          if (n !== undefined && n > e.traceCost) e.traceCost = n;
          break;
        }
        case R_EVAL_NAME:
          this.#evalName = v?.stringValue ?? undefined;
          break;
        case R_EVAL_SCORE:
          this.#evalScore = numberOf(v);
          break;
        case R_EVAL_LABEL:
          this.#evalLabel = v?.stringValue ?? undefined;
          break;
        case R_VERDICT:
          if (isFailedVerdict(v)) matched |= bit(LOW_SCORE);
          break;
        case R_FEEDBACK_SCORE: {
          const n = numberOf(v);
          if (n !== undefined && n < cfg.feedback.scoreBelow) matched |= bit(FEEDBACK);
          break;
        }
        case R_FEEDBACK_VALUE: {
          const t = text(v);
          if (t !== undefined && cfg.feedback.negativeValues.has(t.toLowerCase())) matched |= bit(FEEDBACK);
          break;
        }
      }
    }
    if (this.#evalScore !== undefined || this.#evalLabel !== undefined) matched |= this.#judgeEvaluation();
    e.matched |= matched;
  }

  /** One evaluation result (name, score, label): user feedback for the feedback policy, else a quality score. */
  #judgeEvaluation(): number {
    const cfg = this.#cfg;
    const name = this.#evalName;
    const score = this.#evalScore;
    const label = this.#evalLabel?.toLowerCase();
    if (name !== undefined && cfg.feedback.evaluationNames.has(name)) {
      if (!cfg.feedback.enabled) return 0;
      const negative =
        (score !== undefined && score < cfg.feedback.scoreBelow) ||
        (label !== undefined && cfg.feedback.negativeValues.has(label));
      return negative ? bit(FEEDBACK) : 0;
    }
    if (!cfg.lowScore.enabled) return 0;
    if (label !== undefined && cfg.lowScore.labels.has(label)) return bit(LOW_SCORE);
    if (score === undefined) return 0;
    const rule: ScoreRule =
      (name !== undefined ? cfg.lowScore.evaluations.get(name) : undefined) ?? cfg.lowScore.score;
    return (rule.below !== undefined && score < rule.below) ||
      (rule.above !== undefined && score > rule.above)
      ? bit(LOW_SCORE)
      : 0;
  }

  #finishedBySafety(v: AnyValue | null | undefined): boolean {
    const reasons = this.#cfg.guardrail.finishReasons;
    if (typeof v?.stringValue === 'string') return reasons.has(v.stringValue.toLowerCase());
    for (const x of v?.arrayValue?.values ?? [])
      if (typeof x.stringValue === 'string' && reasons.has(x.stringValue.toLowerCase())) return true;
    return false;
  }

  /** The first keep policy the evidence satisfies, or -1 (then the probabilistic part decides). */
  decide(e: Evidence): number {
    const cfg = this.#cfg;
    for (const p of KEEP_POLICIES) {
      switch (p) {
        case LATENCY:
          if (
            cfg.latency.enabled &&
            ((e.matched & bit(LATENCY)) !== 0 || e.maxEndNs - e.minStartNs >= this.#latencyNs)
          )
            return p;
          break;
        case COST:
          if (cfg.cost.enabled && Math.max(e.cost, e.traceCost) >= cfg.cost.threshold) return p;
          break;
        default:
          if ((e.matched & bit(p)) !== 0) return p;
      }
    }
    return -1;
  }
}
