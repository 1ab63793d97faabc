import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import type { FieldError } from '../../component/factory.ts';
import { metricValue, settings, sink } from '../../testing/components.ts';
import { type AttrValue, attr, firstSpans, type SpanSpec, traces } from '../../testing/genai-spans.ts';
import { type CostConfig, parseCostConfig } from './config.ts';
import { CostProcessor } from './processor.ts';

/** Prices per million tokens, chosen so the arithmetic in each test is easy to check by hand. */
const PRICES = [
  {
    model: 'acme-chat',
    provider: 'acme',
    input: 2,
    output: 8,
    cache_read: 0.5,
    cache_write_5m: 2.5,
    cache_write_1h: 4,
  },
  {
    model: 'acme-long',
    provider: 'acme',
    input: 1,
    output: 4,
    context_tiers: [{ above: 200_000, input: 2, output: 6 }],
  },
  { model: 'acme-voice', provider: 'acme', input: 1, output: 2 },
  { model: 'llama-local', per_hour: 3.6 },
];

function config(block: Record<string, unknown> = {}): CostConfig {
  const c = parseCostConfig({ builtin_catalogue: false, prices: PRICES, ...block });
  assert.ok(!Array.isArray(c), JSON.stringify(c));
  return c;
}

function run(specs: SpanSpec[], block: Record<string, unknown> = {}) {
  const set = settings('llm_cost');
  const p = new CostProcessor(set, config(block), sink());
  const req = traces(specs);
  p.apply(req);
  return { spans: firstSpans(req), set, p };
}

const call = (attrs: Record<string, AttrValue>, more: Partial<SpanSpec> = {}): SpanSpec => ({
  attrs: { 'gen_ai.operation.name': 'chat', 'gen_ai.provider.name': 'acme', ...attrs },
  parentSpanId: '00000000000000aa',
  ...more,
});
const close = (actual: AttrValue | undefined, expected: number) =>
  assert.ok(
    typeof actual === 'number' && Math.abs(actual - expected) <= Math.abs(expected) * 1e-9,
    `${actual} ≠ ${expected}`,
  );

