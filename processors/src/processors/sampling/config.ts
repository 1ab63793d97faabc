import type { FieldError } from '../../component/factory.ts';
import { DURATION, durationField, SIZE, sizeField } from '../../config/schema-helpers.ts';

/** A score rule of the low_score policy: a score is low below `below` or above `above` (one of them). */
export interface ScoreRule {
  readonly below?: number;
  readonly above?: number;
}

/** The compiled configuration of one `llm_sampling` processor. */
export interface SamplingConfig {
  readonly decisionWaitMs: number;
  readonly rootGraceMs: number;
  /** Also treat a span whose parent is remote (OTLP span flags) as the root of the trace. */
  readonly localRoot: boolean;
  readonly maxTraces: number;
  readonly maxBufferedBytes: number;
  readonly decisionCacheSize: number;
  readonly policies: PolicyConfig;
}

export interface PolicyConfig {
  readonly errors: { readonly enabled: boolean };
  readonly guardrail: {
    readonly enabled: boolean;
    /** Lower case; compared with gen_ai.guardrail.result.value, *.guardrail*.action, a guardrail span's output.value. */
    readonly failureValues: ReadonlySet<string>;
    /** Lower case; compared with each of gen_ai.response.finish_reasons. */
    readonly finishReasons: ReadonlySet<string>;
  };
  readonly validation: {
    readonly enabled: boolean;
    /** Attribute key → the values (as strings: true, false, 3, text) that mean "failed". */
    readonly attributes: ReadonlyMap<string, ReadonlySet<string>>;
  };
  readonly latency: { readonly enabled: boolean; readonly thresholdMs: number };
  readonly cost: { readonly enabled: boolean; readonly threshold: number };
  readonly lowScore: {
    readonly enabled: boolean;
    readonly score: ScoreRule;
    /** Lower case labels that mean a failed evaluation. */
    readonly labels: ReadonlySet<string>;
    /** Per gen_ai.evaluation.name, replacing `score`. */
    readonly evaluations: ReadonlyMap<string, ScoreRule>;
  };
  readonly feedback: {
    readonly enabled: boolean;
    readonly scoreBelow: number;
    /** Lower case values of llmobs.feedback.value that mean negative feedback. */
    readonly negativeValues: ReadonlySet<string>;
    /** gen_ai.evaluation.result events with these names are feedback, judged here rather than by low_score. */
    readonly evaluationNames: ReadonlySet<string>;
  };
  readonly probabilistic: { readonly samplingPercentage: number };
}

/**
 * Guardrail result values that mean the guardrail intervened, in the providers' own spelling (the
 * semconv keeps them native, see README): Bedrock's action, OpenAI Agents' tripwire, Model Armor's
 * match state, Guardrails AI's validator outcome, and the verbs community instrumentations write.
 */
export const DEFAULT_GUARDRAIL_FAILURE_VALUES = [
  'guardrail_intervened',
  'intervened',
  'true',
  'match_found',
  'blocked',
  'block',
  'deny',
  'denied',
  'triggered',
  'flagged',
  'fail',
  'failed',
];

/** Finish reasons that mean a safety system stopped the model (OpenAI/Azure, Bedrock, Gemini, Anthropic). */
export const DEFAULT_GUARDRAIL_FINISH_REASONS = [
  'content_filter',
  'content_filtered',
  'guardrail_intervened',
  'safety',
  'prohibited_content',
  'blocklist',
  'spii',
  'refusal',
];

/** Evaluation labels that mean a failed evaluation (semconv examples, Phoenix's built-in evaluators). */
export const DEFAULT_LOW_SCORE_LABELS = [
  'fail',
  'failed',
  'incorrect',
  'not_relevant',
  'irrelevant',
  'unrelated',
  'hallucinated',
  'toxic',
  'unsafe',
];

export const DEFAULT_NEGATIVE_FEEDBACK = ['thumbs_down', 'negative', 'dislike', 'bad'];

/** The evaluation name the feedback receiver (llm_feedback) gives user feedback: scored −1…1, not 0…1. */
export const DEFAULT_FEEDBACK_EVALUATIONS = ['user_feedback'];

