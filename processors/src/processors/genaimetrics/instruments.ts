/** An instrument the llm_metrics processor derives from spans. */
export interface Instrument {
  readonly name: string;
  readonly description: string;
  readonly unit: string;
  readonly kind: 'histogram' | 'counter' | 'ratio';
  /** Histogram bucket upper bounds (explicit). */
  readonly bounds?: readonly number[];
}

/** gen_ai semconv advice: powers of 4 from 1 to 4^13 tokens. */
const TOKEN_BOUNDS = Array.from({ length: 14 }, (_, i) => 4 ** i);
/** gen_ai semconv advice: 0.01 s doubling to 81.92 s. */
const DURATION_BOUNDS = Array.from({ length: 14 }, (_, i) => Math.round(0.01 * 2 ** i * 100) / 100);

export const TOKEN_USAGE: Instrument = {
  name: 'gen_ai.client.token.usage',
  description: 'Number of input and output tokens used.',
  unit: '{token}',
  kind: 'histogram',
  bounds: TOKEN_BOUNDS,
};

export const OPERATION_DURATION: Instrument = {
  name: 'gen_ai.client.operation.duration',
  description: 'GenAI operation duration.',
  unit: 's',
  kind: 'histogram',
  bounds: DURATION_BOUNDS,
};

export const TIME_TO_FIRST_CHUNK: Instrument = {
  name: 'gen_ai.client.operation.time_to_first_chunk',
  description: 'Time from the request to the first chunk of a streamed response.',
  unit: 's',
  kind: 'histogram',
  bounds: DURATION_BOUNDS,
};

/** RED by pipeline stage (llm, embedding, retrieval, rerank, tool, agent, workflow). */
export const CALLS: Instrument = {
  name: 'llmobs.calls',
  description:
    'GenAI operations (LLM calls, retrievals, tool calls, ...), by stage; error.type is set on failures.',
  unit: '{call}',
  kind: 'counter',
};

export const DURATION: Instrument = {
  name: 'llmobs.duration',
  description: 'Duration of GenAI operations, by stage.',
  unit: 's',
  kind: 'histogram',
  bounds: DURATION_BOUNDS,
};

export const TOKENS: Instrument = {
  name: 'llmobs.tokens',
  description:
    'Tokens by disjoint bucket (gen_ai.token.type: input, output, cache_read, cache_write, reasoning, audio_input, audio_output, image_input).',
  unit: '{token}',
  kind: 'counter',
};

export const COST: Instrument = {
  name: 'llmobs.cost',
  description: 'Cost of LLM calls as priced by llm_cost, in gen_ai.usage.cost.currency.',
  unit: '{currency}',
  kind: 'counter',
};

export const CACHE_HIT_RATIO: Instrument = {
  name: 'llmobs.cache.hit_ratio',
  description: 'Share of input tokens read from the prompt cache, since the series started.',
  unit: '1',
  kind: 'ratio',
};

export const ALL_INSTRUMENTS: readonly Instrument[] = [
  TOKEN_USAGE,
  OPERATION_DURATION,
  TIME_TO_FIRST_CHUNK,
  CALLS,
  DURATION,
  TOKENS,
  COST,
  CACHE_HIT_RATIO,
];
