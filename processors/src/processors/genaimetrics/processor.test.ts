import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { FieldError } from '../../component/factory.ts';
import type { HistogramDataPoint, Metric, MetricsRequest, NumberDataPoint } from '../../otlp/model.ts';
import { metricValue, settings, sink } from '../../testing/components.ts';
import { DEFAULT_TRACE, type SpanSpec, traces } from '../../testing/genai-spans.ts';
import { type GenAiMetricsConfig, parseGenAiMetricsConfig } from './config.ts';
import { GenAiMetricsProcessor } from './processor.ts';

function config(block: Record<string, unknown> = {}): GenAiMetricsConfig {
  const c = parseGenAiMetricsConfig({ metrics_pipelines: ['metrics/genai'], ...block });
  assert.ok(!Array.isArray(c), JSON.stringify(c));
  return c;
}

function setup(block: Record<string, unknown> = {}) {
  const out = sink<'metrics'>();
  const next = sink<'traces'>();
  const set = settings('llm_metrics', { 'metrics/genai': out });
  const p = new GenAiMetricsProcessor(set, config(block), next);
  return { p, out, next, set };
}

function metric(req: MetricsRequest, name: string): Metric[] {
  return req.resourceMetrics.flatMap((rm) =>
    rm.scopeMetrics.flatMap((sm) => sm.metrics.filter((m) => m.name === name)),
  );
}
function points(req: MetricsRequest, name: string): (NumberDataPoint | HistogramDataPoint)[] {
  return metric(req, name).flatMap(
    (m) => m.sum?.dataPoints ?? m.histogram?.dataPoints ?? m.gauge?.dataPoints ?? [],
  );
}
const label = (
  p: {
    attributes: { key: string; value?: { stringValue?: string | null; boolValue?: boolean | null } | null }[];
  },
  k: string,
) => {
  const v = p.attributes.find((a) => a.key === k)?.value;
  return v?.stringValue ?? v?.boolValue ?? undefined;
};

const chat = (
  extra: Record<string, string | number | boolean> = {},
  more: Partial<SpanSpec> = {},
): SpanSpec => ({
  attrs: {
    'gen_ai.operation.name': 'chat',
    'gen_ai.provider.name': 'openai',
    'gen_ai.request.model': 'gpt-4o',
    'gen_ai.response.model': 'gpt-4o-2024-08-06',
    'gen_ai.usage.input_tokens': 1000,
    'gen_ai.usage.cache_read.input_tokens': 400,
    'gen_ai.usage.output_tokens': 200,
    ...extra,
  },
  durationMs: 1500,
  ...more,
});

