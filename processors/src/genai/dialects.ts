import { internValuesOf } from '../otlp/fast-decode.ts';

/**
 * Where each GenAI fact lives in each instrumentation dialect, best spelling first: OTel GenAI
 * (current, then deprecated), OpenLLMetry/Traceloop, OpenInference, OpenLIT, Vercel AI SDK.
 * Source: ../shared/reference/processor-anchors.md §2.1 (each row cites its repository).
 * The first spelling present on a span wins, so a span that carries both the current and a
 * deprecated name is read by the current one.
 */
export const FACT_KEYS = {
  responseModel: [
    'gen_ai.response.model',
    'llm.response.model_name',
    'llm.response.model',
    'ai.response.model',
  ],
  requestModel: [
    'gen_ai.request.model',
    'llm.request.model_name',
    'llm.model_name',
    'ai.model.id',
    'gen_ai.model',
  ],
  provider: ['gen_ai.provider.name', 'gen_ai.system', 'llm.provider', 'llm.system', 'ai.model.provider'],
  operation: [
    'gen_ai.operation.name',
    'llm.request.type',
    'openinference.span.kind',
    'traceloop.span.kind',
    'langfuse.observation.type',
    'ai.operationId',
  ],
  serviceTier: [
    'openai.response.service_tier',
    'gen_ai.openai.response.service_tier',
    'openai.request.service_tier',
    'gen_ai.openai.request.service_tier',
    'gen_ai.request.service_tier',
  ],
  /** Total input (prompt) tokens; in OTel semantics this includes cache reads and writes. */
  input: [
    'gen_ai.usage.input_tokens',
    'gen_ai.usage.prompt_tokens',
    'llm.token_count.prompt',
    'llm.usage.prompt_tokens',
    'ai.usage.inputTokens',
    'ai.usage.promptTokens',
  ],
  /** Total output (completion) tokens; in OTel semantics this includes reasoning. */
  output: [
    'gen_ai.usage.output_tokens',
    'gen_ai.usage.completion_tokens',
    'llm.token_count.completion',
    'llm.usage.completion_tokens',
    'ai.usage.outputTokens',
    'ai.usage.completionTokens',
  ],
  total: [
    'gen_ai.usage.total_tokens',
    'llm.usage.total_tokens',
    'llm.token_count.total',
    'ai.usage.totalTokens',
    'ai.usage.tokens',
  ],
  cacheRead: [
    'gen_ai.usage.cache_read.input_tokens',
    'gen_ai.usage.cache_read_input_tokens',
    'llm.token_count.prompt_details.cache_read',
    'gen_ai.usage.prompt_tokens_details.cached_tokens',
    'gen_ai.usage.input_tokens_details.cached',
    'gen_ai.usage.input_tokens_details.cached_tokens',
    'ai.usage.cachedInputTokens',
  ],
  /** All cache writes, whatever their lifetime. */
  cacheWrite: [
    'gen_ai.usage.cache_creation.input_tokens',
    'gen_ai.usage.cache_write.input_tokens',
    'gen_ai.usage.cache_creation_input_tokens',
    'llm.token_count.prompt_details.cache_write',
    'llm.token_count.prompt_details.cache_input',
    'gen_ai.usage.prompt_tokens_details.cache_creation_tokens',
  ],
  /**
   * Anthropic's split of cache writes by lifetime (`usage.cache_creation.ephemeral_{5m,1h}_input_tokens`),
   * under the semconv prefix. No instrumentation convention exists yet; these mirror the API's names.
   */
  cacheWrite5m: [
    'gen_ai.usage.cache_creation.ephemeral_5m_input_tokens',
    'gen_ai.usage.cache_write.5m.input_tokens',
  ],
  cacheWrite1h: [
    'gen_ai.usage.cache_creation.ephemeral_1h_input_tokens',
    'gen_ai.usage.cache_write.1h.input_tokens',
  ],
  reasoning: [
    'gen_ai.usage.reasoning.output_tokens',
    'gen_ai.usage.reasoning_tokens',
    'llm.token_count.completion_details.reasoning',
    'gen_ai.usage.completion_tokens_details.reasoning_tokens',
    'gen_ai.usage.output_tokens_details.reasoning_tokens',
    'ai.usage.reasoningTokens',
  ],
  audioInput: [
    'gen_ai.usage.audio.input_tokens',
    'llm.token_count.prompt_details.audio',
    'gen_ai.usage.prompt_tokens_details.audio_tokens',
    'gen_ai.usage.input_tokens_details.audio_tokens',
  ],
  audioOutput: [
    'gen_ai.usage.audio.output_tokens',
    'llm.token_count.completion_details.audio',
    'gen_ai.usage.completion_tokens_details.audio_tokens',
    'gen_ai.usage.output_tokens_details.audio_tokens',
  ],
  imageInput: ['gen_ai.usage.image.input_tokens', 'gen_ai.usage.input_tokens_details.image_tokens'],
  /** Seconds from request to first streamed chunk. */
  timeToFirstChunk: [
    'gen_ai.response.time_to_first_chunk',
    'gen_ai.server.time_to_first_token',
    'gen_ai.response.time_to_first_token',
    'llm.response.time_to_first_token',
  ],
  errorType: ['error.type'],
  /** Written by llm_cost (or an instrumentation that prices calls itself). */
  costAmount: ['gen_ai.usage.cost.amount'],
  costCurrency: ['gen_ai.usage.cost.currency'],
  serverAddress: ['server.address'],
  serverPort: ['server.port'],
} as const satisfies Record<string, readonly string[]>;

