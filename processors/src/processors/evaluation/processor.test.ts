import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { type MockLlm, startMockLlm } from '../../../../test/mock-llm/server.ts';
import type { FieldError } from '../../component/factory.ts';
import type { MetricsRequest, NumberDataPoint, Span, TracesRequest } from '../../otlp/model.ts';
import { metricValue, settings, sink } from '../../testing/components.ts';
import { type AttrValue, attr, firstSpans, type SpanSpec, traces } from '../../testing/genai-spans.ts';
import { type EvaluationConfig, parseEvaluationConfig } from './config.ts';
import { EvaluationProcessor } from './processor.ts';

let mock: MockLlm;
before(async () => {
  mock = await startMockLlm();
});
after(() => mock.close());

function config(block: Record<string, unknown> = {}, judge: Record<string, unknown> = {}): EvaluationConfig {
  const c = parseEvaluationConfig({
    judge: {
      endpoint: mock.url,
      model: 'mock-judge',
      timeout: '5s',
      price: { input: 1, output: 2 },
      ...judge,
    },
    rubrics: [{ name: 'answered', question: 'Does the answer address the question?' }],
    sampling_percentage: 100,
    metrics_pipelines: ['metrics/eval'],
    ...block,
  });
  assert.ok(!Array.isArray(c), JSON.stringify(c));
  return c;
}

function setup(block: Record<string, unknown> = {}, judge: Record<string, unknown> = {}) {
  const next = sink<'traces'>();
  const metrics = sink<'metrics'>();
  const set = settings('llm_evaluation', { 'metrics/eval': metrics });
  const p = new EvaluationProcessor(set, config(block, judge), next);
  return { p, next, metrics, set };
}

let traceSeq = 0;
/** A chat call whose answer carries the WRONG marker when `wrong`, in its own trace. */
function call(answer: string, extra: Record<string, AttrValue> = {}, more: Partial<SpanSpec> = {}): SpanSpec {
  traceSeq++;
  return {
    traceId: traceSeq.toString(16).padStart(32, 'a'),
    spanId: traceSeq.toString(16).padStart(16, 'b'),
    parentSpanId: '00000000000000aa',
    attrs: {
      'gen_ai.operation.name': 'chat',
      'gen_ai.provider.name': 'openai',
      'gen_ai.request.model': 'gpt-4o-mini',
      'gen_ai.input.messages': JSON.stringify([
        { role: 'user', parts: [{ type: 'text', content: 'Where is Paris?' }] },
      ]),
      'gen_ai.output.messages': JSON.stringify([
        { role: 'assistant', parts: [{ type: 'text', content: answer }] },
      ]),
      ...extra,
    },
    ...more,
  };
}

const verdictSpans = (next: { received: TracesRequest[] }): Span[] =>
  next.received.flatMap(firstSpans).filter((s) => s.name?.startsWith('evaluate '));

