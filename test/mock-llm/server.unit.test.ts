import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import OpenAI, { APIError } from 'openai';
import { type MockLlm, startMockLlm } from './server.ts';

// Counted by hand with the mock's rule (one per role, plus words and punctuation marks):
// system "You are terse." = 1 + 4, user "Say hello, please!" = 1 + 5.
const MESSAGES = [
  { role: 'system' as const, content: 'You are terse.' },
  { role: 'user' as const, content: 'Say hello, please!' },
];
const MESSAGES_PROMPT_TOKENS = 11;

/** An independent recount of the reply's tokens, so the test does not reuse the mock's own counter. */
function words(text: string): number {
  return text.split(/(\s+|[.,:;!?'"()])/).filter((t) => t.trim().length > 0).length;
}

const WEATHER_TOOL = {
  type: 'function' as const,
  function: {
    name: 'get_weather',
    description: 'Current weather for a city',
    parameters: {
      type: 'object',
      properties: { city: { type: 'string' }, unit: { type: 'string', enum: ['celsius', 'fahrenheit'] } },
      required: ['city'],
    },
  },
};

describe('mock LLM driven by the openai SDK', () => {
  let mock: MockLlm;
  let client: OpenAI;

  before(async () => {
    mock = await startMockLlm();
    client = new OpenAI({ baseURL: mock.url, apiKey: 'test-key', maxRetries: 0 });
  });
  after(async () => {
    await mock.close();
  });

  it('listens on loopback and serves the model list', async () => {
    assert.match(mock.url, /^http:\/\/127\.0\.0\.1:\d+\/v1$/);
    const ids: string[] = [];
    for await (const m of client.models.list()) ids.push(m.id);
    assert.ok(ids.includes('mock-gpt'), `models: ${ids.join(', ')}`);
  });

  it('answers a chat completion with usage counted from the prompt', async () => {
    const res = await client.chat.completions.create({ model: 'mock-gpt', messages: MESSAGES });
    const text = res.choices[0]?.message.content ?? '';
    assert.match(text, /Say hello, please!/);
    assert.equal(res.choices[0]?.finish_reason, 'stop');
    assert.equal(res.model, 'mock-gpt');
    assert.equal(res.usage?.prompt_tokens, MESSAGES_PROMPT_TOKENS);
    assert.equal(res.usage?.completion_tokens, words(text));
    assert.equal(res.usage?.total_tokens, MESSAGES_PROMPT_TOKENS + words(text));
    assert.equal(res.usage?.prompt_tokens_details?.cached_tokens, 0);
    assert.equal(res.usage?.completion_tokens_details?.reasoning_tokens, 0);
    const rec = mock.requests.at(-1);
    assert.equal(rec?.path, '/v1/chat/completions');
    assert.equal(rec?.status, 200);
    assert.deepEqual(rec?.usage, res.usage);
  });

  it('gives the same reply for the same request', async () => {
    const a = await client.chat.completions.create({ model: 'mock-gpt', messages: MESSAGES });
    const b = await client.chat.completions.create({ model: 'mock-gpt', messages: MESSAGES });
    assert.equal(a.id, b.id);
    assert.equal(a.choices[0]?.message.content, b.choices[0]?.message.content);
  });

  it('reports cached and reasoning tokens asked for through the model name', async () => {
    const res = await client.chat.completions.create({
      model: 'mock-cached-4-reasoning-3',
      messages: MESSAGES,
    });
    const visible = words(res.choices[0]?.message.content ?? '');
    assert.equal(res.usage?.prompt_tokens_details?.cached_tokens, 4);
    assert.equal(res.usage?.completion_tokens_details?.reasoning_tokens, 3);
    assert.equal(res.usage?.completion_tokens, visible + 3);
  });

  it('cuts the reply at max_completion_tokens with finish_reason length', async () => {
    const res = await client.chat.completions.create({
      model: 'mock-gpt',
      messages: MESSAGES,
      max_completion_tokens: 3,
    });
    assert.equal(res.choices[0]?.finish_reason, 'length');
    assert.equal(res.choices[0]?.message.content, 'This is the');
    assert.equal(res.usage?.completion_tokens, 3);
  });

  it('streams a chat completion whose last chunk carries usage', async () => {
    const whole = await client.chat.completions.create({ model: 'mock-gpt', messages: MESSAGES });
    const stream = await client.chat.completions.create({
      model: 'mock-gpt',
      messages: MESSAGES,
      stream: true,
      stream_options: { include_usage: true },
    });
    let text = '';
    let contentChunks = 0;
    let finish: string | null | undefined;
    const usages: (OpenAI.CompletionUsage | null | undefined)[] = [];
    for await (const chunk of stream) {
      usages.push(chunk.usage);
      const choice = chunk.choices[0];
      if (choice?.delta.content) {
        text += choice.delta.content;
        contentChunks += 1;
      }
      if (choice?.finish_reason) finish = choice.finish_reason;
    }
    assert.equal(text, whole.choices[0]?.message.content);
    assert.equal(finish, 'stop');
    assert.ok(contentChunks > 1, 'the reply arrives in several chunks');
    assert.ok(
      usages.slice(0, -1).every((u) => u === null),
      'only the final chunk has usage',
    );
    assert.deepEqual(usages.at(-1), whole.usage);
  });

  it('streams without a usage chunk unless include_usage is set', async () => {
    const stream = await client.chat.completions.create({
      model: 'mock-gpt',
      messages: MESSAGES,
      stream: true,
    });
    let sawUsage = false;
    for await (const chunk of stream) if (chunk.usage) sawUsage = true;
    assert.equal(sawUsage, false);
    assert.equal(mock.requests.at(-1)?.usage?.prompt_tokens, MESSAGES_PROMPT_TOKENS);
  });

  it('calls the offered tool, then answers in text once the tool result is in', async () => {
    const messages: OpenAI.ChatCompletionMessageParam[] = [{ role: 'user', content: 'Weather in Paris?' }];
    const first = await client.chat.completions.create({
      model: 'mock-gpt',
      messages,
      tools: [WEATHER_TOOL],
    });
    const choice = first.choices[0];
    assert.equal(choice?.finish_reason, 'tool_calls');
    assert.equal(choice?.message.content, null);
    const call = choice?.message.tool_calls?.[0];
    assert.ok(call?.type === 'function');
    assert.equal(call.function.name, 'get_weather');
    assert.deepEqual(JSON.parse(call.function.arguments), { city: 'mock', unit: 'celsius' });

    messages.push(choice.message, { role: 'tool', tool_call_id: call.id, content: '21 degrees and sunny' });
    const second = await client.chat.completions.create({
      model: 'mock-gpt',
      messages,
      tools: [WEATHER_TOOL],
    });
    assert.equal(second.choices[0]?.finish_reason, 'stop');
    assert.match(second.choices[0]?.message.content ?? '', /21 degrees and sunny/);
    // The assistant's tool call counts towards the second prompt: user 1+4, assistant 1 + name (1) +
    // arguments, tool 1+4.
    const args = words(call.function.arguments.replace(/[{}]/g, ' $& '));
    assert.equal(second.usage?.prompt_tokens, 5 + 1 + 1 + args + 5);
  });

  it('streams a tool call whose arguments arrive in pieces', async () => {
    const stream = await client.chat.completions.create({
      model: 'mock-gpt',
      messages: [{ role: 'user', content: 'Weather?' }],
      tools: [WEATHER_TOOL],
      stream: true,
    });
    let name = '';
    let args = '';
    let pieces = 0;
    let finish: string | null | undefined;
    for await (const chunk of stream) {
      const tc = chunk.choices[0]?.delta.tool_calls?.[0];
      if (tc?.function?.name) name += tc.function.name;
      if (tc?.function?.arguments) {
        args += tc.function.arguments;
        pieces += 1;
      }
      finish = chunk.choices[0]?.finish_reason ?? finish;
    }
    assert.equal(name, 'get_weather');
    assert.ok(pieces > 1);
    assert.deepEqual(JSON.parse(args), { city: 'mock', unit: 'celsius' });
    assert.equal(finish, 'tool_calls');
  });

  it('surfaces a 429 asked for by header as an APIError with retry-after', async () => {
    const err = await client.chat.completions
      .create({ model: 'mock-gpt', messages: MESSAGES }, { headers: { 'x-mock-status': '429' } })
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    assert.ok(err instanceof APIError, `expected APIError, got ${String(err)}`);
    assert.equal(err.status, 429);
    assert.equal(err.code, 'rate_limit_exceeded');
    assert.equal(err.headers?.get('retry-after'), '1');
    assert.equal(mock.requests.at(-1)?.status, 429);
  });

  it('fails with the status named in the model, e.g. mock-error-503', async () => {
    await assert.rejects(
      client.chat.completions.create({ model: 'mock-error-503', messages: MESSAGES }),
      (e: unknown) => e instanceof APIError && e.status === 503 && e.type === 'server_error',
    );
  });

  it('is retried by the SDK on a 500, every attempt being recorded', async () => {
    const retrying = new OpenAI({ baseURL: mock.url, apiKey: 'test-key', maxRetries: 2 });
    const before = mock.requests.length;
    await assert.rejects(
      retrying.chat.completions.create(
        { model: 'mock-gpt', messages: MESSAGES },
        { headers: { 'x-mock-status': '500', 'x-mock-retry-after': '0' } },
      ),
      (e: unknown) => e instanceof APIError && e.status === 500,
    );
    assert.equal(mock.requests.length - before, 3);
  });

  it('delays the answer by the latency asked for by header or model name', async () => {
    const quick = Date.now();
    await client.chat.completions.create({ model: 'mock-gpt', messages: MESSAGES });
    const quickMs = Date.now() - quick;
    for (const [model, headers] of [
      ['mock-gpt', { 'x-mock-latency-ms': '300' }],
      ['mock-latency-300', {}],
    ] as const) {
      const t0 = Date.now();
      await client.chat.completions.create({ model, messages: MESSAGES }, { headers });
      const ms = Date.now() - t0;
      assert.ok(ms >= 300, `${model}: answered after ${ms} ms`);
      assert.ok(ms >= quickMs + 250, `${model}: ${ms} ms vs ${quickMs} ms without latency`);
    }
  });

  it('returns embeddings with usage, in the base64 form the SDK asks for by default', async () => {
    const res = await client.embeddings.create({ model: 'mock-embedding', input: ['one two three', 'four'] });
    assert.equal(res.data.length, 2);
    assert.equal(res.data[0]?.embedding.length, 8);
    const norm = Math.hypot(...(res.data[0]?.embedding ?? []));
    assert.ok(Math.abs(norm - 1) < 1e-5, `unit length, got ${norm}`);
    assert.equal(res.usage.prompt_tokens, 4);
    assert.equal(res.usage.total_tokens, 4);
    assert.equal(
      (mock.requests.at(-1)?.body as { encoding_format?: string } | undefined)?.encoding_format,
      'base64',
    );
    const floats = await client.embeddings.create({
      model: 'mock-embedding',
      input: 'one two three',
      encoding_format: 'float',
      dimensions: 16,
    });
    assert.equal(floats.data[0]?.embedding.length, 16);
  });
});

describe('mock LLM as a judge', () => {
  it('answers FALSE when the judged text carries the WRONG marker and TRUE otherwise', async () => {
    const mock = await startMockLlm();
    try {
      const ask = async (content: string) => {
        const res = await fetch(`${mock.url}/chat/completions`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ model: 'mock-judge', messages: [{ role: 'user', content }] }),
        });
        const body = (await res.json()) as { choices: { message: { content: string } }[] };
        return body.choices[0]?.message.content.split('\n')[0];
      };
      assert.equal(await ask('<answer>Paris is in France.</answer>'), 'TRUE');
      assert.equal(await ask('<answer>Paris is in Spain. WRONG</answer>'), 'FALSE');
    } finally {
      await mock.close();
    }
  });
});