export type Fact = keyof typeof FACT_KEYS;

// Provider, model and operation names come from a small set and key llm_metrics' groups and the price
// index: decoded as shared strings, their lookups hash nothing new on each span.
internValuesOf([
  ...FACT_KEYS.provider,
  ...FACT_KEYS.requestModel,
  ...FACT_KEYS.responseModel,
  ...FACT_KEYS.operation,
  ...FACT_KEYS.errorType,
]);

/** key → (fact, rank) for a single pass over a span's attributes. */
export const KEY_INDEX: ReadonlyMap<string, { readonly fact: Fact; readonly rank: number }> = (() => {
  const m = new Map<string, { fact: Fact; rank: number }>();
  for (const [fact, keys] of Object.entries(FACT_KEYS) as [Fact, readonly string[]][]) {
    keys.forEach((key, rank) => {
      m.set(key, { fact, rank });
    });
  }
  return m;
})();

/**
 * Provider spellings seen in the wild → the semconv `gen_ai.provider.name` value. Keys are lower case.
 * OpenInference writes hosts (`azure`, `aws`, `google`) and products (`vertexai`, `mistralai`); Vercel
 * writes `openai.chat`, `anthropic.messages`, `google.generative-ai`, `amazon-bedrock`.
 */
export const PROVIDER_ALIASES: ReadonlyMap<string, string> = new Map([
  ['openai', 'openai'],
  ['anthropic', 'anthropic'],
  ['gcp.gemini', 'gcp.gemini'],
  ['gemini', 'gcp.gemini'],
  ['google', 'gcp.gemini'],
  ['google.generative-ai', 'gcp.gemini'],
  ['google_genai', 'gcp.gemini'],
  ['gcp.gen_ai', 'gcp.gen_ai'],
  ['gcp.vertex_ai', 'gcp.vertex_ai'],
  ['vertex_ai', 'gcp.vertex_ai'],
  ['vertexai', 'gcp.vertex_ai'],
  ['google.vertex', 'gcp.vertex_ai'],
  ['aws.bedrock', 'aws.bedrock'],
  ['bedrock', 'aws.bedrock'],
  ['aws', 'aws.bedrock'],
  ['amazon-bedrock', 'aws.bedrock'],
  ['azure.ai.openai', 'azure.ai.openai'],
  ['azure', 'azure.ai.openai'],
  ['azure_openai', 'azure.ai.openai'],
  ['az.ai.openai', 'azure.ai.openai'],
  ['azure.ai.inference', 'azure.ai.inference'],
  ['az.ai.inference', 'azure.ai.inference'],
  ['mistral_ai', 'mistral_ai'],
  ['mistralai', 'mistral_ai'],
  ['mistral', 'mistral_ai'],
  ['cohere', 'cohere'],
  ['x_ai', 'x_ai'],
  ['xai', 'x_ai'],
  ['deepseek', 'deepseek'],
  ['groq', 'groq'],
  ['perplexity', 'perplexity'],
  ['together_ai', 'together_ai'],
  ['together', 'together_ai'],
  ['ibm.watsonx.ai', 'ibm.watsonx.ai'],
  ['moonshot_ai', 'moonshot_ai'],
]);

export function normaliseProvider(raw: string | undefined): string | undefined {
  if (!raw) return undefined;
  const lower = raw.toLowerCase();
  const direct = PROVIDER_ALIASES.get(lower);
  if (direct) return direct;
  // Vercel's `openai.chat`, `anthropic.messages`, `azure-openai.chat`: the part before the first dot.
  const head = lower.split('.')[0] ?? lower;
  return PROVIDER_ALIASES.get(head) ?? PROVIDER_ALIASES.get(head.replace(/-/g, '_')) ?? lower;
}
