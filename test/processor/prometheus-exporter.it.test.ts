import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { decodeRequest, encodeRequest } from '../../processors/src/otlp/codec.ts';
import { port, processorConfig, type RunningProcessor, startProcessor } from '../harness/llmobs-processor.ts';
import {
  type PromSample,
  parseExposition,
  promtoolCheckMetrics,
  type RunningPrometheus,
  startPrometheus,
  sumSamples,
} from '../harness/prometheus.ts';

type Attr = string | number | boolean;

/** OTLP/JSON attributes (int64 as decimal strings, as the JSON mapping asks). */
function kv(o: Readonly<Record<string, Attr>>): object[] {
  return Object.entries(o).map(([key, v]) => ({
    key,
    value:
      typeof v === 'string'
        ? { stringValue: v }
        : typeof v === 'boolean'
          ? { boolValue: v }
          : Number.isInteger(v)
            ? { intValue: String(v) }
            : { doubleValue: v },
  }));
}

const RESOURCE = {
  'service.namespace': 'shop',
  'service.name': 'chat',
  'service.instance.id': 'pod-1',
  'k8s.pod.name': 'chat-7d9f',
};
const PROMPT = 'say "hi"\nthen \\ stop';
const INPUT = { 'gen_ai.token.type': 'input', 'gen_ai.request.model': 'gpt-4o-mini' };
const BOUNDS = [1, 4, 16, 64, 256, 1024];

const ns = (ms: number) => String(BigInt(ms) * 1_000_000n);

/** An OTLP/JSON request from the chat service's instrumentation scope. */
function exportOf(metrics: readonly object[]): string {
  return JSON.stringify({
    resourceMetrics: [
      {
        resource: { attributes: kv(RESOURCE) },
        scopeMetrics: [
          { scope: { name: 'openinference.instrumentation.openai', version: '0.1.2' }, metrics },
        ],
      },
    ],
  });
}

/**
 * One export from an instrumented LLM app, as OTLP/JSON: DELTA token histogram, request counter and
 * exponential histogram (the second export continues where the first ended), cumulative duration,
 * cost and active requests, and a ratio gauge whose attribute needs escaping.
 */
function llmExport(step: 1 | 2, startMs: number, endMs: number): string {
  const delta = { startTimeUnixNano: ns(startMs), timeUnixNano: ns(endMs) };
  const cumulative = { startTimeUnixNano: ns(startMs), timeUnixNano: ns(endMs) };
  const tokens = step === 1 ? [0, 1, 2, 0, 1, 0, 0] : [0, 0, 1, 1, 0, 0, 1];
  const tokenSum = step === 1 ? 3 + 2 * 10 + 200 : 12 + 50 + 2000;
  return exportOf([
    {
      name: 'gen_ai.client.token.usage',
      unit: '{token}',
      description: 'Measures number of input and output tokens used',
      histogram: {
        aggregationTemporality: 1,
        dataPoints: [
          {
            ...delta,
            attributes: kv(INPUT),
            count: String(tokens.reduce((a, b) => a + b, 0)),
            sum: tokenSum,
            bucketCounts: tokens.map(String),
            explicitBounds: BOUNDS,
          },
        ],
      },
    },
    {
      name: 'llm.requests',
      unit: '{request}',
      description: 'LLM requests',
      sum: {
        aggregationTemporality: 1,
        isMonotonic: true,
        dataPoints: [{ ...delta, attributes: kv({ model: 'gpt-4o-mini' }), asInt: step === 1 ? '3' : '2' }],
      },
    },
    {
      name: 'gen_ai.client.operation.duration',
      unit: 's',
      description: 'GenAI operation duration',
      histogram: {
        aggregationTemporality: 2,
        dataPoints: [
          {
            ...cumulative,
            count: step === 1 ? '2' : '5',
            sum: step === 1 ? 1.5 : 4.25,
            bucketCounts: step === 1 ? ['1', '1', '0'] : ['2', '2', '1'],
            explicitBounds: [0.5, 2],
          },
        ],
      },
    },
    {
      name: 'llm.cost',
      unit: 'USD',
      description: 'Money spent on LLM calls',
      sum: {
        aggregationTemporality: 2,
        isMonotonic: true,
        dataPoints: [{ ...cumulative, asDouble: step === 1 ? 0.0125 : 0.03 }],
      },
    },
    {
      name: 'gen_ai.server.active_requests',
      unit: '{request}',
      description: 'Requests in flight',
      sum: {
        aggregationTemporality: 2,
        isMonotonic: false,
        dataPoints: [{ ...cumulative, asInt: step === 1 ? '4' : '1' }],
      },
    },
    {
      name: 'cache.hit',
      unit: '1',
      description: 'Prompt cache hit ratio',
      gauge: {
        dataPoints: [{ ...cumulative, attributes: kv({ 'prompt.template': PROMPT }), asDouble: 0.75 }],
      },
    },
    {
      name: 'request.size',
      unit: 'By',
      description: 'Request body size',
      exponentialHistogram: {
        aggregationTemporality: 1,
        dataPoints: [
          {
            ...delta,
            scale: 0,
            count: '3',
            sum: step === 1 ? 700 : 900,
            zeroCount: '0',
            positive: { offset: 8, bucketCounts: step === 1 ? ['1', '2'] : ['0', '3'] },
          },
        ],
      },
    },
  ]);
}

