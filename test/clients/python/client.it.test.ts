import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { type ClientScenario, type PythonVariant, runPythonClient } from '../../harness/clients.ts';
import {
  type AttrValue,
  type Jaeger,
  type JaegerSpan,
  type SpanKind,
  startJaeger,
} from '../../harness/jaeger.ts';
import { type MockLlm, type RecordedRequest, startMockLlm } from '../../mock-llm/server.ts';

/**
 * How each instrumentation names and shapes its chat span, as observed with the versions pinned in
 * requirements-<variant>.txt. These are the dialects the processor has to understand.
 */
interface Dialect {
  readonly spanName: (model: string) => string;
  readonly kind: SpanKind;
  readonly scope: string;
  readonly inputTokens: string;
  readonly outputTokens: string;
  readonly totalTokens?: string;
  readonly cachedInputTokens?: string;
  readonly reasoningTokens?: string;
  /** An attribute holding the user's prompt when content capture is on. */
  readonly promptAttribute: string;
  /** Where the finish reason goes, and its value when the model answered with a tool call. */
  readonly finishReason: { readonly attribute: string; readonly toolCalls: AttrValue };
}

const DIALECTS: Readonly<Record<PythonVariant, Dialect>> = {
  'openai-v2': {
    spanName: (model) => `chat ${model}`,
    kind: 'client',
    // util-genai's handler creates the span, so the scope is not the instrumentation package's.
    scope: 'opentelemetry.util.genai.handler',
    inputTokens: 'gen_ai.usage.input_tokens',
    outputTokens: 'gen_ai.usage.output_tokens',
    promptAttribute: 'gen_ai.input.messages',
    finishReason: { attribute: 'gen_ai.response.finish_reasons', toolCalls: ['tool_calls'] },
  },
  openllmetry: {
    spanName: () => 'openai.chat',
    kind: 'client',
    scope: 'opentelemetry.instrumentation.openai.v1',
    // 0.62 moved to the gen_ai.usage.input/output_tokens names; the old gen_ai.usage.prompt_tokens and
    // llm.usage.total_tokens are gone.
    inputTokens: 'gen_ai.usage.input_tokens',
    outputTokens: 'gen_ai.usage.output_tokens',
    totalTokens: 'gen_ai.usage.total_tokens',
    cachedInputTokens: 'gen_ai.usage.cache_read.input_tokens',
    reasoningTokens: 'gen_ai.usage.reasoning_tokens',
    promptAttribute: 'gen_ai.input.messages',
    // Singular: OpenLLMetry maps the API's tool_calls to the semconv's tool_call.
    finishReason: { attribute: 'gen_ai.response.finish_reasons', toolCalls: ['tool_call'] },
  },
  openinference: {
    spanName: () => 'ChatCompletion',
    kind: 'internal',
    scope: 'openinference.instrumentation.openai',
    inputTokens: 'llm.token_count.prompt',
    outputTokens: 'llm.token_count.completion',
    totalTokens: 'llm.token_count.total',
    cachedInputTokens: 'llm.token_count.prompt_details.cache_read',
    reasoningTokens: 'llm.token_count.completion_details.reasoning',
    promptAttribute: 'llm.input_messages.1.message.content',
    finishReason: { attribute: 'llm.finish_reason', toolCalls: 'tool_calls' },
  },
};

/** The mock's record of the request carrying `prompt`, i.e. the token counts it computed for it. */
function requestWith(mock: MockLlm, prompt: string): RecordedRequest {
  const found = mock.requests.filter((r) => JSON.stringify(r.body).includes(prompt));
  assert.equal(found.length, 1, `exactly one LLM request carries ${JSON.stringify(prompt)}`);
  return found[0] as RecordedRequest;
}

function mentions(span: JaegerSpan, text: string): boolean {
  return JSON.stringify([span.attributes, span.events]).includes(text);
}