describe('llm_evaluation', () => {
  it('links a verdict span to each judged call, with the semconv evaluation event', async () => {
    const { p, next } = setup();
    const good = call('Paris is in France.');
    const bad = call('Paris is in Spain. WRONG');
    await p.consume(traces([good, bad]));
    await p.idle();
    const verdicts = verdictSpans(next);
    assert.equal(verdicts.length, 2);
    for (const [spec, want] of [
      [good, 'pass'],
      [bad, 'fail'],
    ] as const) {
      const v = verdicts.find((s) => Buffer.from(s.parentSpanId ?? []).toString('hex') === spec.spanId);
      assert.ok(v, `a verdict for ${spec.spanId}`);
      assert.equal(Buffer.from(v.traceId ?? []).toString('hex'), spec.traceId, 'in the judged call’s trace');
      assert.equal(attr(v, 'gen_ai.evaluation.name'), 'answered');
      assert.equal(attr(v, 'gen_ai.evaluation.score.label'), want);
      assert.equal(attr(v, 'gen_ai.evaluation.score.value'), want === 'pass' ? 1 : 0);
      assert.equal(attr(v, 'llmobs.eval.verdict'), want === 'pass');
      assert.equal(v.events[0]?.name, 'gen_ai.evaluation.result');
    }
  });

  it('hands the calls on before the judge answers, and loses none when the judge is down', async () => {
    const { p, next, set } = setup({}, { model: 'mock-judge-error-503' });
    await p.consume(traces([call('a'), call('b')]));
    assert.equal(next.received.length, 1, 'the request went on at once');
    await p.idle();
    assert.equal(firstSpans(next.received[0] as TracesRequest).length, 2);
    assert.equal(verdictSpans(next).length, 0);
    assert.equal(
      await metricValue(set.telemetry, 'llmobs_eval_judgments_total', { result: 'error_http' }),
      2,
    );
  });

  it('gives up on a judge that does not answer in time, and counts it', async () => {
    const { p, next, set } = setup({}, { model: 'mock-judge-latency-3000', timeout: '200ms' });
    await p.consume(traces([call('a')]));
    assert.equal(next.received.length, 1);
    await p.idle();
    assert.equal(
      await metricValue(set.telemetry, 'llmobs_eval_judgments_total', { result: 'error_timeout' }),
      1,
    );
  });

  it('holds the calls-per-minute budget', async () => {
    const { p, set } = setup({ budget: { max_requests_per_minute: 3 } });
    await p.consume(traces(Array.from({ length: 10 }, (_, i) => call(`answer ${i}`))));
    await p.idle();
    assert.equal(mock.requests.filter((r) => r.model === 'mock-judge').length > 0, true);
    assert.equal(await metricValue(set.telemetry, 'llmobs_eval_judgments_total', { result: 'pass' }), 3);
    assert.equal(await metricValue(set.telemetry, 'llmobs_eval_skipped_total', { reason: 'budget_rate' }), 7);
  });

  it('holds the cost budget: spend never passes the cap, even with calls in flight', async () => {
    // $1000 per million tokens: a judge call costs about $0.1 and reserves a bound of about $0.8 (one token
    // per character) while in flight; a $2 cap lets some through and stops the rest.
    const { p, set } = setup(
      { budget: { max_cost_per_hour: 2 } },
      { price: { input: 1000, output: 1000 }, max_concurrency: 4 },
    );
    await p.consume(traces(Array.from({ length: 20 }, (_, i) => call(`answer number ${i}`))));
    await p.idle();
    const spent = await metricValue(set.telemetry, 'llmobs_eval_judge_cost_usd_total', {});
    const judged = await metricValue(set.telemetry, 'llmobs_eval_judgments_total', { result: 'pass' });
    assert.ok(judged > 0 && judged < 20, `${judged} judged`);
    assert.ok(spent > 0 && spent <= 2, `spent ${spent}`);
    assert.equal(
      await metricValue(set.telemetry, 'llmobs_eval_skipped_total', { reason: 'budget_cost' }),
      20 - judged,
    );
  });

  it('judges a sampled share by trace id, and every failed call whatever the share', async () => {
    const { p, next } = setup({ sampling_percentage: 0 });
    await p.consume(
      traces([call('fine'), call('boom', { 'error.type': 'RateLimitError' }), call('x', {}, { status: 2 })]),
    );
    await p.idle();
    assert.equal(verdictSpans(next).length, 2);
  });

  it('skips calls whose content was not captured, and says why', async () => {
    const { p, set } = setup();
    await p.consume(
      traces([{ attrs: { 'gen_ai.operation.name': 'chat', 'gen_ai.request.model': 'gpt-4o' } }]),
    );
    await p.idle();
    assert.equal(await metricValue(set.telemetry, 'llmobs_eval_skipped_total', { reason: 'no_content' }), 1);
  });

  it('feeds pass and fail counts per rubric and model into the metrics pipelines', async () => {
    const { p, metrics } = setup();
    await p.consume(traces([call('ok'), call('ok too'), call('WRONG')]));
    await p.idle();
    await p.feed.flush();
    const req = metrics.received[0] as MetricsRequest;
    const verdicts = req.resourceMetrics
      .flatMap((rm) => rm.scopeMetrics.flatMap((sm) => sm.metrics))
      .filter((m) => m.name === 'llmobs.eval.verdicts')
      .flatMap((m) => m.sum?.dataPoints ?? []) as NumberDataPoint[];
    const count = (v: string) =>
      verdicts
        .filter((d) =>
          d.attributes.some((a) => a.key === 'llmobs.eval.verdict' && a.value?.stringValue === v),
        )
        .reduce((a, d) => a + (d.asDouble ?? 0), 0);
    assert.equal(count('pass'), 2);
    assert.equal(count('fail'), 1);
  });

  it('judges groundedness only where the trace retrieved documents', async () => {
    const { p, next, set } = setup({
      rubrics: [
        { name: 'grounded', question: 'Is the answer supported by the documents?', needs_documents: true },
      ],
    });
    const rag = call('Refunds take 5 days.');
    await p.consume(
      traces([
        {
          traceId: rag.traceId,
          attrs: {
            'openinference.span.kind': 'RETRIEVER',
            'retrieval.documents.0.document.content': 'Refunds take 5 days.',
          },
        },
        rag,
        call('no retrieval here'),
      ]),
    );
    await p.idle();
    assert.equal(verdictSpans(next).length, 1);
    assert.equal(
      await metricValue(set.telemetry, 'llmobs_eval_skipped_total', { reason: 'no_documents' }),
      1,
    );
    const judged = mock.requests.filter((r) => JSON.stringify(r.body).includes('<documents>'));
    assert.ok(judged.length >= 1, 'the documents went to the judge');
  });
});

