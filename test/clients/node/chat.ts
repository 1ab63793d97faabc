/**
 * An OpenAI client instrumented with @opentelemetry/instrumentation-openai, for the integration tests.
 *
 *   node test/clients/node/chat.ts <chat|stream|tools|error|embed>
 *
 * Environment: LLM_BASE_URL (required, ending in /v1), LLM_MODEL, LLM_PROMPT, OPENAI_API_KEY, and the
 * standard OTEL_SERVICE_NAME, OTEL_RESOURCE_ATTRIBUTES, OTEL_EXPORTER_OTLP_ENDPOINT,
 * OTEL_EXPORTER_OTLP_TRACES_ENDPOINT, OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT. Spans go out as
 * OTLP/HTTP protobuf. Prints one JSON line describing the answer; exits 0 once the spans are exported,
 * 3 when exporting failed, 1 on any other unexpected failure.
 */
import { createRequire } from 'node:module';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { OpenAIInstrumentation } from '@opentelemetry/instrumentation-openai';
import { NodeSDK } from '@opentelemetry/sdk-node';
import type OpenAIClient from 'openai';

type Scenario = 'chat' | 'stream' | 'tools' | 'error' | 'embed';
const SCENARIOS: readonly Scenario[] = ['chat', 'stream', 'tools', 'error', 'embed'];

/** The SDK only logs failed exports; remembering them lets the client fail instead of a test timing out. */
class CheckedExporter extends OTLPTraceExporter {
  failure: string | undefined;
  exported = 0;
  override export(...[spans, done]: Parameters<OTLPTraceExporter['export']>): void {
    super.export(spans, (result) => {
      // ExportResultCode.SUCCESS is 0; @opentelemetry/core is not a direct dependency to import it from.
      if (result.code === 0) this.exported += spans.length;
      else this.failure = result.error?.message ?? 'unknown export error';
      done(result);
    });
  }
}

const scenario = process.argv[2] as Scenario;
if (!SCENARIOS.includes(scenario)) {
  console.error(`usage: node chat.ts <${SCENARIOS.join('|')}>`);
  process.exit(2);
}
const baseURL = process.env.LLM_BASE_URL;
if (!baseURL) {
  console.error('chat.ts: LLM_BASE_URL is required');
  process.exit(2);
}
const defaultModel =
  scenario === 'error' ? 'mock-error-429' : scenario === 'embed' ? 'mock-embedding' : 'mock-gpt';
const model = process.env.LLM_MODEL || defaultModel;
const prompt = process.env.LLM_PROMPT || 'What is the capital of France?';

// The instrumentation also emits message content as log records and records metrics. Unless asked
// for, keep those off: their default OTLP exporters would otherwise post to a traces-only backend.
process.env.OTEL_LOGS_EXPORTER ??= 'none';
process.env.OTEL_METRICS_EXPORTER ??= 'none';

const exporter = new CheckedExporter();
const sdk = new NodeSDK({ traceExporter: exporter, instrumentations: [new OpenAIInstrumentation()] });
sdk.start();

// openai must be loaded after the SDK started, and through require: the instrumentation patches the module
// from a require-in-the-middle hook, while a plain `import()` would only be seen with an ESM loader hook
// (`--import` of a module registering @opentelemetry/instrumentation/hook.mjs), which this avoids needing.
const require = createRequire(import.meta.url);
const { OpenAI, APIError } = require('openai') as typeof import('openai');

const client = new OpenAI({
  baseURL,
  apiKey: process.env.OPENAI_API_KEY || 'mock-key',
  maxRetries: 0,
  timeout: 30_000,
});
const messages: OpenAIClient.ChatCompletionMessageParam[] = [
  { role: 'system', content: 'You are a helpful assistant.' },
  { role: 'user', content: prompt },
];
const weatherTool: OpenAIClient.ChatCompletionTool = {
  type: 'function',
  function: {
    name: 'get_weather',
    description: 'Current weather for a city',
    parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
  },
};

async function run(): Promise<Record<string, unknown>> {
  switch (scenario) {
    case 'chat': {
      const res = await client.chat.completions.create({ model, messages });
      const choice = res.choices[0];
      return {
        content: choice?.message.content,
        finish_reason: choice?.finish_reason,
        usage: res.usage,
        response_id: res.id,
      };
    }
    case 'stream': {
      const stream = await client.chat.completions.create({
        model,
        messages,
        stream: true,
        stream_options: { include_usage: true },
      });
      let content = '';
      let finish: string | undefined;
      let usage: OpenAIClient.CompletionUsage | undefined;
      let responseId: string | undefined;
      // The instrumentation ends the span when the stream is consumed to the end.
      for await (const chunk of stream) {
        responseId ??= chunk.id;
        if (chunk.usage) usage = chunk.usage;
        for (const c of chunk.choices) {
          content += c.delta.content ?? '';
          finish = c.finish_reason ?? finish;
        }
      }
      return { content, finish_reason: finish, usage, response_id: responseId };
    }
    case 'tools': {
      const first = await client.chat.completions.create({ model, messages, tools: [weatherTool] });
      const msg = first.choices[0]?.message;
      const calls = (msg?.tool_calls ?? []).filter((c) => c.type === 'function');
      if (msg === undefined || calls.length === 0) {
        throw new Error(`expected a tool call, got ${first.choices[0]?.finish_reason}: ${msg?.content}`);
      }
      const followUp: OpenAIClient.ChatCompletionMessageParam[] = [
        ...messages,
        msg,
        ...calls.map((c) => ({
          role: 'tool' as const,
          tool_call_id: c.id,
          content: '18 degrees and cloudy',
        })),
      ];
      const second = await client.chat.completions.create({
        model,
        messages: followUp,
        tools: [weatherTool],
      });
      return {
        tool_calls: calls.map((c) => ({ id: c.id, name: c.function.name, arguments: c.function.arguments })),
        content: second.choices[0]?.message.content,
        finish_reason: second.choices[0]?.finish_reason,
        usage: [first.usage, second.usage],
      };
    }
    case 'error': {
      try {
        await client.chat.completions.create({ model, messages });
      } catch (err: unknown) {
        if (err instanceof APIError) {
          return { error: { status: err.status, type: err.constructor.name, message: err.message } };
        }
        throw err;
      }
      throw new Error(`expected the LLM call with model ${model} to fail, it succeeded`);
    }
    case 'embed': {
      const res = await client.embeddings.create({ model, input: [prompt] });
      return { dimensions: res.data[0]?.embedding.length, usage: res.usage };
    }
  }
}

let status = 0;
try {
  const out = await run();
  console.log(JSON.stringify({ client: 'node', scenario, model, ...out }));
} catch (err: unknown) {
  console.error(`chat.ts: ${scenario} failed: ${err instanceof Error ? err.stack : String(err)}`);
  status = 1;
}
// shutdown() flushes the batch span processor before resolving.
await sdk.shutdown();
if (exporter.failure !== undefined && status === 0) {
  const endpoint =
    process.env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT ?? process.env.OTEL_EXPORTER_OTLP_ENDPOINT ?? '(default)';
  console.error(`chat.ts: exporting spans to ${endpoint} failed: ${exporter.failure}`);
  status = 3;
}
process.exit(status);
