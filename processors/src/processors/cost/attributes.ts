/** The attributes an llm_cost processor writes. */
export const COST = {
  amount: 'gen_ai.usage.cost.amount',
  currency: 'gen_ai.usage.cost.currency',
  source: 'gen_ai.usage.cost.source',
  status: 'gen_ai.usage.cost.status',
  model: 'gen_ai.usage.cost.model',
  resolution: 'gen_ai.usage.cost.resolution',
  contextTier: 'gen_ai.usage.cost.context_tier',
  serviceTier: 'gen_ai.usage.cost.service_tier',
  unpriced: 'gen_ai.usage.cost.unpriced_buckets',
  /** Per-bucket amounts: gen_ai.usage.cost.<bucket> (input, cache_read, reasoning, ...). */
  bucketPrefix: 'gen_ai.usage.cost.',
} as const;

/** Cost written where other readers look for it (all in USD): OpenLIT and Langfuse, OpenInference/Phoenix. */
export const READER_ALIASES = {
  openlit: 'gen_ai.usage.cost',
  total: 'llm.cost.total',
  prompt: 'llm.cost.prompt',
  completion: 'llm.cost.completion',
  promptInput: 'llm.cost.prompt_details.input',
  promptCacheRead: 'llm.cost.prompt_details.cache_read',
  promptCacheWrite: 'llm.cost.prompt_details.cache_write',
  promptAudio: 'llm.cost.prompt_details.audio',
  completionOutput: 'llm.cost.completion_details.output',
  completionReasoning: 'llm.cost.completion_details.reasoning',
  completionAudio: 'llm.cost.completion_details.audio',
} as const;

/** OpenInference token details Datadog maps to cache_read/cache_write/reasoning (it reads no gen_ai cache names). */
export const TOKEN_ALIASES = {
  cacheRead: 'llm.token_count.prompt_details.cache_read',
  cacheWrite: 'llm.token_count.prompt_details.cache_write',
  reasoning: 'llm.token_count.completion_details.reasoning',
} as const;

/** Trace-level roll-up, on the root span. */
export const TRACE = {
  amount: 'llmobs.trace.cost.amount',
  currency: 'llmobs.trace.cost.currency',
  calls: 'llmobs.trace.llm_calls',
  unpricedCalls: 'llmobs.trace.llm_calls_unpriced',
  inputTokens: 'llmobs.trace.usage.input_tokens',
  outputTokens: 'llmobs.trace.usage.output_tokens',
} as const;

/** Outcomes, on the span and as the status label of llmobs_cost_spans_total. */
export type CostStatus = 'ok' | 'partial' | 'unknown_model' | 'no_usage' | 'reported';
