import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ModelEntry } from './catalogue.ts';
import { importLiteLLM, normaliseBedrockId, parseLiteLLMPriceKey } from './import-litellm.ts';
import { validateCatalogue } from './load.ts';

// Entries copied in shape and value from LiteLLM's model_prices_and_context_window.json (RoCry/llm-api-price
// mirror @0082afa), trimmed to their price keys plus a few of the non-price keys the importer ignores.
const FIXTURE = {
  sample_spec: {
    input_cost_per_token: 0.0,
    litellm_provider: 'one of https://docs.litellm.ai/docs/providers',
  },
  'gpt-4o': {
    cache_read_input_token_cost: 1.25e-6,
    cache_read_input_token_cost_priority: 2.125e-6,
    input_cost_per_token: 2.5e-6,
    input_cost_per_token_batches: 1.25e-6,
    input_cost_per_token_priority: 4.25e-6,
    litellm_provider: 'openai',
    max_input_tokens: 128000,
    mode: 'chat',
    output_cost_per_token: 1e-5,
    output_cost_per_token_batches: 5e-6,
    output_cost_per_token_priority: 1.7e-5,
    supports_prompt_caching: true,
  },
  'gpt-4o-2024-05-13': {
    input_cost_per_token: 5e-6,
    input_cost_per_token_batches: 2.5e-6,
    input_cost_per_token_priority: 8.75e-6,
    litellm_provider: 'openai',
    mode: 'chat',
    output_cost_per_token: 1.5e-5,
    output_cost_per_token_batches: 7.5e-6,
    output_cost_per_token_priority: 2.625e-5,
  },
  'gpt-4o-2024-08-06': {
    cache_read_input_token_cost: 1.25e-6,
    input_cost_per_token: 2.5e-6,
    input_cost_per_token_batches: 1.25e-6,
    litellm_provider: 'openai',
    mode: 'chat',
    output_cost_per_token: 1e-5,
    output_cost_per_token_batches: 5e-6,
  },
  'gpt-5.4': {
    cache_read_input_token_cost: 2.5e-7,
    cache_read_input_token_cost_above_272k_tokens: 5e-7,
    cache_read_input_token_cost_flex: 1.3e-7,
    input_cost_per_token: 2.5e-6,
    input_cost_per_token_above_272k_tokens: 5e-6,
    input_cost_per_token_flex: 1.25e-6,
    litellm_provider: 'openai',
    mode: 'chat',
    output_cost_per_token: 1.5e-5,
    output_cost_per_token_above_272k_tokens: 2.25e-5,
    output_cost_per_token_flex: 7.5e-6,
    regional_processing_uplift_multiplier_eu: 1.1,
  },
  'claude-sonnet-4-20250514': {
    cache_creation_input_token_cost: 3.75e-6,
    cache_creation_input_token_cost_above_1hr: 6e-6,
    cache_read_input_token_cost: 3e-7,
    input_cost_per_token: 3e-6,
    input_cost_per_token_above_200k_tokens: 6e-6,
    output_cost_per_token_above_200k_tokens: 2.25e-5,
    cache_creation_input_token_cost_above_200k_tokens: 7.5e-6,
    cache_read_input_token_cost_above_200k_tokens: 6e-7,
    litellm_provider: 'anthropic',
    mode: 'chat',
    output_cost_per_token: 1.5e-5,
    search_context_cost_per_query: { search_context_size_high: 0.01 },
  },
  'anthropic.claude-sonnet-4-5-20250929-v1:0': {
    cache_creation_input_token_cost: 3.75e-6,
    cache_creation_input_token_cost_above_1hr: 6e-6,
    cache_read_input_token_cost: 3e-7,
    input_cost_per_token: 3e-6,
    input_cost_per_token_above_200k_tokens: 6e-6,
    output_cost_per_token_above_200k_tokens: 2.25e-5,
    cache_creation_input_token_cost_above_200k_tokens: 7.5e-6,
    cache_creation_input_token_cost_above_1hr_above_200k_tokens: 1.2e-5,
    cache_read_input_token_cost_above_200k_tokens: 6e-7,
    litellm_provider: 'bedrock_converse',
    mode: 'chat',
    output_cost_per_token: 1.5e-5,
  },
  'us.anthropic.claude-sonnet-4-5-20250929-v1:0': {
    cache_read_input_token_cost: 3.3e-7,
    input_cost_per_token: 3.3e-6,
    litellm_provider: 'bedrock_converse',
    mode: 'chat',
    output_cost_per_token: 1.65e-5,
  },
  'us.amazon.nova-premier-v1:0': {
    input_cost_per_token: 2.5e-6,
    litellm_provider: 'bedrock_converse',
    mode: 'chat',
    output_cost_per_token: 1.25e-5,
  },
  'bedrock/us-gov-west-1/anthropic.claude-3-haiku-20240307-v1:0': {
    input_cost_per_token: 3e-7,
    litellm_provider: 'bedrock',
    mode: 'chat',
    output_cost_per_token: 1.5e-6,
  },
  'azure/gpt-4o-mini': {
    cache_read_input_token_cost: 7.5e-8,
    input_cost_per_token: 1.65e-7,
    litellm_provider: 'azure',
    mode: 'chat',
    output_cost_per_token: 6.6e-7,
  },
  'azure/eu/gpt-4o-2024-08-06': {
    cache_read_input_token_cost: 1.375e-6,
    input_cost_per_token: 2.75e-6,
    litellm_provider: 'azure',
    mode: 'chat',
    output_cost_per_token: 1.1e-5,
  },
  'gemini/gemini-2.5-pro': {
    cache_read_input_token_cost: 1.25e-7,
    cache_read_input_token_cost_above_200k_tokens: 2.5e-7,
    input_cost_per_token: 1.25e-6,
    input_cost_per_token_above_200k_tokens: 2.5e-6,
    input_cost_per_token_priority: 1.25e-6,
    input_cost_per_token_above_200k_tokens_priority: 2.5e-6,
    litellm_provider: 'gemini',
    mode: 'chat',
    output_cost_per_token: 1e-5,
    output_cost_per_token_above_200k_tokens: 1.5e-5,
  },
  'gemini-2.5-pro': {
    cache_read_input_token_cost: 1.25e-7,
    cache_creation_input_token_cost_above_200k_tokens: 2.5e-7,
    input_cost_per_token: 1.25e-6,
    input_cost_per_token_above_200k_tokens: 2.5e-6,
    litellm_provider: 'vertex_ai-language-models',
    mode: 'chat',
    output_cost_per_token: 1e-5,
    output_cost_per_token_above_200k_tokens: 1.5e-5,
  },
  'gemini/gemini-3.5-flash': {
    cache_read_input_token_cost: 1.5e-7,
    input_cost_per_audio_token: 1e-6,
    input_cost_per_token: 1.5e-6,
    litellm_provider: 'gemini',
    mode: 'chat',
    output_cost_per_reasoning_token: 9e-6,
    output_cost_per_token: 9e-6,
  },
  'gpt-4o-audio-preview': {
    input_cost_per_audio_token: 4e-5,
    input_cost_per_token: 2.5e-6,
    litellm_provider: 'openai',
    mode: 'chat',
    output_cost_per_audio_token: 8e-5,
    output_cost_per_token: 1e-5,
  },
  'xai/grok-4-1-fast': {
    cache_read_input_token_cost: 5e-8,
    input_cost_per_token: 2e-7,
    input_cost_per_token_above_128k_tokens: 4e-7,
    litellm_provider: 'xai',
    mode: 'chat',
    output_cost_per_token: 5e-7,
    output_cost_per_token_above_128k_tokens: 1e-6,
  },
  'groq/meta-llama/llama-4-scout-17b-16e-instruct': {
    input_cost_per_token: 1.1e-7,
    litellm_provider: 'groq',
    mode: 'chat',
    output_cost_per_token: 3.4e-7,
  },
  'mistral/mistral-large-latest': {
    input_cost_per_token: 5e-7,
    litellm_provider: 'mistral',
    mode: 'chat',
    output_cost_per_token: 1.5e-6,
  },
  'mistral/mistral-large-2512': {
    input_cost_per_token: 5e-7,
    litellm_provider: 'mistral',
    mode: 'chat',
    output_cost_per_token: 1.5e-6,
  },
  'command-r-plus': {
    input_cost_per_token: 2.5e-6,
    litellm_provider: 'cohere_chat',
    mode: 'chat',
    output_cost_per_token: 1e-5,
  },
  'gemini-2.0-flash-lite': {
    cache_read_input_token_cost: 1.875e-8,
    input_cost_per_token: 7.5e-8,
    litellm_provider: 'gemini',
    mode: 'chat',
    output_cost_per_token: 3e-7,
  },
  'databricks/databricks-meta-llama-3-1-8b-instruct': {
    input_cost_per_token: 1.5000999999999998e-7,
    litellm_provider: 'databricks',
    mode: 'chat',
    output_cost_per_token: 4.5003000000000007e-7,
  },
  'dashscope/qwen-flash': {
    litellm_provider: 'dashscope',
    mode: 'chat',
    tiered_pricing: [
      { input_cost_per_token: 5e-8, output_cost_per_token: 4e-7, range: [0, 256000.0] },
      { input_cost_per_token: 2.5e-7, output_cost_per_token: 2e-6, range: [256000.0, 1000000.0] },
    ],
  },
  '1024-x-1024/dall-e-2': {
    input_cost_per_pixel: 1.9e-8,
    litellm_provider: 'openai',
    mode: 'image_generation',
    output_cost_per_pixel: 0.0,
  },
  'whisper-1': {
    input_cost_per_second: 0.0001,
    litellm_provider: 'openai',
    mode: 'audio_transcription',
    output_cost_per_second: 0.0001,
  },
  'cohere.rerank-v3-5:0': {
    input_cost_per_query: 0.002,
    input_cost_per_token: 0.0,
    litellm_provider: 'bedrock',
    mode: 'rerank',
    output_cost_per_token: 0.0,
  },
  'anthropic.claude-mythos-preview': {
    input_cost_per_token: 0,
    output_cost_per_token: 0,
    litellm_provider: 'bedrock',
    mode: 'chat',
  },
  'bedrock/us-west-2/1-month-commitment/anthropic.claude-v1': {
    input_cost_per_second: 0.0175,
    litellm_provider: 'bedrock',
    mode: 'chat',
    output_cost_per_second: 0.0175,
  },
};