describe('llm_metrics', () => {
  it('derives semconv token usage and duration histograms with their advised buckets', async () => {
    const { p, out } = setup();
    p.observe(
      traces([chat(), chat({ 'gen_ai.usage.input_tokens': 20, 'gen_ai.usage.cache_read.input_tokens': 0 })]),
    );
    await p.flush();
    const req = out.received[0];
    assert.ok(req);
    const usage = points(req, 'gen_ai.client.token.usage') as HistogramDataPoint[];
    const input = usage.find((d) => label(d, 'gen_ai.token.type') === 'input');
    assert.equal(Number(input?.count), 2);
    assert.equal(input?.sum, 1020);
    assert.deepEqual(input?.explicitBounds.slice(0, 4), [1, 4, 16, 64]);
    assert.equal(input?.explicitBounds.at(-1), 67108864);
    assert.equal(label(input as HistogramDataPoint, 'gen_ai.operation.name'), 'chat');
    assert.equal(label(input as HistogramDataPoint, 'gen_ai.provider.name'), 'openai');
    assert.equal(label(input as HistogramDataPoint, 'gen_ai.request.model'), 'gpt-4o');
    const dur = points(req, 'gen_ai.client.operation.duration') as HistogramDataPoint[];
    assert.equal(dur[0]?.sum, 3);
    assert.deepEqual(dur[0]?.explicitBounds.slice(0, 3), [0.01, 0.02, 0.04]);
    assert.equal(dur[0]?.explicitBounds.at(-1), 81.92);
    // 1.5 s falls in the (1.28, 2.56] bucket, index 8.
    assert.equal(Number(dur[0]?.bucketCounts[8]), 2);
    assert.equal(metric(req, 'gen_ai.client.operation.duration')[0]?.unit, 's');
  });

  it('counts RED per pipeline stage, with error.type on failures', async () => {
    const { p, out } = setup();
    p.observe(
      traces([
        chat(),
        chat({}, { status: 2 }),
        { attrs: { 'openinference.span.kind': 'RETRIEVER' }, durationMs: 50 },
        {
          attrs: {
            'gen_ai.operation.name': 'execute_tool',
            'gen_ai.tool.name': 'search',
            'error.type': 'TimeoutError',
          },
        },
        { attrs: { 'http.method': 'GET' } },
      ]),
    );
    await p.flush();
    const calls = points(out.received[0] as MetricsRequest, 'llmobs.calls') as NumberDataPoint[];
    const by = (stage: string, err?: string) =>
      calls
        .filter((d) => label(d, 'llmobs.stage') === stage && label(d, 'error.type') === err)
        .reduce((a, d) => a + (d.asDouble ?? 0), 0);
    assert.equal(by('llm'), 1);
    assert.equal(by('llm', '_OTHER'), 1);
    assert.equal(by('retrieval'), 1);
    assert.equal(by('tool', 'TimeoutError'), 1);
    assert.equal(
      calls.reduce((a, d) => a + (d.asDouble ?? 0), 0),
      4,
      'the plain HTTP span is not a GenAI operation',
    );
  });

  it('counts tokens in disjoint buckets and the cache hit ratio', async () => {
    const { p, out } = setup();
    p.observe(traces([chat(), chat()]));
    await p.flush();
    const req = out.received[0] as MetricsRequest;
    const tokens = points(req, 'llmobs.tokens') as NumberDataPoint[];
    const of = (t: string) => tokens.find((d) => label(d, 'gen_ai.token.type') === t)?.asDouble;
    assert.equal(of('input'), 1200);
    assert.equal(of('cache_read'), 800);
    assert.equal(of('output'), 400);
    const ratio = points(req, 'llmobs.cache.hit_ratio') as NumberDataPoint[];
    assert.equal(ratio[0]?.asDouble, 0.4);
  });

  it('sums the cost llm_cost wrote, by currency', async () => {
    const { p, out } = setup();
    p.observe(
      traces([
        chat({ 'gen_ai.usage.cost.amount': 0.0125, 'gen_ai.usage.cost.currency': 'USD' }),
        chat({ 'gen_ai.usage.cost.amount': 0.0075, 'gen_ai.usage.cost.currency': 'USD' }),
      ]),
    );
    await p.flush();
    const cost = points(out.received[0] as MetricsRequest, 'llmobs.cost') as NumberDataPoint[];
    assert.equal(cost.length, 1);
    assert.ok(Math.abs((cost[0]?.asDouble ?? 0) - 0.02) < 1e-12);
    assert.equal(label(cost[0] as NumberDataPoint, 'gen_ai.usage.cost.currency'), 'USD');
  });

  it('records time to first chunk where the instrumentation reports it', async () => {
    const { p, out } = setup();
    p.observe(traces([chat({ 'gen_ai.response.time_to_first_chunk': 0.3 })]));
    await p.flush();
    const ttfc = points(
      out.received[0] as MetricsRequest,
      'gen_ai.client.operation.time_to_first_chunk',
    ) as HistogramDataPoint[];
    assert.equal(ttfc[0]?.sum, 0.3);
  });

  it('groups series by the service resource and keeps cumulative totals across flushes', async () => {
    const { p, out } = setup();
    p.observe(traces([chat()], { 'service.name': 'a', 'k8s.pod.name': 'a-1' }));
    p.observe(traces([chat()], { 'service.name': 'b' }));
    await p.flush(Date.now());
    p.observe(traces([chat()], { 'service.name': 'a', 'k8s.pod.name': 'a-2' }));
    await p.flush(Date.now() + 1);
    const last = out.received[1] as MetricsRequest;
    const services = last.resourceMetrics.map((rm) =>
      rm.resource?.attributes.map((a) => `${a.key}=${a.value?.stringValue}`).join(','),
    );
    assert.deepEqual(services.sort(), ['service.name=a', 'service.name=b'], 'pod names do not split series');
    const a = last.resourceMetrics.find((rm) => rm.resource?.attributes[0]?.value?.stringValue === 'a');
    const calls = a?.scopeMetrics[0]?.metrics.find((m) => m.name === 'llmobs.calls')?.sum;
    assert.equal(calls?.dataPoints[0]?.asDouble, 2);
    assert.equal(calls?.aggregationTemporality, 2);
    assert.equal(calls?.isMonotonic, true);
  });

  it('passes spans on unchanged', async () => {
    const { p, next } = setup();
    const req = traces([chat()]);
    const before = JSON.stringify(req);
    await p.consume(req);
    assert.equal(JSON.stringify(next.received[0]), before);
  });

  it('keeps a storm of 1,000,000 distinct user.id values within the series limit, with exact totals', async () => {
    const limit = 50;
    const { p, out, set } = setup({
      dimensions: [{ name: 'user.id' }],
      cardinality: { max_series_per_metric: limit },
    });
    const users = 1_000_000;
    const batch = 1000;
    let inputTokens = 0;
    for (let b = 0; b < users / batch; b++) {
      const specs: SpanSpec[] = [];
      for (let i = 0; i < batch; i++) {
        const n = b * batch + i;
        const tokens = (n % 97) + 1;
        inputTokens += tokens;
        specs.push({
          traceId: DEFAULT_TRACE,
          attrs: {
            'gen_ai.operation.name': 'chat',
            'gen_ai.request.model': 'gpt-4o',
            'gen_ai.usage.input_tokens': tokens,
            'user.id': `user-${n}`,
          },
        });
      }
      p.observe(traces(specs));
      const counts = p.aggregator.seriesCounts();
      for (const [name, n] of counts) assert.ok(n <= limit + 1, `${name} holds ${n} series`);
    }
    await p.flush();
    const req = out.received[0] as MetricsRequest;
    const calls = points(req, 'llmobs.calls') as NumberDataPoint[];
    assert.ok(calls.length <= limit + 1);
    assert.equal(
      calls.reduce((a, d) => a + (d.asDouble ?? 0), 0),
      users,
      'calls over all series = spans',
    );
    const overflow = calls.find((d) => label(d, 'otel.metric.overflow') === true);
    assert.equal(overflow?.asDouble, users - limit);
    assert.deepEqual(
      overflow?.attributes.map((a) => a.key),
      ['otel.metric.overflow'],
    );
    const tokens = points(req, 'llmobs.tokens') as NumberDataPoint[];
    assert.equal(
      tokens.reduce((a, d) => a + (d.asDouble ?? 0), 0),
      inputTokens,
      'tokens over all series = input',
    );
    const hist = points(req, 'gen_ai.client.token.usage') as HistogramDataPoint[];
    assert.equal(
      hist.reduce((a, d) => a + Number(d.count), 0),
      users,
    );
    assert.equal(
      await metricValue(set.telemetry, 'llmobs_derived_metrics_series', { metric: 'llmobs.calls' }),
      calls.length,
    );
    assert.equal(
      await metricValue(set.telemetry, 'llmobs_cardinality_overflow_points_total', {
        processor: 'llm_metrics',
        metric: 'llmobs.calls',
      }),
      users - limit,
      'every overflowed measurement is counted',
    );
  });

  it('caps the values of a dimension with __other__', async () => {
    const { p, out } = setup({
      dimensions: [{ name: 'team', default: 'none' }],
      cardinality: { attribute_value_caps: [{ key: 'team', max_values: 2 }] },
    });
    p.observe(traces(['a', 'b', 'c', 'd'].map((team) => chat({ team }))));
    p.observe(traces([chat()]));
    await p.flush();
    const calls = points(out.received[0] as MetricsRequest, 'llmobs.calls') as NumberDataPoint[];
    const teams = calls.map((d) => `${label(d, 'team')}=${d.asDouble}`).sort();
    assert.deepEqual(teams, ['__other__=3', 'a=1', 'b=1']);
  });

  it('reports a configured pipeline that is not running, and carries totals to the next flush when refused', async () => {
    const refusing = {
      calls: 0,
      async consume() {
        this.calls++;
        if (this.calls === 1) throw new Error('queue full');
      },
    };
    const set = settings('llm_metrics', { 'metrics/genai': refusing });
    const p = new GenAiMetricsProcessor(
      set,
      config({ metrics_pipelines: ['metrics/genai', 'metrics/gone'] }),
      sink(),
    );
    p.observe(traces([chat()]));
    await p.flush();
    await p.flush();
    assert.equal(refusing.calls, 2);
    assert.equal(
      await metricValue(set.telemetry, 'llmobs_derived_metrics_flushes_total', { result: 'refused' }),
      1,
    );
    assert.equal(
      await metricValue(set.telemetry, 'llmobs_derived_metrics_flushes_total', { result: 'ok' }),
      1,
    );
    assert.equal(
      await metricValue(set.telemetry, 'llmobs_derived_metrics_flushes_total', {
        pipeline: 'metrics/gone',
        result: 'missing',
      }),
      2,
    );
  });
});

describe('llm_metrics config', () => {
  const errs = (block: Record<string, unknown>) => parseGenAiMetricsConfig(block) as FieldError[];
  it('names the field of each mistake', () => {
    const e = errs({
      metrics_pipelines: ['metrics/x'],
      flush_interval: '5 minutes',
      dimensions: [{ name: 'a' }, { name: 'a' }],
    });
    assert.deepEqual(
      e.map((x) => x.path),
      ['flush_interval', 'dimensions.1.name'],
    );
  });
});