/** llmobs's own validation outcome: `llmobs.validation.passed=false` keeps the trace. */
export const DEFAULT_VALIDATION = [{ key: 'llmobs.validation.passed', values: [false] }];

const ENABLED = { type: 'boolean', default: true } as const;
const STRINGS = { type: 'array', items: { type: 'string', minLength: 1 } } as const;
const SCALAR = { type: ['string', 'number', 'boolean'] } as const;

export const CONFIG_SCHEMA = {
  type: 'object',
  additionalProperties: false,
  properties: {
    decision_wait: { ...DURATION, default: '30s' },
    root_grace: { ...DURATION, default: '5s' },
    local_root: { type: 'boolean', default: false },
    max_traces: { type: 'integer', minimum: 1, maximum: 10_000_000, default: 50_000 },
    max_buffered_bytes: { ...SIZE, default: '64MiB' },
    decision_cache_size: { type: 'integer', minimum: 0, maximum: 10_000_000, default: 100_000 },
    policies: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: {
        errors: {
          type: 'object',
          additionalProperties: false,
          default: {},
          properties: { enabled: ENABLED },
        },
        guardrail: {
          type: 'object',
          additionalProperties: false,
          default: {},
          properties: {
            enabled: ENABLED,
            failure_values: { ...STRINGS, default: DEFAULT_GUARDRAIL_FAILURE_VALUES },
            finish_reasons: { ...STRINGS, default: DEFAULT_GUARDRAIL_FINISH_REASONS },
          },
        },
        validation: {
          type: 'object',
          additionalProperties: false,
          default: {},
          properties: {
            enabled: ENABLED,
            attributes: {
              type: 'array',
              maxItems: 256,
              items: {
                type: 'object',
                additionalProperties: false,
                required: ['key', 'values'],
                properties: {
                  key: { type: 'string', minLength: 1 },
                  values: { type: 'array', minItems: 1, items: SCALAR },
                },
              },
              default: DEFAULT_VALIDATION,
            },
          },
        },
        latency: {
          type: 'object',
          additionalProperties: false,
          default: {},
          properties: { enabled: ENABLED, threshold: { ...DURATION, default: '30s' } },
        },
        cost: {
          type: 'object',
          additionalProperties: false,
          default: {},
          properties: { enabled: ENABLED, threshold: { type: 'number', exclusiveMinimum: 0, default: 1 } },
        },
        low_score: {
          type: 'object',
          additionalProperties: false,
          default: {},
          properties: {
            enabled: ENABLED,
            score_below: { type: 'number', default: 0.5 },
            labels: { ...STRINGS, default: DEFAULT_LOW_SCORE_LABELS },
            evaluations: {
              type: 'array',
              maxItems: 256,
              items: {
                type: 'object',
                additionalProperties: false,
                required: ['name'],
                properties: {
                  name: { type: 'string', minLength: 1 },
                  score_below: { type: 'number' },
                  score_above: { type: 'number' },
                },
              },
            },
          },
        },
        feedback: {
          type: 'object',
          additionalProperties: false,
          default: {},
          properties: {
            enabled: ENABLED,
            score_below: { type: 'number', default: 0 },
            negative_values: { ...STRINGS, default: DEFAULT_NEGATIVE_FEEDBACK },
            evaluation_names: { ...STRINGS, default: DEFAULT_FEEDBACK_EVALUATIONS },
          },
        },
        probabilistic: {
          type: 'object',
          additionalProperties: false,
          default: {},
          properties: { sampling_percentage: { type: 'number', minimum: 0, maximum: 100, default: 10 } },
        },
      },
    },
  },
} as const;

type Block = Record<string, unknown>;

const lower = (xs: unknown): Set<string> => new Set(((xs ?? []) as string[]).map((s) => s.toLowerCase()));

/** How an attribute value is compared with a configured value: its canonical string. */
export function scalarText(v: string | number | boolean): string {
  return typeof v === 'string' ? v : String(v);
}

