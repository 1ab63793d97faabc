import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { settings, sink } from '../../testing/components.ts';
import { type AttrValue, attr, firstSpans, traces } from '../../testing/genai-spans.ts';
import { parseCostConfig } from './config.ts';
import { CostProcessor } from './processor.ts';

/**
 * Golden suite: realistic usage as each provider's instrumentation reports it, priced with the
 * shipped catalogue. Every expected amount is worked out by hand in the comment above it from the
 * provider's published per-million-token prices (the arithmetic a provider's invoice does), so a
 * wrong catalogue entry or a double-counted bucket fails here. Tolerance: 0.1 %.
 */
function price(attrs: Record<string, AttrValue>, extra: Record<string, unknown> = {}) {
  const cfg = parseCostConfig({
    model_aliases: { 'contoso-chat-prod': 'gpt-4o' },
    prices: [
      // OpenAI fine-tuning price page: fine-tuned gpt-4o-mini inference $0.30 in / $0.15 cached / $1.20 out per 1M.
      { model: 'ft:gpt-4o-mini-2024-07-18:acme::9abc', input: 0.3, cache_read: 0.15, output: 1.2 },
    ],
    ...extra,
  });
  assert.ok(!Array.isArray(cfg), JSON.stringify(cfg));
  const req = traces([{ attrs, parentSpanId: '00000000000000aa' }]);
  new CostProcessor(settings('llm_cost'), cfg, sink()).apply(req);
  const span = firstSpans(req)[0];
  assert.ok(span);
  return span;
}

function expectCost(span: ReturnType<typeof price>, usd: number): void {
  const got = attr(span, 'gen_ai.usage.cost.amount');
  assert.equal(attr(span, 'gen_ai.usage.cost.status'), 'ok');
  assert.ok(typeof got === 'number', 'a cost is written');
  assert.ok(Math.abs(got - usd) <= usd * 0.001, `cost ${got} is not within 0.1% of ${usd}`);
}

