import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { type PythonVariant, runNodeClient, runPythonClient } from '../harness/clients.ts';
import { type Jaeger, type JaegerSpan, startJaeger } from '../harness/jaeger.ts';
import { port, processorConfig, type RunningProcessor, startProcessor } from '../harness/llmobs-processor.ts';
import { type RunningPrometheus, startPrometheus } from '../harness/prometheus.ts';
import { type MockLlm, type RecordedRequest, startMockLlm } from '../mock-llm/server.ts';

/**
 * OpenAI's published gpt-4o-mini prices, per million tokens: $0.15 input, $0.60 output. The mock
 * reports no cached tokens for these calls, so cost = prompt × 0.15 + completion × 0.60, per million.
 */
const GPT_4O_MINI = { input: 0.15, output: 0.6 };
const MODEL = 'gpt-4o-mini';

function expectedCost(r: RecordedRequest): number {
  assert.ok(r.usage, 'the mock computed a usage');
  return (r.usage.prompt_tokens * GPT_4O_MINI.input + r.usage.completion_tokens * GPT_4O_MINI.output) / 1e6;
}

function assertPriced(span: JaegerSpan, request: RecordedRequest, who: string): void {
  const amount = span.attributes['gen_ai.usage.cost.amount'];
  assert.equal(typeof amount, 'number', `${who}: cost on the span (${JSON.stringify(span.attributes)})`);
  assert.ok(
    Math.abs((amount as number) - expectedCost(request)) < 1e-12,
    `${who}: ${amount} ≠ ${expectedCost(request)}`,
  );
  assert.equal(span.attributes['gen_ai.usage.cost.currency'], 'USD');
  assert.equal(span.attributes['gen_ai.usage.cost.status'], 'ok');
  assert.equal(span.attributes['gen_ai.usage.cost.model'], MODEL);
}

describe('cost and GenAI metrics with real instrumented clients, Jaeger and Prometheus', () => {
  let mock: MockLlm;
  let jaeger: Jaeger;
  let proc: RunningProcessor;
  let prom: RunningPrometheus;
  const services: string[] = [];
  const requests: RecordedRequest[] = [];

  before(async () => {
    [mock, jaeger] = await Promise.all([startMockLlm(), startJaeger()]);
    proc = await startProcessor({
      config: processorConfig({
        processors: {
          llm_cost: {},
          llm_metrics: { metrics_pipelines: ['metrics/genai'], flush_interval: '500ms' },
        },
        exporters: {
          'otlp_grpc/jaeger': { endpoint: jaeger.otlpGrpcEndpoint, tls: { insecure: true } },
          prometheus: { endpoint: `127.0.0.1:${port('prom')}` },
        },
        pipelines: {
          traces: { processors: ['llm_cost', 'llm_metrics'], exporters: ['otlp_grpc/jaeger'] },
          'metrics/genai': { receivers: [], exporters: ['prometheus'] },
        },
      }),
    });
    prom = await startPrometheus({
      scrapeTargets: [`127.0.0.1:${proc.ports.prom}`],
      scrapeIntervalMs: 500,
      jobName: 'genai',
    });
  });
  after(async () => {
    await prom?.stop();
    const code = await proc?.stop();
    await Promise.all([jaeger?.stop(), mock?.close()]);
    assert.equal(code, 0, 'the processor exits cleanly');
  });

  const python: PythonVariant[] = ['openai-v2', 'openllmetry', 'openinference'];
  for (const variant of python) {
    test(`Python ${variant}: Jaeger shows the cost of the call on its LLM span`, async () => {
      const serviceName = `cost-py-${variant}-${randomBytes(3).toString('hex')}`;
      const prompt = `What does a prism do? ${randomBytes(4).toString('hex')}`;
      await runPythonClient({
        variant,
        scenario: 'chat',
        model: MODEL,
        serviceName,
        prompt,
        llmBaseUrl: mock.url,
        otlpEndpoint: proc.otlpHttpEndpoint,
      });
      const request = mock.requests.find((r) => JSON.stringify(r.body).includes(prompt));
      assert.ok(request);
      const spans = await jaeger.waitForSpans(
        serviceName,
        (s) => s.attributes['gen_ai.usage.cost.status'] !== undefined,
      );
      assert.equal(spans.length, 1, 'one LLM span carries a cost status');
      assertPriced(spans[0] as JaegerSpan, request, variant);
      services.push(serviceName);
      requests.push(request);
    });
  }

  test('Node @opentelemetry/instrumentation-openai: cost on the span, streaming included', async () => {
    for (const scenario of ['chat', 'stream'] as const) {
      const serviceName = `cost-node-${scenario}-${randomBytes(3).toString('hex')}`;
      const prompt = `Name a colour of the rainbow ${randomBytes(4).toString('hex')}`;
      await runNodeClient({
        scenario,
        model: MODEL,
        serviceName,
        prompt,
        llmBaseUrl: mock.url,
        otlpEndpoint: proc.otlpHttpEndpoint,
      });
      const request = mock.requests.find((r) => JSON.stringify(r.body).includes(prompt));
      assert.ok(request);
      const [span] = await jaeger.waitForSpans(
        serviceName,
        (s) => s.attributes['gen_ai.usage.cost.status'] !== undefined,
      );
      assert.ok(span);
      assertPriced(span, request, `node ${scenario}`);
      services.push(serviceName);
      requests.push(request);
    }
  });

  test('Prometheus scrapes token, cost and duration metrics that add up to the calls', async () => {
    assert.ok(services.length > 0, 'the client tests ran first');
    const inputTokens = requests.reduce((a, r) => a + (r.usage?.prompt_tokens ?? 0), 0);
    const outputTokens = requests.reduce((a, r) => a + (r.usage?.completion_tokens ?? 0), 0);
    const cost = requests.reduce((a, r) => a + expectedCost(r), 0);
    const jobs = services.join('|');
    const sumOf = async (promql: string, want: number) => {
      const r = await prom.waitForQuery(
        promql,
        (s) => s.length === 1 && Math.abs((s[0]?.value ?? 0) - want) < 1e-9,
        20_000,
      );
      return r[0]?.value;
    };
    await sumOf(`sum(llmobs_tokens_total{exported_job=~"${jobs}",gen_ai_token_type="input"})`, inputTokens);
    await sumOf(`sum(llmobs_tokens_total{exported_job=~"${jobs}",gen_ai_token_type="output"})`, outputTokens);
    await sumOf(`sum(llmobs_cost_total{exported_job=~"${jobs}",gen_ai_usage_cost_currency="USD"})`, cost);
    await sumOf(`sum(llmobs_calls_total{exported_job=~"${jobs}",llmobs_stage="llm"})`, requests.length);
    await sumOf(
      `sum(gen_ai_client_token_usage_count{exported_job=~"${jobs}",gen_ai_token_type="input",gen_ai_operation_name="chat"})`,
      requests.length,
    );
    const buckets = await prom.query(
      `gen_ai_client_operation_duration_seconds_bucket{exported_job=~"${jobs}",le="81.92"}`,
    );
    assert.ok(buckets.length > 0, 'semconv duration buckets reach Prometheus');
  });
});
