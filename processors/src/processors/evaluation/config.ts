import type { FieldError, PipelineRef } from '../../component/factory.ts';
import { DURATION, durationField } from '../../config/schema-helpers.ts';
import { PriceIndex } from '../../pricing/index.ts';
import { shippedCatalogue } from '../../pricing/load.ts';
import type { JudgeSettings, Rubric } from './judge.ts';

/** The compiled configuration of one `llm_evaluation` processor. */
export interface EvaluationConfig {
  readonly judge: JudgeSettings;
  readonly rubrics: readonly Rubric[];
  /** Share of model calls judged, 0–100, decided by trace id (all calls of a sampled trace). */
  readonly samplingPercentage: number;
  /** Judge these whatever the sampling: failed calls, and calls carrying any of these attributes. */
  readonly always: {
    readonly errors: boolean;
    readonly attributes: readonly { key: string; value?: string }[];
  };
  readonly maxRequestsPerMinute: number;
  readonly maxCostPerHour: number;
  /** Prices the judge's own calls (USD per million tokens), to count and cap them. */
  readonly judgePrices: PriceIndex;
  readonly queueSize: number;
  readonly maxConcurrency: number;
  readonly maxContentChars: number;
  readonly metricsPipelines: readonly string[];
  readonly flushIntervalMs: number;
}

export const CONFIG_SCHEMA = {
  type: 'object',
  additionalProperties: false,
  required: ['judge', 'rubrics'],
  properties: {
    judge: {
      type: 'object',
      additionalProperties: false,
      required: ['endpoint', 'model'],
      properties: {
        endpoint: { type: 'string', pattern: '^https?://' },
        model: { type: 'string', minLength: 1 },
        api_key: { type: 'string' },
        headers: { type: 'object', additionalProperties: { type: 'string' } },
        timeout: { ...DURATION, default: '20s' },
        max_concurrency: { type: 'integer', minimum: 1, maximum: 64, default: 4 },
        price: {
          type: 'object',
          additionalProperties: false,
          required: ['input', 'output'],
          properties: { input: { type: 'number', minimum: 0 }, output: { type: 'number', minimum: 0 } },
        },
      },
    },
    rubrics: {
      type: 'array',
      minItems: 1,
      maxItems: 16,
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['name', 'question'],
        properties: {
          name: { type: 'string', pattern: '^[a-z][a-z0-9_]{0,62}$' },
          question: { type: 'string', minLength: 1, maxLength: 2000 },
          needs_documents: { type: 'boolean', default: false },
        },
      },
    },
    sampling_percentage: { type: 'number', minimum: 0, maximum: 100, default: 5 },
    always_judge: {
      type: 'object',
      additionalProperties: false,
      properties: {
        errors: { type: 'boolean', default: true },
        attributes: {
          type: 'array',
          items: {
            type: 'object',
            additionalProperties: false,
            required: ['key'],
            properties: { key: { type: 'string', minLength: 1 }, value: { type: 'string' } },
          },
        },
      },
      default: {},
    },
    budget: {
      type: 'object',
      additionalProperties: false,
      properties: {
        max_requests_per_minute: { type: 'integer', minimum: 1, default: 60 },
        max_cost_per_hour: { type: 'number', exclusiveMinimum: 0 },
      },
      default: {},
    },
    queue_size: { type: 'integer', minimum: 1, maximum: 100_000, default: 1000 },
    max_content_chars: { type: 'integer', minimum: 256, maximum: 1_000_000, default: 16_000 },
    flush_interval: { ...DURATION, default: '15s' },
    metrics_pipelines: {
      type: 'array',
      uniqueItems: true,
      items: { type: 'string', pattern: '^metrics(/[^\\s/]+)?$' },
    },
  },
} as const;

interface Block {
  judge: {
    endpoint: string;
    model: string;
    api_key?: string;
    headers?: Record<string, string>;
    timeout?: string;
    max_concurrency?: number;
    price?: { input: number; output: number };
  };
  rubrics: { name: string; question: string; needs_documents?: boolean }[];
  sampling_percentage?: number;
  always_judge?: { errors?: boolean; attributes?: { key: string; value?: string }[] };
  budget?: { max_requests_per_minute?: number; max_cost_per_hour?: number };
  queue_size?: number;
  max_content_chars?: number;
  metrics_pipelines?: string[];
  flush_interval?: string;
}

export function parseEvaluationConfig(raw: Record<string, unknown>): EvaluationConfig | FieldError[] {
  const b = raw as unknown as Block;
  const errors: FieldError[] = [];
  const timeoutMs = durationField('judge.timeout', b.judge.timeout ?? '20s', errors);
  const flushIntervalMs = durationField('flush_interval', b.flush_interval ?? '15s', errors);
  if (flushIntervalMs > 0 && flushIntervalMs < 100)
    errors.push({ path: 'flush_interval', message: 'must be at least 100ms' });
  const seen = new Set<string>();
  b.rubrics.forEach((r, i) => {
    if (seen.has(r.name)) errors.push({ path: `rubrics.${i}.name`, message: `duplicate rubric "${r.name}"` });
    seen.add(r.name);
  });
  // The judge's calls are priced like any other: a configured price wins over the catalogue.
  const judgePrices = new PriceIndex([
    b.judge.price
      ? [
          {
            provider: '*',
            model: b.judge.model.toLowerCase(),
            source: 'config',
            read: '',
            prices: [b.judge.price],
          },
        ]
      : [],
    shippedCatalogue().models,
  ]);
  const maxCostPerHour = b.budget?.max_cost_per_hour ?? Number.POSITIVE_INFINITY;
  if (Number.isFinite(maxCostPerHour) && !judgePrices.lookup(undefined, b.judge.model)) {
    errors.push({
      path: 'judge.price',
      message: `judge model "${b.judge.model}" has no price in the catalogue; set judge.price (USD per million tokens) so budget.max_cost_per_hour can hold`,
    });
  }
  if (errors.length > 0) return errors;
  return {
    judge: {
      endpoint: b.judge.endpoint,
      model: b.judge.model,
      headers: {
        ...(b.judge.api_key ? { authorization: `Bearer ${b.judge.api_key}` } : {}),
        ...b.judge.headers,
      },
      timeoutMs,
    },
    rubrics: b.rubrics.map((r) => ({
      name: r.name,
      question: r.question,
      needsDocuments: r.needs_documents ?? false,
    })),
    samplingPercentage: b.sampling_percentage ?? 5,
    always: { errors: b.always_judge?.errors ?? true, attributes: b.always_judge?.attributes ?? [] },
    maxRequestsPerMinute: b.budget?.max_requests_per_minute ?? 60,
    maxCostPerHour,
    judgePrices,
    queueSize: b.queue_size ?? 1000,
    maxConcurrency: b.judge.max_concurrency ?? 4,
    maxContentChars: b.max_content_chars ?? 16_000,
    metricsPipelines: b.metrics_pipelines ?? [],
    flushIntervalMs,
  };
}

export function pipelineRefs(cfg: EvaluationConfig): PipelineRef[] {
  return cfg.metricsPipelines.map((pipeline, i) => ({
    path: `metrics_pipelines.${i}`,
    pipeline,
    signal: 'metrics',
  }));
}