const OPTIONS = { source: 'https://github.com/RoCry/llm-api-price/blob/0082afa/x.json', read: '2026-11-23' };
const result = importLiteLLM(FIXTURE, OPTIONS);

function entry(provider: string, model: string): ModelEntry {
  const e = result.models.find((m) => m.provider === provider && m.model === model);
  assert.ok(
    e,
    `no ${provider} ${model}; have ${result.models.map((m) => `${m.provider}/${m.model}`).join(', ')}`,
  );
  return e;
}

function skipReason(id: string): string | undefined {
  return result.skipped.find((s) => s.id === id)?.reason;
}

test('per-token prices become per-MTok prices without float noise, source and read date on every entry', () => {
  const gpt4o = entry('openai', 'gpt-4o');
  assert.deepEqual(gpt4o.prices, [
    {
      input: 2.5,
      output: 10,
      cache_read: 1.25,
      service_tiers: {
        batch: { input: 1.25, output: 5 },
        priority: { input: 4.25, output: 17, cache_read: 2.125 },
      },
    },
  ]);
  assert.equal(gpt4o.source, OPTIONS.source);
  assert.equal(gpt4o.read, '2026-11-23');
  assert.deepEqual(entry('gcp.gemini', 'gemini-2.0-flash-lite').prices[0], {
    input: 0.075,
    output: 0.3,
    cache_read: 0.01875,
  });
  assert.deepEqual(entry('databricks', 'databricks-meta-llama-3-1-8b-instruct').prices[0], {
    input: 0.15001,
    output: 0.45003,
  });
  assert.deepEqual(validateCatalogue({ currency: 'USD', models: result.models }), []);
});

