import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { KeyValue } from '../otlp/model.ts';
import { readFacts } from './span-facts.ts';
import { normaliseUsage, usageOf } from './usage.ts';

const attrs = (o: Record<string, number | string>): KeyValue[] =>
  Object.entries(o).map(([key, v]) => ({
    key,
    value: typeof v === 'number' ? { intValue: v } : { stringValue: v },
  }));
const usage = (o: Record<string, number | string>, rules = {}) => {
  const f = readFacts(attrs(o));
  assert.ok(f);
  return normaliseUsage(f, rules);
};

describe('normaliseUsage', () => {
  it('splits OTel inclusive input into uncached input and cache read (OpenAI cached_tokens)', () => {
    const u = usage({
      'gen_ai.usage.input_tokens': 2006,
      'gen_ai.usage.cache_read.input_tokens': 1920,
      'gen_ai.usage.output_tokens': 300,
      'gen_ai.usage.reasoning.output_tokens': 192,
    });
    assert.deepEqual(
      { ...u?.buckets },
      {
        input: 86,
        output: 108,
        cache_read: 1920,
        cache_write_5m: 0,
        cache_write_1h: 0,
        reasoning: 192,
        audio_input: 0,
        audio_output: 0,
        image_input: 0,
      },
    );
    assert.equal(u?.inputTotal, 2006);
    assert.equal(u?.ruleSource, 'default');
  });

  it('reads Anthropic-native exclusive input when the cache exceeds the reported input', () => {
    const u = usage({
      'gen_ai.usage.input_tokens': 50,
      'gen_ai.usage.cache_read_input_tokens': 10000,
      'gen_ai.usage.cache_creation_input_tokens': 2000,
      'gen_ai.usage.output_tokens': 400,
    });
    assert.equal(u?.buckets.input, 50);
    assert.equal(u?.buckets.cache_read, 10000);
    assert.equal(u?.buckets.cache_write_5m, 2000);
    assert.equal(u?.inputTotal, 12050);
    assert.equal(u?.inputIncludesCache, false);
    assert.equal(u?.ruleSource, 'bounds');
  });

  it('uses the reported total to tell exclusive input from inclusive when both are possible', () => {
    // 5000 uncached + 1000 cache read, reported Anthropic-style (exclusive): total = 5000 + 1000 + 200.
    const u = usage({
      'llm.token_count.prompt': 5000,
      'llm.token_count.prompt_details.cache_read': 1000,
      'llm.token_count.completion': 200,
      'llm.token_count.total': 6200,
    });
    assert.equal(u?.buckets.input, 5000);
    assert.equal(u?.inputIncludesCache, false);
    assert.equal(u?.ruleSource, 'total');
  });

  it('adds Gemini thoughts reported outside the output count', () => {
    // Gemini: candidatesTokenCount 100 excludes thoughtsTokenCount 900; totalTokenCount 1200 = 200 + 100 + 900.
    const u = usage({
      'gen_ai.usage.input_tokens': 200,
      'gen_ai.usage.output_tokens': 100,
      'gen_ai.usage.reasoning.output_tokens': 900,
      'gen_ai.usage.total_tokens': 1200,
    });
    assert.equal(u?.buckets.output, 100);
    assert.equal(u?.buckets.reasoning, 900);
    assert.equal(u?.outputTotal, 1000);
    assert.equal(u?.outputIncludesReasoning, false);
  });

  it('never counts reasoning twice when the output already includes it', () => {
    const u = usage({
      'gen_ai.usage.input_tokens': 10,
      'gen_ai.usage.output_tokens': 1000,
      'gen_ai.usage.reasoning.output_tokens': 900,
      'gen_ai.usage.total_tokens': 1010,
    });
    assert.equal(u?.buckets.output, 100);
    assert.equal(u?.buckets.reasoning, 900);
    assert.equal(u?.outputTotal, 1000);
  });

  it('splits Anthropic cache writes by lifetime when the 1 h part is reported', () => {
    const u = usage({
      'gen_ai.usage.input_tokens': 13000,
      'gen_ai.usage.cache_creation.input_tokens': 3000,
      'gen_ai.usage.cache_creation.ephemeral_1h_input_tokens': 1000,
      'gen_ai.usage.output_tokens': 10,
    });
    assert.equal(u?.buckets.cache_write_5m, 2000);
    assert.equal(u?.buckets.cache_write_1h, 1000);
    assert.equal(u?.buckets.input, 10000);
  });

  it('takes audio and image tokens out of the text buckets', () => {
    const u = usage({
      'gen_ai.usage.prompt_tokens': 1000,
      'gen_ai.usage.prompt_tokens_details.audio_tokens': 600,
      'gen_ai.usage.input_tokens_details.image_tokens': 100,
      'gen_ai.usage.completion_tokens': 500,
      'gen_ai.usage.completion_tokens_details.audio_tokens': 450,
    });
    assert.equal(u?.buckets.input, 300);
    assert.equal(u?.buckets.audio_input, 600);
    assert.equal(u?.buckets.image_input, 100);
    assert.equal(u?.buckets.output, 50);
    assert.equal(u?.buckets.audio_output, 450);
  });

  it('prefers the current OTel name over a deprecated one on the same span', () => {
    const u = usage({ 'gen_ai.usage.prompt_tokens': 999, 'gen_ai.usage.input_tokens': 10 });
    assert.equal(u?.buckets.input, 10);
  });

  it('reads Vercel AI SDK and string-typed counts', () => {
    const u = usage({ 'ai.usage.promptTokens': '120', 'ai.usage.completionTokens': 30 });
    assert.equal(u?.buckets.input, 120);
    assert.equal(u?.buckets.output, 30);
  });

  it('follows a configured rule over the heuristics', () => {
    const u = usage(
      { 'gen_ai.usage.input_tokens': 5000, 'gen_ai.usage.cache_read.input_tokens': 1000 },
      { inputIncludesCache: false },
    );
    assert.equal(u?.buckets.input, 5000);
    assert.equal(u?.ruleSource, 'config');
  });

  it('returns undefined for a span without token counts', () => {
    const f = readFacts(attrs({ 'gen_ai.request.model': 'gpt-4o' }));
    assert.ok(f);
    assert.equal(normaliseUsage(f), undefined);
  });
});

describe('usageOf', () => {
  const span = () => {
    const f = readFacts(
      attrs({
        'gen_ai.usage.input_tokens': 1000,
        'gen_ai.usage.cache_read.input_tokens': 400,
        'gen_ai.usage.output_tokens': 50,
      }),
    );
    assert.ok(f);
    return f;
  };
  const exclusive = { inputIncludesCache: false };

  it('gives a caller without rules the buckets an earlier caller normalised under its configured rules', () => {
    const f = span();
    const priced = usageOf(f, exclusive);
    // Exclusive: 1000 uncached input beside the 400 read from cache.
    assert.equal(priced?.buckets.input, 1000);
    assert.equal(usageOf(f), priced);
  });

  it('normalises again for a caller whose rules differ from the ones kept', () => {
    const f = span();
    assert.equal(usageOf(f)?.buckets.input, 600);
    assert.equal(usageOf(f, exclusive)?.buckets.input, 1000);
    assert.equal(usageOf(f, exclusive)?.buckets.input, 1000);
  });
});