describe('llm_evaluation and user feedback', () => {
  it('counts thumbs up and down like verdicts of the rubric user_feedback', async () => {
    const { p, metrics } = setup();
    await p.consume(
      traces([
        { name: 'feedback', attrs: { 'llmobs.feedback.value': 'thumbs_down' } },
        { name: 'feedback', attrs: { 'llmobs.feedback.value': 'thumbs_up' } },
        { name: 'feedback', attrs: { 'llmobs.feedback.value': 'thumbs_down' } },
      ]),
    );
    await p.feed.flush();
    const points = (metrics.received[0] as MetricsRequest).resourceMetrics
      .flatMap((rm) => rm.scopeMetrics.flatMap((sm) => sm.metrics))
      .filter((m) => m.name === 'llmobs.eval.verdicts')
      .flatMap((m) => m.sum?.dataPoints ?? []);
    const of = (v: string) =>
      points.find(
        (d) =>
          d.attributes.some((a) => a.value?.stringValue === 'user_feedback') &&
          d.attributes.some((a) => a.key === 'llmobs.eval.verdict' && a.value?.stringValue === v),
      )?.asDouble;
    assert.equal(of('fail'), 2);
    assert.equal(of('pass'), 1);
  });
});

describe('llm_evaluation config', () => {
  it('refuses a cost cap for a judge model it cannot price, naming judge.price', () => {
    const e = parseEvaluationConfig({
      judge: { endpoint: 'http://vllm:8000/v1', model: 'my-local-judge' },
      rubrics: [{ name: 'a', question: 'q' }],
      budget: { max_cost_per_hour: 1 },
    }) as FieldError[];
    assert.equal(e[0]?.path, 'judge.price');
  });
  it('names duplicate rubrics', () => {
    const e = parseEvaluationConfig({
      judge: { endpoint: 'http://vllm:8000/v1', model: 'gpt-4o-mini' },
      rubrics: [
        { name: 'a', question: 'q' },
        { name: 'a', question: 'q2' },
      ],
    }) as FieldError[];
    assert.equal(e[0]?.path, 'rubrics.1.name');
  });
});