test('a dated snapshot priced like its alias becomes an alias; one priced differently stays separate', () => {
  assert.deepEqual(entry('openai', 'gpt-4o').aliases, ['gpt-4o-2024-08-06']);
  assert.deepEqual(entry('openai', 'gpt-4o-2024-05-13').prices[0], {
    input: 5,
    output: 15,
    service_tiers: { batch: { input: 2.5, output: 7.5 }, priority: { input: 8.75, output: 26.25 } },
  });
  assert.deepEqual(entry('mistral_ai', 'mistral-large-latest').aliases, ['mistral-large-2512']);
  assert.ok(
    result.notes.includes(
      'openai gpt-4o-2024-08-06: folded into gpt-4o, whose service tier prices it now shares',
    ),
  );
  const separate = importLiteLLM(FIXTURE, { ...OPTIONS, collapseAliases: false });
  assert.ok(separate.models.some((m) => m.model === 'gpt-4o-2024-08-06'));
});

test('above-N-k keys become cliff context tiers, the 1 h cache write its own bucket', () => {
  assert.deepEqual(entry('anthropic', 'claude-sonnet-4-20250514').prices[0], {
    input: 3,
    output: 15,
    cache_read: 0.3,
    cache_write_5m: 3.75,
    cache_write_1h: 6,
    context_tiers: [{ above: 200000, input: 6, output: 22.5, cache_read: 0.6, cache_write_5m: 7.5 }],
  });
  assert.deepEqual(entry('x_ai', 'grok-4-1-fast').prices[0]?.context_tiers, [
    { above: 128000, input: 0.4, output: 1 },
  ]);
  assert.deepEqual(entry('openai', 'gpt-5.4').prices[0], {
    input: 2.5,
    output: 15,
    cache_read: 0.25,
    context_tiers: [{ above: 272000, input: 5, output: 22.5, cache_read: 0.5 }],
    service_tiers: { flex: { input: 1.25, output: 7.5, cache_read: 0.13 } },
  });
  assert.deepEqual(entry('dashscope', 'qwen-flash').prices[0], {
    input: 0.05,
    output: 0.4,
    context_tiers: [{ above: 256000, input: 0.25, output: 2 }],
  });
});