describe('golden costs per provider (shipped catalogue)', () => {
  it('OpenAI chat completions with cached input (OTel GenAI, response model is a dated snapshot)', () => {
    // gpt-4o: $2.50 in, $1.25 cached in, $10.00 out. 12,000 input of which 8,000 cached; 500 output.
    // 4,000 × 2.50 + 8,000 × 1.25 + 500 × 10 = 10,000 + 10,000 + 5,000 = 25,000 / 1M = $0.025
    const s = price({
      'gen_ai.operation.name': 'chat',
      'gen_ai.provider.name': 'openai',
      'gen_ai.request.model': 'gpt-4o',
      'gen_ai.response.model': 'gpt-4o-2024-08-06',
      'gen_ai.usage.input_tokens': 12_000,
      'gen_ai.usage.cache_read.input_tokens': 8_000,
      'gen_ai.usage.output_tokens': 500,
    });
    expectCost(s, 0.025);
    assert.equal(attr(s, 'gen_ai.usage.cost.model'), 'gpt-4o');
  });

  it('a dated snapshot priced differently from its alias is priced as itself', () => {
    // gpt-4o-2024-05-13: $5.00 in, $15.00 out (gpt-4o is $2.50/$10.00).
    // 1,000 × 5 + 1,000 × 15 = 20,000 / 1M = $0.02
    expectCost(
      price({
        'gen_ai.provider.name': 'openai',
        'gen_ai.request.model': 'gpt-4o-2024-05-13',
        'gen_ai.usage.input_tokens': 1_000,
        'gen_ai.usage.output_tokens': 1_000,
      }),
      0.02,
    );
  });

  it('OpenAI responses API with reasoning tokens (OpenInference counts, reasoning inside completion)', () => {
    // o4-mini: $1.10 in, $4.40 out; reasoning is billed as output. 2,000 in; 3,000 out of which 2,600 reasoning.
    // 2,000 × 1.10 + 3,000 × 4.40 = 2,200 + 13,200 = 15,400 / 1M = $0.0154 (not 5,600 output tokens)
    const s = price({
      'openinference.span.kind': 'LLM',
      'llm.provider': 'openai',
      'llm.model_name': 'o4-mini-2025-04-16',
      'llm.token_count.prompt': 2_000,
      'llm.token_count.completion': 3_000,
      'llm.token_count.completion_details.reasoning': 2_600,
      'llm.token_count.total': 5_000,
    });
    expectCost(s, 0.0154);
    assert.ok(Math.abs(Number(attr(s, 'gen_ai.usage.cost.reasoning')) - 0.01144) < 1e-9);
  });

  it('OpenAI flex service tier, known only from the response', () => {
    // gpt-5 flex: $0.625 in, $5.00 out. 10,000 in, 1,000 out.
    // 10,000 × 0.625 + 1,000 × 5 = 6,250 + 5,000 = 11,250 / 1M = $0.01125
    const s = price({
      'gen_ai.provider.name': 'openai',
      'gen_ai.request.model': 'gpt-5',
      'openai.response.service_tier': 'flex',
      'gen_ai.usage.input_tokens': 10_000,
      'gen_ai.usage.output_tokens': 1_000,
    });
    expectCost(s, 0.01125);
    assert.equal(attr(s, 'gen_ai.usage.cost.service_tier'), 'flex');
  });

  it('Anthropic with 5 minute and 1 hour cache writes (OTel GenAI: input includes the cache)', () => {
    // claude-sonnet-4: $3 in, $0.30 cache read, $3.75 5-min write (1.25×), $6 1-hour write (2×), $15 out.
    // input 23,100 = 100 uncached + 20,000 read + 2,000 5-min write + 1,000 1-hour write; 800 out.
    // 100 × 3 + 20,000 × 0.30 + 2,000 × 3.75 + 1,000 × 6 + 800 × 15
    //   = 300 + 6,000 + 7,500 + 6,000 + 12,000 = 31,800 / 1M = $0.0318
    expectCost(
      price({
        'gen_ai.operation.name': 'chat',
        'gen_ai.provider.name': 'anthropic',
        'gen_ai.request.model': 'claude-sonnet-4-20250514',
        'gen_ai.usage.input_tokens': 23_100,
        'gen_ai.usage.cache_read.input_tokens': 20_000,
        'gen_ai.usage.cache_creation.input_tokens': 3_000,
        'gen_ai.usage.cache_creation.ephemeral_1h_input_tokens': 1_000,
        'gen_ai.usage.output_tokens': 800,
      }),
      0.0318,
    );
  });

  it('Anthropic-native exclusive input (older OpenLLMetry) is not billed twice', () => {
    // Same prices; input_tokens 100 excludes 20,000 read and 3,000 (5-min) written; 800 out.
    // 100 × 3 + 20,000 × 0.30 + 3,000 × 3.75 + 800 × 15 = 300 + 6,000 + 11,250 + 12,000 = 29,550 / 1M = $0.02955
    expectCost(
      price({
        'gen_ai.system': 'anthropic',
        'gen_ai.request.model': 'claude-sonnet-4-20250514',
        'gen_ai.usage.prompt_tokens': 100,
        'gen_ai.usage.cache_read_input_tokens': 20_000,
        'gen_ai.usage.cache_creation_input_tokens': 3_000,
        'gen_ai.usage.completion_tokens': 800,
      }),
      0.02955,
    );
  });

  it('Gemini above its 200k context tier, thoughts reported outside the output count', () => {
    // gemini-2.5-pro above 200k prompt tokens: $2.50 in, $15.00 out for ALL tokens (cliff, not marginal);
    // thinking is billed as output. 250,000 in; 2,000 out + 1,000 thoughts (total 253,000).
    // 250,000 × 2.50 + (2,000 + 1,000) × 15 = 625,000 + 45,000 = 670,000 / 1M = $0.67
    const s = price({
      'gen_ai.provider.name': 'gcp.gemini',
      'gen_ai.request.model': 'gemini-2.5-pro',
      'gen_ai.usage.input_tokens': 250_000,
      'gen_ai.usage.output_tokens': 2_000,
      'gen_ai.usage.reasoning.output_tokens': 1_000,
      'gen_ai.usage.total_tokens': 253_000,
    });
    expectCost(s, 0.67);
    assert.equal(attr(s, 'gen_ai.usage.cost.context_tier'), 200_000);
  });

  it('Gemini through Vertex AI with a models/ prefix, below the tier', () => {
    // gemini-2.5-pro at or below 200k: $1.25 in, $10 out. 100,000 in, 1,000 out.
    // 100,000 × 1.25 + 1,000 × 10 = 125,000 + 10,000 = 135,000 / 1M = $0.135
    expectCost(
      price({
        'gen_ai.provider.name': 'gcp.vertex_ai',
        'gen_ai.request.model': 'models/gemini-2.5-pro',
        'gen_ai.usage.input_tokens': 100_000,
        'gen_ai.usage.output_tokens': 1_000,
      }),
      0.135,
    );
  });

  it('Bedrock cross-region inference profile id', () => {
    // Bedrock Claude Sonnet 4 (on-demand): $3 in, $15 out. 1,000 in, 500 out.
    // 1,000 × 3 + 500 × 15 = 3,000 + 7,500 = 10,500 / 1M = $0.0105
    const s = price({
      'gen_ai.provider.name': 'aws.bedrock',
      'gen_ai.request.model': 'us.anthropic.claude-sonnet-4-20250514-v1:0',
      'gen_ai.usage.input_tokens': 1_000,
      'gen_ai.usage.output_tokens': 500,
    });
    expectCost(s, 0.0105);
    assert.equal(attr(s, 'gen_ai.usage.cost.model'), 'anthropic.claude-sonnet-4-20250514');
  });

  it('Bedrock inference-profile ARN', () => {
    // Same model and prices through an ARN: 2,000 × 3 + 100 × 15 = 6,000 + 1,500 = 7,500 / 1M = $0.0075
    expectCost(
      price({
        'gen_ai.provider.name': 'aws.bedrock',
        'gen_ai.request.model':
          'arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.anthropic.claude-sonnet-4-20250514-v1:0',
        'gen_ai.usage.input_tokens': 2_000,
        'gen_ai.usage.output_tokens': 100,
      }),
      0.0075,
    );
  });

  it('Azure OpenAI deployment name mapped to its model in config', () => {
    // Azure global gpt-4o: $2.50 in, $10 out. 1,000,000 in, 100,000 out.
    // 1,000,000 × 2.50 + 100,000 × 10 = 2,500,000 + 1,000,000 = 3,500,000 / 1M = $3.50
    const s = price({
      'gen_ai.provider.name': 'azure.ai.openai',
      'gen_ai.request.model': 'contoso-chat-prod',
      'gen_ai.usage.input_tokens': 1_000_000,
      'gen_ai.usage.output_tokens': 100_000,
    });
    expectCost(s, 3.5);
    assert.equal(attr(s, 'gen_ai.usage.cost.resolution'), 'alias');
  });

  it('a fine-tuned model priced by a config override', () => {
    // Fine-tuned gpt-4o-mini: $0.30 in, $1.20 out. 10,000 in, 2,000 out.
    // 10,000 × 0.30 + 2,000 × 1.20 = 3,000 + 2,400 = 5,400 / 1M = $0.0054
    const s = price({
      'gen_ai.provider.name': 'openai',
      'gen_ai.request.model': 'ft:gpt-4o-mini-2024-07-18:acme::9abc',
      'gen_ai.usage.input_tokens': 10_000,
      'gen_ai.usage.output_tokens': 2_000,
    });
    expectCost(s, 0.0054);
    assert.equal(attr(s, 'gen_ai.usage.cost.resolution'), 'override');
  });

  it('xAI', () => {
    // grok-4: $3 in, $15 out. 5,000 in, 1,000 out. 5,000 × 3 + 1,000 × 15 = 30,000 / 1M = $0.03
    expectCost(
      price({
        'gen_ai.provider.name': 'x_ai',
        'gen_ai.request.model': 'grok-4',
        'gen_ai.usage.input_tokens': 5_000,
        'gen_ai.usage.output_tokens': 1_000,
      }),
      0.03,
    );
  });

  it('DeepSeek cache hits (OpenAI-compatible usage, Vercel AI SDK names)', () => {
    // deepseek-chat: $0.28 in (cache miss), $0.028 in (cache hit), $0.42 out. 10,000 in of which 6,000 hit; 1,000 out.
    // 4,000 × 0.28 + 6,000 × 0.028 + 1,000 × 0.42 = 1,120 + 168 + 420 = 1,708 / 1M = $0.001708
    expectCost(
      price({
        'ai.model.provider': 'deepseek.chat',
        'ai.model.id': 'deepseek-chat',
        'ai.usage.inputTokens': 10_000,
        'ai.usage.cachedInputTokens': 6_000,
        'ai.usage.outputTokens': 1_000,
      }),
      0.001708,
    );
  });

  it('an unknown model gets no amount and says so', () => {
    const s = price({
      'gen_ai.provider.name': 'openai',
      'gen_ai.request.model': 'gpt-99-turbo-hyper',
      'gen_ai.usage.input_tokens': 10,
    });
    assert.equal(attr(s, 'gen_ai.usage.cost.status'), 'unknown_model');
    assert.equal(attr(s, 'gen_ai.usage.cost.amount'), undefined);
  });
});