describe('Python clients, one per OpenAI instrumentation', () => {
  let mock: MockLlm;
  let jaeger: Jaeger;

  before(async () => {
    [mock, jaeger] = await Promise.all([startMockLlm(), startJaeger()]);
  });
  after(async () => {
    await Promise.all([mock?.close(), jaeger?.stop()]);
  });

  /** Runs one client and returns the single chat span it exported, plus the mock's usage for the call. */
  async function chatSpan(
    variant: PythonVariant,
    scenario: ClientScenario,
    opts: { model?: string; captureContent?: boolean } = {},
  ) {
    const prompt = `Name a city on the Loire ${randomBytes(4).toString('hex')}`;
    const serviceName = `py-${variant}-${scenario}-${randomBytes(3).toString('hex')}`;
    const model = opts.model ?? 'mock-gpt';
    const { output } = await runPythonClient({
      variant,
      scenario,
      serviceName,
      prompt,
      model,
      llmBaseUrl: mock.url,
      otlpEndpoint: jaeger.otlpHttpEndpoint,
      captureContent: opts.captureContent,
    });
    const usage = requestWith(mock, prompt).usage;
    assert.ok(usage && usage.prompt_tokens > 0, 'the mock computed a usage');
    assert.deepEqual(
      { prompt: (output.usage as { prompt_tokens?: number }).prompt_tokens },
      { prompt: usage.prompt_tokens },
      'the client saw the usage the mock computed',
    );
    const name = DIALECTS[variant].spanName(model);
    const spans = await jaeger.waitForSpans(serviceName, (s) => s.name === name);
    assert.equal(spans.length, 1, `one ${name} span`);
    return { span: spans[0] as JaegerSpan, usage, prompt };
  }

  for (const variant of ['openai-v2', 'openllmetry', 'openinference'] as const) {
    const d = DIALECTS[variant];

    describe(variant, () => {
      it(`exports a chat span whose ${d.inputTokens} is the prompt count the mock computed`, async () => {
        const { span, usage, prompt } = await chatSpan(variant, 'chat', {
          model: 'mock-cached-4-reasoning-3',
          captureContent: true,
        });
        assert.equal(span.kind, d.kind);
        assert.equal(span.scope.name, d.scope);
        assert.equal(span.attributes[d.inputTokens], usage.prompt_tokens);
        // Reasoning tokens are part of the completion count in the API, and every dialect keeps them there.
        assert.equal(span.attributes[d.outputTokens], usage.completion_tokens);
        if (d.totalTokens) assert.equal(span.attributes[d.totalTokens], usage.total_tokens);
        if (d.cachedInputTokens) {
          assert.equal(span.attributes[d.cachedInputTokens], usage.prompt_tokens_details.cached_tokens);
          assert.equal(usage.prompt_tokens_details.cached_tokens, 4);
        }
        if (d.reasoningTokens) {
          assert.equal(span.attributes[d.reasoningTokens], usage.completion_tokens_details.reasoning_tokens);
          assert.equal(usage.completion_tokens_details.reasoning_tokens, 3);
        }
        assert.match(String(span.attributes[d.promptAttribute]), new RegExp(prompt));
      });

      it('exports a streamed chat span that carries the usage of the final chunk', async () => {
        const { span, usage } = await chatSpan(variant, 'stream');
        assert.equal(span.attributes[d.inputTokens], usage.prompt_tokens);
        assert.equal(span.attributes[d.outputTokens], usage.completion_tokens);
      });

      it('keeps the prompt off the span when content capture is off', async () => {
        const { span, usage, prompt } = await chatSpan(variant, 'chat', { captureContent: false });
        assert.equal(span.attributes[d.inputTokens], usage.prompt_tokens);
        assert.equal(span.attributes[d.promptAttribute], undefined);
        assert.ok(!mentions(span, prompt), 'no attribute or event mentions the prompt');
      });

      it('exports one span per call of a tool-calling exchange, the first ending in a tool call', async () => {
        const serviceName = `py-${variant}-tools-${randomBytes(3).toString('hex')}`;
        const { output } = await runPythonClient({
          variant,
          scenario: 'tools',
          serviceName,
          llmBaseUrl: mock.url,
          otlpEndpoint: jaeger.otlpHttpEndpoint,
        });
        assert.equal((output.tool_calls as { name: string }[])[0]?.name, 'get_weather');
        const spans = await jaeger.waitForSpans(
          serviceName,
          (s) => s.name === d.spanName('mock-gpt'),
          15_000,
          2,
        );
        assert.equal(spans.length, 2);
        const [first, second] = spans as [JaegerSpan, JaegerSpan];
        assert.deepEqual(first.attributes[d.finishReason.attribute], d.finishReason.toolCalls);
        assert.ok(
          (second.attributes[d.inputTokens] as number) > (first.attributes[d.inputTokens] as number),
          'the second prompt carries the tool call and its result',
        );
      });
    });
  }

  it('openai-v2 records provider, response and finish reasons with gen_ai.* semantic conventions', async () => {
    const { span } = await chatSpan('openai-v2', 'chat');
    assert.equal(span.attributes['gen_ai.operation.name'], 'chat');
    assert.equal(span.attributes['gen_ai.provider.name'], 'openai');
    assert.equal(span.attributes['gen_ai.request.model'], 'mock-gpt');
    assert.equal(span.attributes['gen_ai.response.model'], 'mock-gpt');
    assert.deepEqual(span.attributes['gen_ai.response.finish_reasons'], ['stop']);
    assert.match(String(span.attributes['gen_ai.response.id']), /^chatcmpl-mock/);
  });
});