describe('llm_cost', () => {
  it('prices each disjoint bucket once: cached tokens are not billed again at the input rate', () => {
    // 10,000 input of which 6,000 cache read and 1,000 cache write (5 m): uncached 3,000.
    // 3,000×2 + 6,000×0.5 + 1,000×2.5 + 500×8 = 6,000 + 3,000 + 2,500 + 4,000 = 15,500 per M = $0.0155.
    const { spans } = run([
      call({
        'gen_ai.request.model': 'acme-chat',
        'gen_ai.usage.input_tokens': 10_000,
        'gen_ai.usage.cache_read.input_tokens': 6_000,
        'gen_ai.usage.cache_creation.input_tokens': 1_000,
        'gen_ai.usage.output_tokens': 500,
      }),
    ]);
    const s = spans[0];
    assert.ok(s);
    close(attr(s, 'gen_ai.usage.cost.amount'), 0.0155);
    assert.equal(attr(s, 'gen_ai.usage.cost.currency'), 'USD');
    assert.equal(attr(s, 'gen_ai.usage.cost.status'), 'ok');
    close(attr(s, 'gen_ai.usage.cost.input'), 0.006);
    close(attr(s, 'gen_ai.usage.cost.cache_read'), 0.003);
    close(attr(s, 'gen_ai.usage.cost.cache_write_5m'), 0.0025);
    close(attr(s, 'gen_ai.usage.cost.output'), 0.004);
    // Readers' aliases: OpenLIT/Langfuse and OpenInference/Phoenix.
    close(attr(s, 'gen_ai.usage.cost'), 0.0155);
    close(attr(s, 'llm.cost.total'), 0.0155);
    close(attr(s, 'llm.cost.prompt'), 0.0115);
    close(attr(s, 'llm.cost.completion'), 0.004);
    // Datadog reads OpenInference token details, not gen_ai cache names.
    assert.equal(attr(s, 'llm.token_count.prompt_details.cache_read'), 6_000);
    assert.equal(attr(s, 'llm.token_count.prompt_details.cache_write'), 1_000);
  });

  it('bills every token at the higher tier once the prompt crosses the context cliff', () => {
    // 250,000 input > 200,000: all input at 2, output at 6 → 250,000×2 + 1,000×6 = 506,000 per M = $0.506.
    const { spans } = run([
      call({
        'gen_ai.request.model': 'acme-long',
        'gen_ai.usage.input_tokens': 250_000,
        'gen_ai.usage.output_tokens': 1_000,
      }),
      call({
        'gen_ai.request.model': 'acme-long',
        'gen_ai.usage.input_tokens': 200_000,
        'gen_ai.usage.output_tokens': 1_000,
      }),
    ]);
    close(attr(spans[0] as never, 'gen_ai.usage.cost.amount'), 0.506);
    assert.equal(attr(spans[0] as never, 'gen_ai.usage.cost.context_tier'), 200_000);
    // Exactly at the threshold is not above it: 200,000×1 + 1,000×4 = $0.204.
    close(attr(spans[1] as never, 'gen_ai.usage.cost.amount'), 0.204);
  });

  it('leaves the cost unset for an unknown model, marks it, and counts it by model', async () => {
    const { spans, set } = run([
      call({
        'gen_ai.request.model': 'mystery-9000',
        'gen_ai.usage.input_tokens': 10,
        'gen_ai.usage.output_tokens': 5,
      }),
      call({ 'gen_ai.request.model': 'mystery-9000', 'gen_ai.usage.input_tokens': 10 }),
    ]);
    for (const s of spans) {
      assert.equal(attr(s, 'gen_ai.usage.cost.status'), 'unknown_model');
      assert.equal(attr(s, 'gen_ai.usage.cost.amount'), undefined, 'never a silent $0');
      assert.equal(attr(s, 'llm.cost.total'), undefined);
    }
    assert.equal(
      await metricValue(set.telemetry, 'llmobs_cost_unknown_model_total', {
        model: 'mystery-9000',
        provider: 'acme',
      }),
      2,
    );
    assert.equal(await metricValue(set.telemetry, 'llmobs_cost_spans_total', { status: 'unknown_model' }), 2);
  });

  it('says the cost is partial when a bucket has tokens but no price, instead of billing it as text', () => {
    // Audio has no price for acme-voice: 100×1 + 50×2 = $0.0002 priced, 900 audio input tokens unpriced.
    const { spans } = run([
      call({
        'gen_ai.request.model': 'acme-voice',
        'gen_ai.usage.input_tokens': 1_000,
        'gen_ai.usage.audio.input_tokens': 900,
        'gen_ai.usage.output_tokens': 50,
      }),
    ]);
    const s = spans[0] as never;
    assert.equal(attr(s, 'gen_ai.usage.cost.status'), 'partial');
    assert.equal(attr(s, 'gen_ai.usage.cost.unpriced_buckets'), 'audio_input');
    close(attr(s, 'gen_ai.usage.cost.amount'), 0.0002);
  });

  it('maps an Azure deployment name to its model through model_aliases', () => {
    const { spans } = run(
      [
        call({
          'gen_ai.provider.name': 'azure.ai.openai',
          'gen_ai.request.model': 'prod-chat-eastus',
          'gen_ai.usage.input_tokens': 1_000_000,
          'gen_ai.usage.output_tokens': 0,
        }),
      ],
      { model_aliases: { 'prod-chat-eastus': 'acme-chat' } },
    );
    close(attr(spans[0] as never, 'gen_ai.usage.cost.amount'), 2);
    assert.equal(attr(spans[0] as never, 'gen_ai.usage.cost.resolution'), 'alias');
    assert.equal(attr(spans[0] as never, 'gen_ai.usage.cost.model'), 'acme-chat');
  });

  it('prices a self-hosted model by the hour of span duration', () => {
    // $3.60 per hour × 2 s = $0.002.
    const { spans } = run([call({ 'gen_ai.request.model': 'llama-local' }, { durationMs: 2_000 })]);
    close(attr(spans[0] as never, 'gen_ai.usage.cost.amount'), 0.002);
  });

  it('keeps a cost the instrumentation reported', () => {
    const { spans } = run([
      call({
        'gen_ai.request.model': 'acme-chat',
        'gen_ai.usage.input_tokens': 1_000,
        'gen_ai.usage.cost.amount': 0.5,
      }),
    ]);
    assert.equal(attr(spans[0] as never, 'gen_ai.usage.cost.amount'), 0.5);
    assert.equal(attr(spans[0] as never, 'gen_ai.usage.cost.status'), 'reported');
  });

  it('marks a model call without token counts as no_usage, without an amount', () => {
    const { spans } = run([call({ 'gen_ai.request.model': 'acme-chat' })]);
    assert.equal(attr(spans[0] as never, 'gen_ai.usage.cost.status'), 'no_usage');
    assert.equal(attr(spans[0] as never, 'gen_ai.usage.cost.amount'), undefined);
  });

  it('leaves spans that are not model calls alone', () => {
    const { spans } = run([{ attrs: { 'http.route': '/chat' }, parentSpanId: '00000000000000aa' }]);
    assert.deepEqual(
      spans[0]?.attributes.map((a) => a.key),
      ['http.route'],
    );
  });

  it('rolls the cost of a trace’s LLM calls up to its root span, across requests', () => {
    const set = settings('llm_cost');
    const p = new CostProcessor(set, config(), sink());
    const child = (tokens: number) =>
      call({
        'gen_ai.request.model': 'acme-chat',
        'gen_ai.usage.input_tokens': tokens,
        'gen_ai.usage.output_tokens': 0,
      });
    // Two calls arrive before the root (children end first), one with it; $2/M input.
    p.apply(traces([child(1_000)]));
    p.apply(traces([child(2_000)]));
    const last = traces([child(3_000), { name: 'POST /ask', attrs: { 'http.route': '/ask' } }]);
    p.apply(last);
    const root = firstSpans(last)[1];
    assert.ok(root);
    close(attr(root, 'llmobs.trace.cost.amount'), 0.012);
    assert.equal(attr(root, 'llmobs.trace.llm_calls'), 3);
    assert.equal(attr(root, 'llmobs.trace.usage.input_tokens'), 6_000);
    assert.equal(attr(root, 'llmobs.trace.cost.currency'), 'USD');
  });

  it('rolls interleaved traces of one request up to their own roots', () => {
    const p = new CostProcessor(settings('llm_cost'), config(), sink());
    const A = 'a'.repeat(32);
    const B = 'b'.repeat(32);
    const child = (traceId: string, tokens: number): SpanSpec => ({
      ...call({ 'gen_ai.request.model': 'acme-chat', 'gen_ai.usage.input_tokens': tokens }),
      traceId,
      parentSpanId: '1'.repeat(16),
    });
    // A, A, B, A, B: runs of one trace, then the other, then back.
    const req = traces([
      child(A, 1_000),
      child(A, 1_000),
      child(B, 5_000),
      child(A, 1_000),
      child(B, 5_000),
      { name: 'root A', traceId: A },
      { name: 'root B', traceId: B },
    ]);
    p.apply(req);
    const [rootA, rootB] = firstSpans(req).slice(5);
    assert.ok(rootA && rootB);
    assert.equal(attr(rootA, 'llmobs.trace.llm_calls'), 3);
    assert.equal(attr(rootA, 'llmobs.trace.usage.input_tokens'), 3_000);
    assert.equal(attr(rootB, 'llmobs.trace.llm_calls'), 2);
    assert.equal(attr(rootB, 'llmobs.trace.usage.input_tokens'), 10_000);
  });

  it('uses the price in force when the span started', () => {
    const dir = mkdtempSync(join(tmpdir(), 'llmobs-cost-'));
    const file = join(dir, 'prices.yaml');
    writeFileSync(
      file,
      [
        'currency: USD',
        'models:',
        '  - provider: acme',
        '    model: acme-dated',
        '    source: https://example.com/pricing',
        "    read: '2026-11-23'",
        '    prices:',
        '      - { input: 10, output: 10 }',
        "      - { effective_from: '2026-03-01', input: 5, output: 5 }",
      ].join('\n'),
    );
    const { spans } = run(
      [
        call(
          { 'gen_ai.request.model': 'acme-dated', 'gen_ai.usage.input_tokens': 1_000_000 },
          { startMs: Date.UTC(2026, 1, 15) },
        ),
        call(
          { 'gen_ai.request.model': 'acme-dated', 'gen_ai.usage.input_tokens': 1_000_000 },
          { startMs: Date.UTC(2026, 2, 2) },
        ),
      ],
      { catalogue_files: [file] },
    );
    close(attr(spans[0] as never, 'gen_ai.usage.cost.amount'), 10);
    close(attr(spans[1] as never, 'gen_ai.usage.cost.amount'), 5);
  });
});

describe('llm_cost config', () => {
  const errs = (block: Record<string, unknown>) => parseCostConfig(block) as FieldError[];
  it('refuses a non-USD currency with the built-in USD catalogue, saying what to do', () => {
    const e = errs({ currency: 'EUR' });
    assert.equal(e[0]?.path, 'currency');
    assert.match(e[0]?.message ?? '', /builtin_catalogue: false/);
  });
  it('names a price entry without any price and an unreadable catalogue file', () => {
    const e = errs({
      builtin_catalogue: false,
      prices: [{ model: 'x' }],
      catalogue_files: ['/nonexistent/p.yaml'],
    });
    assert.deepEqual(
      e.map((x) => x.path),
      ['prices.0', 'catalogue_files.0'],
    );
  });
  it('names tiers out of order', () => {
    const e = errs({
      builtin_catalogue: false,
      prices: [{ model: 'x', input: 1, context_tiers: [{ above: 200_000 }, { above: 128_000 }] }],
    });
    assert.equal(e[0]?.path, 'prices.0.context_tiers.1.above');
  });
});