export function parseSamplingConfig(block: Block): SamplingConfig | FieldError[] {
  const errors: FieldError[] = [];
  const decisionWaitMs = durationField('decision_wait', String(block.decision_wait ?? '30s'), errors);
  const rootGraceMs = durationField('root_grace', String(block.root_grace ?? '5s'), errors);
  const maxBufferedBytes = sizeField(
    'max_buffered_bytes',
    (block.max_buffered_bytes as string | number | undefined) ?? '64MiB',
    errors,
  );
  if (errors.length === 0) {
    if (decisionWaitMs < 10)
      errors.push({
        path: 'decision_wait',
        message: 'must be at least 10ms (spans of a trace arrive apart)',
      });
    if (rootGraceMs > decisionWaitMs)
      errors.push({ path: 'root_grace', message: `must not exceed decision_wait (${block.decision_wait})` });
    if (maxBufferedBytes < 1024 * 1024)
      errors.push({ path: 'max_buffered_bytes', message: 'must be at least 1MiB' });
  }

  const p = (block.policies ?? {}) as Record<string, Block>;
  const on = (name: string) => p[name]?.enabled !== false;

  const validation = new Map<string, Set<string>>();
  (
    (p.validation?.attributes ?? DEFAULT_VALIDATION) as {
      key: string;
      values: (string | number | boolean)[];
    }[]
  ).forEach((a, i) => {
    if (validation.has(a.key))
      errors.push({ path: `policies.validation.attributes.${i}.key`, message: `duplicate key "${a.key}"` });
    validation.set(a.key, new Set(a.values.map(scalarText)));
  });

  const latency = p.latency ?? {};
  const thresholdMs = durationField('policies.latency.threshold', String(latency.threshold ?? '30s'), errors);
  if (thresholdMs <= 0 && errors.length === 0)
    errors.push({ path: 'policies.latency.threshold', message: 'must be greater than 0' });

  const low = p.low_score ?? {};
  const evaluations = new Map<string, ScoreRule>();
  ((low.evaluations ?? []) as { name: string; score_below?: number; score_above?: number }[]).forEach(
    (e, i) => {
      const path = `policies.low_score.evaluations.${i}`;
      if (evaluations.has(e.name))
        errors.push({ path: `${path}.name`, message: `duplicate evaluation "${e.name}"` });
      if ((e.score_below === undefined) === (e.score_above === undefined))
        errors.push({ path, message: 'set exactly one of score_below (lower is worse) or score_above' });
      evaluations.set(e.name, {
        ...(e.score_below !== undefined ? { below: e.score_below } : {}),
        ...(e.score_above !== undefined ? { above: e.score_above } : {}),
      });
    },
  );

  if (errors.length > 0) return errors;
  const guardrail = p.guardrail ?? {};
  const feedback = p.feedback ?? {};
  return {
    decisionWaitMs,
    rootGraceMs,
    localRoot: block.local_root === true,
    maxTraces: Number(block.max_traces ?? 50_000),
    maxBufferedBytes,
    decisionCacheSize: Number(block.decision_cache_size ?? 100_000),
    policies: {
      errors: { enabled: on('errors') },
      guardrail: {
        enabled: on('guardrail'),
        failureValues: lower(guardrail.failure_values ?? DEFAULT_GUARDRAIL_FAILURE_VALUES),
        finishReasons: lower(guardrail.finish_reasons ?? DEFAULT_GUARDRAIL_FINISH_REASONS),
      },
      validation: { enabled: on('validation') && validation.size > 0, attributes: validation },
      latency: { enabled: on('latency'), thresholdMs },
      cost: { enabled: on('cost'), threshold: Number(p.cost?.threshold ?? 1) },
      lowScore: {
        enabled: on('low_score'),
        score: { below: Number(low.score_below ?? 0.5) },
        labels: lower(low.labels ?? DEFAULT_LOW_SCORE_LABELS),
        evaluations,
      },
      feedback: {
        enabled: on('feedback'),
        scoreBelow: Number(feedback.score_below ?? 0),
        negativeValues: lower(feedback.negative_values ?? DEFAULT_NEGATIVE_FEEDBACK),
        evaluationNames: new Set((feedback.evaluation_names ?? DEFAULT_FEEDBACK_EVALUATIONS) as string[]),
      },
      probabilistic: {
        samplingPercentage: Number(p.probabilistic?.sampling_percentage ?? 10),
      },
    },
  };
}