test('reasoning and audio tokens get their own buckets', () => {
  assert.deepEqual(entry('gcp.gemini', 'gemini-3.5-flash').prices[0], {
    input: 1.5,
    output: 9,
    cache_read: 0.15,
    reasoning: 9,
    audio_input: 1,
  });
  assert.deepEqual(entry('openai', 'gpt-4o-audio-preview').prices[0], {
    input: 2.5,
    output: 10,
    audio_input: 40,
    audio_output: 80,
  });
});

test('LiteLLM providers and key prefixes map to gen_ai.provider.name and bare model ids', () => {
  entry('azure.ai.openai', 'gpt-4o-mini');
  entry('gcp.gemini', 'gemini-2.5-pro');
  entry('gcp.vertex_ai', 'gemini-2.5-pro');
  entry('x_ai', 'grok-4-1-fast');
  entry('mistral_ai', 'mistral-large-latest');
  entry('cohere', 'command-r-plus');
  entry('groq', 'meta-llama/llama-4-scout-17b-16e-instruct');
});

test('Bedrock ids lose the version suffix and keep the full id as an alias; cross-region profiles are skipped', () => {
  const sonnet = entry('aws.bedrock', 'anthropic.claude-sonnet-4-5-20250929');
  assert.deepEqual(sonnet.aliases, ['anthropic.claude-sonnet-4-5-20250929-v1:0']);
  assert.deepEqual(sonnet.prices[0]?.context_tiers, [
    { above: 200000, input: 6, output: 22.5, cache_read: 0.6, cache_write_5m: 7.5, cache_write_1h: 12 },
  ]);
  assert.match(
    skipReason('us.anthropic.claude-sonnet-4-5-20250929-v1:0') ?? '',
    /^cross-region inference profile of anthropic\.claude-sonnet-4-5-20250929-v1:0/,
  );
  assert.deepEqual(entry('aws.bedrock', 'amazon.nova-premier').aliases, ['amazon.nova-premier-v1:0']);
  assert.ok(
    result.notes.some((n) => n.startsWith('us.amazon.nova-premier-v1:0: imported as amazon.nova-premier')),
  );
  assert.equal(
    normaliseBedrockId('anthropic.claude-3-5-sonnet-20241022-v2:0'),
    'anthropic.claude-3-5-sonnet-20241022',
  );
  assert.equal(normaliseBedrockId('anthropic.claude-opus-4-6-v1'), 'anthropic.claude-opus-4-6');
  assert.equal(normaliseBedrockId('anthropic.claude-opus-4-7'), 'anthropic.claude-opus-4-7');
});