async function post(proc: RunningProcessor, body: string | Uint8Array, contentType: string): Promise<void> {
  const res = await fetch(`${proc.otlpHttpEndpoint}/v1/metrics`, {
    method: 'POST',
    headers: { 'content-type': contentType },
    body,
  });
  assert.equal(res.status, 200, await res.text());
}

/** The same request as OTLP/protobuf, encoded by the processor's own codec. */
function protobuf(json: string): Uint8Array {
  return encodeRequest(
    'metrics',
    decodeRequest('metrics', new TextEncoder().encode(json), 'json'),
    'protobuf',
  );
}

const one = (r: PromSample[]) => r.length === 1;
const valueIs = (v: number) => (r: PromSample[]) =>
  r.length === 1 && Math.abs((r[0]?.value ?? Number.NaN) - v) < 1e-9;

describe('prometheus exporter scraped by a real Prometheus', () => {
  let proc: RunningProcessor;
  let prom: RunningPrometheus;
  let main: string;
  let short: string;
  const t0 = Date.now() - 60_000;

  const config = (logLevel: 'info' | 'debug') =>
    processorConfig({
      logLevel,
      exporters: {
        prometheus: {
          endpoint: `127.0.0.1:${port('prom')}`,
          const_labels: { 'deployment.ring': 'it' },
        },
        'prometheus/short': { endpoint: `127.0.0.1:${port('prom_short')}`, metric_expiration: '2s' },
      },
      pipelines: { metrics: { exporters: ['prometheus', 'prometheus/short'] } },
    });

  before(async () => {
    proc = await startProcessor({ config: config('info') });
    main = `127.0.0.1:${proc.ports.prom}`;
    short = `127.0.0.1:${proc.ports.prom_short}`;
    prom = await startPrometheus({ scrapeTargets: [main, short], scrapeIntervalMs: 500, jobName: 'llmobs' });
  });
  after(async () => {
    await prom?.stop();
    const code = await proc?.stop();
    assert.equal(code, 0, 'the processor exits cleanly');
  });

  test('both endpoints are up', async () => {
    const up = await prom.waitForQuery('up{job="llmobs"} == 1', (r) => r.length === 2);
    assert.deepEqual(up.map((s) => s.metric.instance).sort(), [main, short].sort());
  });

  test('OTLP/JSON then OTLP/protobuf: Prometheus sees delta running totals, cumulative values, labels and target_info', async () => {
    await post(proc, llmExport(1, t0, t0 + 10_000), 'application/json');
    const target = `instance="${main}"`;
    await prom.waitForQuery(`llm_requests_total{${target}}`, valueIs(3));
    await post(proc, protobuf(llmExport(2, t0 + 10_000, t0 + 20_000)), 'application/x-protobuf');

    // DELTA counter: 3 + 2.
    const [requests] = await prom.waitForQuery(`llm_requests_total{${target}}`, valueIs(5));
    assert.deepEqual(
      { ...requests?.metric },
      {
        __name__: 'llm_requests_total',
        // Prometheus keeps the target's own job/instance and renames the exported ones (honor_labels: false).
        job: 'llmobs',
        instance: main,
        exported_job: 'shop/chat',
        exported_instance: 'pod-1',
        model: 'gpt-4o-mini',
        deployment_ring: 'it',
        otel_scope_name: 'openinference.instrumentation.openai',
        otel_scope_version: '0.1.2',
      },
    );

    // DELTA histogram: the buckets of both exports added, cumulative per le.
    const bucket = (le: string) =>
      `gen_ai_client_token_usage_bucket{${target},gen_ai_token_type="input",gen_ai_request_model="gpt-4o-mini",le="${le}"}`;
    await prom.waitForQuery(`gen_ai_client_token_usage_count{${target}}`, valueIs(7));
    const expected: [string, number][] = [
      ['1', 0],
      ['4', 1],
      ['16', 4],
      ['64', 5],
      ['256', 6],
      ['1024', 6],
      ['+Inf', 7],
    ];
    for (const [le, v] of expected) {
      const [s] = await prom.waitForQuery(bucket(le), one);
      assert.equal(s?.value, v, `le=${le}`);
    }
    const [tokenSum] = await prom.waitForQuery(`gen_ai_client_token_usage_sum{${target}}`, one);
    assert.equal(tokenSum?.value, 223 + 2062);
    const [p50] = await prom.waitForQuery(
      `histogram_quantile(0.5, gen_ai_client_token_usage_bucket{${target}})`,
      one,
    );
    assert.ok(p50 && p50.value > 4 && p50.value <= 16, `median within the 4–16 bucket, got ${p50?.value}`);

    // Cumulative histogram, counter and up-down counter: the latest values as sent.
    await prom.waitForQuery(`gen_ai_client_operation_duration_seconds_count{${target}}`, valueIs(5));
    await prom.waitForQuery(
      `gen_ai_client_operation_duration_seconds_bucket{${target},le="0.5"}`,
      valueIs(2),
    );
    await prom.waitForQuery(`gen_ai_client_operation_duration_seconds_sum{${target}}`, valueIs(4.25));
    await prom.waitForQuery(`llm_cost_USD_total{${target}}`, valueIs(0.03));
    await prom.waitForQuery(`gen_ai_server_active_requests{${target}}`, valueIs(1));

    // DELTA exponential histogram, served as classic buckets: scale 0 buckets 8 and 9 are (256, 512] and (512, 1024].
    await prom.waitForQuery(`request_size_bytes_bucket{${target},le="512"}`, valueIs(1));
    await prom.waitForQuery(`request_size_bytes_bucket{${target},le="1024"}`, valueIs(6));
    await prom.waitForQuery(`request_size_bytes_count{${target}}`, valueIs(6));
    await prom.waitForQuery(`request_size_bytes_sum{${target}}`, valueIs(1600));

    // A label value with quotes, a newline and a backslash arrives intact.
    const [ratio] = await prom.waitForQuery(`cache_hit_ratio{${target}}`, valueIs(0.75));
    assert.equal(ratio?.metric.prompt_template, PROMPT);

    // The other resource attributes are on target_info, joinable on job and instance.
    const [info] = await prom.waitForQuery(`target_info{${target}}`, valueIs(1));
    assert.equal(info?.metric.k8s_pod_name, 'chat-7d9f');
    assert.equal(info?.metric.exported_job, 'shop/chat');
    assert.equal(info?.metric.exported_instance, 'pod-1');
    const [joined] = await prom.waitForQuery(
      `llm_requests_total{${target}} * on (exported_job, exported_instance) group_left (k8s_pod_name) target_info{${target}}`,
      one,
    );
    assert.equal(joined?.metric.k8s_pod_name, 'chat-7d9f');
    assert.equal(joined?.value, 5);
  });

  test('the exposition passes promtool check metrics and parses as the text format', async () => {
    const res = await fetch(`http://${main}/metrics`);
    assert.equal(res.headers.get('content-type'), 'text/plain; version=0.0.4; charset=utf-8');
    const text = await res.text();
    const check = await promtoolCheckMetrics(text);
    assert.deepEqual(check.problems, [], check.message);
    assert.equal(check.exitCode, 0);
    const samples = parseExposition(text);
    assert.ok(sumSamples(samples, 'llm_requests_total') !== undefined);
    assert.equal(sumSamples(samples, 'cache_hit_ratio', { prompt_template: PROMPT }), 0.75);
  });

  test('a series not updated within metric_expiration disappears, from /metrics and from Prometheus', async () => {
    const once = {
      name: 'llm.batch.size',
      description: 'Size of the last batch',
      gauge: { dataPoints: [{ timeUnixNano: ns(Date.now()), asInt: '42' }] },
    };
    await post(proc, exportOf([once]), 'application/json');
    await prom.waitForQuery(`llm_batch_size{instance="${short}"}`, valueIs(42));
    await prom.waitForQuery(`llm_batch_size{instance="${main}"}`, valueIs(42));
    // Only the 2 s exporter forgets it; Prometheus marks the series stale on the next scrape without it.
    await prom.waitForQuery(`llm_batch_size{instance="${short}"}`, (r) => r.length === 0, 15_000);
    const text = await (await fetch(`http://${short}/metrics`)).text();
    assert.ok(!text.includes('llm_batch_size'), text);
    const [kept] = await prom.query(`llm_batch_size{instance="${main}"}`);
    assert.equal(kept?.value, 42, 'the 5 m exporter still serves it');
  });

  test('points it cannot represent are counted as dropped (invalid) on the processor /metrics', async () => {
    const before =
      (await proc.metric('llmobs_dropped_items_total', { component: 'prometheus', reason: 'invalid' })) ?? 0;
    const now = ns(Date.now());
    const bad = [
      { name: 'llm.queue', gauge: { dataPoints: [{ timeUnixNano: now, asInt: '1' }] } },
      // Same name, another type: the first type keeps the name.
      {
        name: 'llm.queue',
        histogram: { aggregationTemporality: 2, dataPoints: [{ timeUnixNano: now, count: '1' }] },
      },
      { name: 'no.value', gauge: { dataPoints: [{ timeUnixNano: now }] } },
    ];
    await post(proc, exportOf(bad), 'application/json');
    await proc.waitForMetric(
      'llmobs_dropped_items_total',
      { component: 'prometheus', reason: 'invalid' },
      (v) => v === before + 2,
    );
  });

  test('a config reload keeps the endpoint and the running totals', async () => {
    const target = `instance="${main}"`;
    const [was] = await prom.waitForQuery(`llm_requests_total{${target}}`, one);
    const total = was?.value ?? 0;
    await proc.rewriteConfig(config('debug'));
    await proc.waitForLog((l) => l.msg === 'configuration reloaded', 'the reload');
    await post(proc, llmExport(2, t0 + 20_000, t0 + 30_000), 'application/json');
    await prom.waitForQuery(`llm_requests_total{${target}}`, valueIs(total + 2));
    const [up] = await prom.query(`up{${target}}`);
    assert.equal(up?.value, 1);
  });
});
