import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { runNodeClient } from '../../harness/clients.ts';
import { type Jaeger, startJaeger } from '../../harness/jaeger.ts';
import { type MockLlm, type RecordedRequest, startMockLlm } from '../../mock-llm/server.ts';

/** The mock's record of the request carrying `prompt`, i.e. the token counts it computed for it. */
function requestWith(mock: MockLlm, prompt: string): RecordedRequest {
  const found = mock.requests.filter((r) => JSON.stringify(r.body).includes(prompt));
  assert.equal(found.length, 1, `exactly one LLM request carries ${JSON.stringify(prompt)}`);
  return found[0] as RecordedRequest;
}

describe('Node client with @opentelemetry/instrumentation-openai', () => {
  let mock: MockLlm;
  let jaeger: Jaeger;

  before(async () => {
    [mock, jaeger] = await Promise.all([startMockLlm(), startJaeger()]);
  });
  after(async () => {
    await Promise.all([mock?.close(), jaeger?.stop()]);
  });

  const run = (
    scenario: 'chat' | 'stream' | 'error',
    extra: { prompt?: string; captureContent?: boolean } = {},
  ) => {
    const serviceName = `node-${scenario}-${randomBytes(3).toString('hex')}`;
    return runNodeClient({
      scenario,
      serviceName,
      llmBaseUrl: mock.url,
      otlpEndpoint: jaeger.otlpHttpEndpoint,
      ...extra,
    }).then((result) => ({ ...result, serviceName }));
  };

  it('exports a chat span whose gen_ai.usage.input_tokens is the prompt count the mock computed', async () => {
    const prompt = `Which river runs through Paris? ${randomBytes(4).toString('hex')}`;
    const { output, serviceName } = await run('chat', { prompt });
    const usage = requestWith(mock, prompt).usage;
    assert.ok(usage && usage.prompt_tokens > 0);

    const [span] = await jaeger.waitForSpans(serviceName, (s) => s.name === 'chat mock-gpt');
    assert.ok(span);
    assert.equal(span.kind, 'client');
    assert.equal(span.scope.name, '@opentelemetry/instrumentation-openai');
    assert.equal(span.attributes['gen_ai.usage.input_tokens'], usage.prompt_tokens);
    assert.equal(span.attributes['gen_ai.usage.output_tokens'], usage.completion_tokens);
    assert.equal(span.attributes['gen_ai.operation.name'], 'chat');
    // 0.22.0 still names the provider with the older gen_ai.system, not gen_ai.provider.name.
    assert.equal(span.attributes['gen_ai.system'], 'openai');
    assert.equal(span.attributes['gen_ai.request.model'], 'mock-gpt');
    assert.equal(span.attributes['gen_ai.response.model'], 'mock-gpt');
    assert.equal(span.attributes['gen_ai.response.id'], output.response_id);
    assert.deepEqual(span.attributes['gen_ai.response.finish_reasons'], ['stop']);
    assert.equal(span.attributes['server.address'], '127.0.0.1');
    assert.equal(span.attributes['server.port'], Number(new URL(mock.url).port));
    assert.equal(span.resource['service.name'], serviceName);
    // Message content travels as log records in this instrumentation, never as span attributes.
    assert.ok(!JSON.stringify(span.attributes).includes(prompt));
  });

  it('exports a streamed chat span that carries the usage of the final chunk', async () => {
    const prompt = `Stream me a haiku ${randomBytes(4).toString('hex')}`;
    const { output, serviceName } = await run('stream', { prompt });
    const usage = requestWith(mock, prompt).usage;
    assert.ok(usage);
    assert.deepEqual(output.usage, usage);

    const [span] = await jaeger.waitForSpans(serviceName, (s) => s.name === 'chat mock-gpt');
    assert.ok(span);
    assert.equal(span.attributes['gen_ai.usage.input_tokens'], usage.prompt_tokens);
    assert.equal(span.attributes['gen_ai.usage.output_tokens'], usage.completion_tokens);
    assert.deepEqual(span.attributes['gen_ai.response.finish_reasons'], ['stop']);
  });

  it('marks the span of a rate-limited call as an error with error.type', async () => {
    const { output, serviceName } = await run('error');
    assert.deepEqual((output.error as { status: number }).status, 429);

    const [span] = await jaeger.waitForSpans(serviceName, (s) => s.name === 'chat mock-error-429');
    assert.ok(span);
    assert.equal(span.status.code, 'error');
    assert.match(span.status.message ?? '', /429/);
    assert.equal(span.attributes['error.type'], 'RateLimitError');
    assert.equal(span.attributes['gen_ai.usage.input_tokens'], undefined);
  });
});