test('entries that are not priced per token, regional, or all zero are skipped with the reason', () => {
  assert.equal(skipReason('sample_spec'), 'the format specification, not a model');
  assert.match(skipReason('1024-x-1024/dall-e-2') ?? '', /^mode image_generation: /);
  assert.equal(
    skipReason('whisper-1'),
    'no per-token price (has input_cost_per_second, output_cost_per_second)',
  );
  assert.match(skipReason('cohere.rerank-v3-5:0') ?? '', /^mode rerank: rerank is priced per query/);
  assert.equal(
    skipReason('anthropic.claude-mythos-preview'),
    'all token prices are 0 (free, or unknown in the source)',
  );
  assert.match(skipReason('azure/eu/gpt-4o-2024-08-06') ?? '', /^regional price \(eu\)/);
  assert.match(
    skipReason('bedrock/us-gov-west-1/anthropic.claude-3-haiku-20240307-v1:0') ?? '',
    /^regional price/,
  );
  assert.match(
    skipReason('bedrock/us-west-2/1-month-commitment/anthropic.claude-v1') ?? '',
    /^regional price/,
  );
  assert.equal(
    result.models.length + result.skipped.length,
    Object.keys(FIXTURE).length - 2,
    '2 folded into aliases',
  );
});

test('prices the catalogue cannot represent are dropped and reported, never misfiled', () => {
  const gemini = entry('gcp.gemini', 'gemini-2.5-pro').prices[0];
  assert.equal(gemini?.service_tiers, undefined, 'priority prices equal to standard ones say nothing');
  assert.ok(
    result.notes.some((n) =>
      n.startsWith(
        'dropped input_cost_per_token_above_200k_tokens_priority on 1 model(s) (a service tier inside',
      ),
    ),
  );
  const vertex = entry('gcp.vertex_ai', 'gemini-2.5-pro').prices[0];
  assert.deepEqual(vertex?.context_tiers, [{ above: 200000, input: 2.5, output: 15 }]);
  assert.ok(
    result.notes.some((n) => n.startsWith('dropped context tier cache_write_5m above 200000 on 1 model(s)')),
  );
  assert.ok(
    result.notes.some((n) => n.startsWith('dropped regional_processing_uplift_multiplier_eu on 1 model(s)')),
  );
  assert.ok(result.notes.some((n) => n.startsWith('dropped search_context_cost_per_query on 1 model(s)')));
});

test('price keys parse into bucket, context tier and service tier', () => {
  assert.deepEqual(parseLiteLLMPriceKey('cache_creation_input_token_cost_above_1hr_above_200k_tokens'), {
    bucket: 'cache_write_1h',
    above: 200000,
  });
  assert.deepEqual(parseLiteLLMPriceKey('input_cost_per_audio_token_priority'), {
    bucket: 'audio_input',
    tier: 'priority',
  });
  assert.deepEqual(parseLiteLLMPriceKey('input_cost_per_token_above_1m_tokens'), {
    bucket: 'input',
    above: 1000000,
  });
  assert.equal(parseLiteLLMPriceKey('input_cost_per_token_above_1hr'), undefined);
  assert.equal(parseLiteLLMPriceKey('input_cost_per_character'), undefined);
});

test('a file that is not a JSON object of entries is reported, not thrown', () => {
  assert.deepEqual(importLiteLLM([1, 2], OPTIONS), {
    models: [],
    skipped: [{ id: '(file)', reason: 'not a JSON object of model entries' }],
    notes: [],
  });
});
