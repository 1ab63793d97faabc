import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync, rmSync } from 'node:fs';
import { dirname } from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  type Attributes as ApiAttributes,
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  trace,
} from '@opentelemetry/api';
import { OTLPTraceExporter as GrpcExporter } from '@opentelemetry/exporter-trace-otlp-grpc';
import { OTLPTraceExporter as JsonExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { OTLPTraceExporter as ProtoExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { resourceFromAttributes } from '@opentelemetry/resources';
import {
  BatchSpanProcessor,
  SimpleSpanProcessor,
  type SpanExporter,
  TracerProvider,
} from '@opentelemetry/sdk-trace';
import {
  collectorConfig,
  FILE_SINK,
  type RunningCollector,
  startCollector,
  validateCollectorConfig,
} from './collector.ts';
import { OtlpSpanKind, OtlpStatusCode, type ReceivedSpan } from './otlp-file.ts';

interface Emitted {
  readonly traceId: string;
  readonly spanId: string;
  readonly parentSpanId: string;
  readonly linkedTraceId: string;
  readonly linkedSpanId: string;
}

/**
 * Emits, through the real Node SDK and `exporter`, a trace shaped like an instrumented LLM call: a
 * parent span and a CLIENT child with typed attributes, an event, an error status and a link to a span
 * of another trace. Flushes and shuts the SDK down before returning.
 */
async function emitLlmTrace(
  exporter: SpanExporter,
  marker: string,
  attributes: ApiAttributes = {},
  batch = false,
): Promise<Emitted> {
  const provider = new TracerProvider({
    resource: resourceFromAttributes({ 'service.name': 'harness-test', 'deployment.environment.name': 'it' }),
    spanProcessors: [
      batch
        ? new BatchSpanProcessor({ exporter, scheduledDelayMillis: 50 })
        : new SimpleSpanProcessor({ exporter }),
    ],
  });
  const tracer = provider.getTracer('llmobs.harness.test', '1.2.3');
  const other = tracer.startSpan(`other ${marker}`);
  other.end();
  const parent = tracer.startSpan(`workflow ${marker}`);
  const child = tracer.startSpan(
    `chat gpt-4o ${marker}`,
    {
      kind: SpanKind.CLIENT,
      attributes: {
        marker,
        'gen_ai.system': 'openai',
        'gen_ai.request.model': 'gpt-4o',
        'gen_ai.usage.input_tokens': 42,
        'gen_ai.request.temperature': 0.25,
        'gen_ai.request.stream': false,
        'gen_ai.response.finish_reasons': ['stop', 'length'],
        ...attributes,
      },
      links: [{ context: other.spanContext(), attributes: { 'link.reason': 'retry-of' } }],
    },
    // No context manager is registered, so the parent is carried explicitly.
    trace.setSpan(ROOT_CONTEXT, parent),
  );
  child.addEvent('gen_ai.content.prompt', { 'gen_ai.prompt': 'say hi' });
  child.setStatus({ code: SpanStatusCode.ERROR, message: 'rate limited' });
  child.end();
  parent.end();
  await provider.forceFlush();
  await provider.shutdown();
  return {
    traceId: child.spanContext().traceId,
    spanId: child.spanContext().spanId,
    parentSpanId: parent.spanContext().spanId,
    linkedTraceId: other.spanContext().traceId,
    linkedSpanId: other.spanContext().spanId,
  };
}

const chatSpan =
  (marker: string) =>
  (s: ReceivedSpan): boolean =>
    s.span.name === `chat gpt-4o ${marker}`;

function assertChatSpanIntact(got: ReceivedSpan, sent: Emitted, marker: string): void {
  assert.equal(got.span.traceId, sent.traceId);
  assert.equal(got.span.spanId, sent.spanId);
  assert.equal(got.span.parentSpanId, sent.parentSpanId);
  assert.equal(got.span.kind, OtlpSpanKind.CLIENT);
  assert.deepEqual(got.span.status, { code: OtlpStatusCode.ERROR, message: 'rate limited' });
  assert.equal(got.resource.attributes['service.name'], 'harness-test');
  assert.equal(got.resource.attributes['deployment.environment.name'], 'it');
  assert.deepEqual([got.scope.name, got.scope.version], ['llmobs.harness.test', '1.2.3']);
  assert.deepEqual(
    {
      marker: got.span.attributes.marker,
      system: got.span.attributes['gen_ai.system'],
      model: got.span.attributes['gen_ai.request.model'],
      tokens: got.span.attributes['gen_ai.usage.input_tokens'],
      temperature: got.span.attributes['gen_ai.request.temperature'],
      stream: got.span.attributes['gen_ai.request.stream'],
      reasons: got.span.attributes['gen_ai.response.finish_reasons'],
    },
    {
      marker,
      system: 'openai',
      model: 'gpt-4o',
      tokens: 42,
      temperature: 0.25,
      stream: false,
      reasons: ['stop', 'length'],
    },
  );
  const tokens = got.raw.attributes?.find((kv) => kv.key === 'gen_ai.usage.input_tokens');
  assert.ok(
    tokens?.value?.intValue !== undefined,
    `token count kept its integer type: ${JSON.stringify(tokens)}`,
  );
  assert.equal(got.span.events.length, 1);
  assert.equal(got.span.events[0]?.name, 'gen_ai.content.prompt');
  assert.deepEqual(got.span.events[0]?.attributes, { 'gen_ai.prompt': 'say hi' });
  assert.ok((got.span.events[0]?.timeUnixNano ?? 0n) >= got.span.startTimeUnixNano);
  assert.deepEqual(
    got.span.links.map((l) => [l.traceId, l.spanId, l.attributes]),
    [[sent.linkedTraceId, sent.linkedSpanId, { 'link.reason': 'retry-of' }]],
  );
}

describe('Node OTel SDK -> Collector file sink, over every OTLP transport', () => {
  let col: RunningCollector;
  before(async () => {
    col = await startCollector({ processors: { batch: { timeout: '50ms' } } });
  });
  after(async () => {
    await col?.stop();
  });

  // [transport, exporter, batch?]: one transport goes through the BatchSpanProcessor so the SDK's
  // batching path (several spans per request) is exercised too, not only one span per request.
  const transports: [string, (c: RunningCollector) => SpanExporter, boolean][] = [
    ['OTLP/HTTP protobuf', (c) => new ProtoExporter({ url: `${c.otlpHttpEndpoint}/v1/traces` }), false],
    ['OTLP/HTTP JSON', (c) => new JsonExporter({ url: `${c.otlpHttpEndpoint}/v1/traces` }), false],
    ['OTLP/gRPC', (c) => new GrpcExporter({ url: `http://${c.otlpGrpcEndpoint}` }), true],
  ];
  for (const [transport, exporter, batch] of transports) {
    test(`spans sent over ${transport} reach the file sink with ids, attributes, event and link intact`, async () => {
      const marker = `${transport}-${Date.now()}`;
      const sent = await emitLlmTrace(exporter(col), marker, {}, batch);
      const [got] = await col.waitForSpans(chatSpan(marker));
      assert.ok(got);
      assertChatSpanIntact(got, sent, marker);
      const family = await col.waitForSpans((s) => s.span.traceId === sent.traceId, 10_000, 2);
      assert.deepEqual(family.map((s) => s.span.name).sort(), [
        `chat gpt-4o ${marker}`,
        `workflow ${marker}`,
      ]);
    });
  }

  test('the Collector counts the spans it accepted per transport in its own metrics', async () => {
    const accepted = async (transport: string) =>
      (await col.selfMetric('otelcol_receiver_accepted_spans', { receiver: 'otlp', transport })) ?? 0;
    const before = { grpc: await accepted('grpc'), http: await accepted('http') };
    // Each emitted trace is three spans: other, workflow, chat.
    await emitLlmTrace(
      new GrpcExporter({ url: `http://${col.otlpGrpcEndpoint}` }),
      `count-grpc-${Date.now()}`,
    );
    await emitLlmTrace(
      new ProtoExporter({ url: `${col.otlpHttpEndpoint}/v1/traces` }),
      `count-http1-${Date.now()}`,
    );
    await emitLlmTrace(
      new JsonExporter({ url: `${col.otlpHttpEndpoint}/v1/traces` }),
      `count-http2-${Date.now()}`,
    );
    assert.equal((await accepted('grpc')) - before.grpc, 3);
    assert.equal((await accepted('http')) - before.http, 6);
  });
});

describe('the Collector processors used as the performance reference really act', () => {
  let col: RunningCollector;
  before(async () => {
    col = await startCollector({
      processors: {
        attributes: {
          actions: [
            { key: 'deployment.region', value: 'eu-test-1', action: 'insert' },
            { key: 'internal.secret', action: 'delete' },
            { key: 'enduser.id', action: 'hash' },
          ],
        },
        redaction: {
          allow_all_keys: true,
          blocked_values: ['sk-[A-Za-z0-9_-]{20,}'],
          summary: 'debug',
        },
        transform: {
          // propagate (not ignore): a statement that errors fails the export, and so this test.
          error_mode: 'propagate',
          trace_statements: [
            'set(span.attributes["llmobs.model_upper"], ToUpperCase(span.attributes["gen_ai.request.model"])) where span.attributes["gen_ai.request.model"] != nil',
            'set(span.attributes["llmobs.expensive"], true) where span.attributes["gen_ai.usage.input_tokens"] > 40',
          ],
        },
      },
    });
  });
  after(async () => {
    await col?.stop();
  });

  test('attributes inserts, deletes and hashes; redaction masks an API key; transform derives attributes', async () => {
    const key = 'sk-proj-AbCdEfGhIjKlMnOpQrStUvWx0123';
    const marker = `procs-${Date.now()}`;
    await emitLlmTrace(new ProtoExporter({ url: `${col.otlpHttpEndpoint}/v1/traces` }), marker, {
      'http.request.header.authorization': `Bearer ${key}`,
      'internal.secret': 'do-not-ship',
      'enduser.id': 'alice@example.com',
    });
    const [got] = await col.waitForSpans(chatSpan(marker));
    assert.ok(got);
    const a = got.span.attributes;

    assert.equal(a['deployment.region'], 'eu-test-1');
    assert.equal('internal.secret' in a, false, 'attributes deleted internal.secret');
    assert.equal(
      a['enduser.id'],
      createHash('sha256').update('alice@example.com').digest('hex'),
      'hashed, SHA-256 hex',
    );

    assert.equal(a['http.request.header.authorization'], 'Bearer ****');
    assert.ok(
      !readFileSync(col.fileSinkPath ?? '', 'utf8').includes(key),
      'the key appears nowhere in the sink',
    );
    // summary: debug makes redaction say what it masked, which is what a later comparison can count.
    assert.equal(a['redaction.masked.count'], 1);
    assert.equal(a['redaction.masked.keys'], 'http.request.header.authorization');

    assert.equal(a['llmobs.model_upper'], 'GPT-4O');
    assert.equal(a['llmobs.expensive'], true);
    assert.equal(a['gen_ai.usage.input_tokens'], 42, 'untouched attributes pass through');
  });
});

describe('Collector chain: A exports to B over otlp_http and otlp_grpc', () => {
  let a: RunningCollector;
  let b: RunningCollector;
  before(async () => {
    b = await startCollector({ name: 'otelcol-b' });
    a = await startCollector({
      name: 'otelcol-a',
      fileSink: false,
      exporters: {
        otlp_http: { endpoint: b.otlpHttpEndpoint },
        otlp_grpc: { endpoint: b.otlpGrpcEndpoint, tls: { insecure: true } },
      },
    });
  });
  after(async () => {
    await a?.stop();
    await b?.stop();
  });

  test('spans sent to A arrive at B once per exporter, attributes intact', async () => {
    const marker = `chain-${Date.now()}`;
    const sent = await emitLlmTrace(new JsonExporter({ url: `${a.otlpHttpEndpoint}/v1/traces` }), marker);
    const copies = await b.waitForSpans(chatSpan(marker), 15_000, 2);
    for (const got of copies) assertChatSpanIntact(got, sent, marker);
    // Three spans (other, workflow, chat), each forwarded once per exporter.
    await b.waitForSpans((s) => s.span.name.endsWith(marker), 15_000, 6);
    for (const transport of ['http', 'grpc']) {
      assert.equal(
        await b.selfMetric('otelcol_receiver_accepted_spans', { transport }),
        3,
        `B received over ${transport}`,
      );
    }
    for (const exporter of ['otlp_http', 'otlp_grpc']) {
      await a.waitForSelfMetric('otelcol_exporter_sent_spans', { exporter }, (v) => v === 3);
    }
    assert.equal(
      await a.selfMetric('otelcol_exporter_send_failed_spans', { exporter: 'otlp_http' }),
      undefined,
    );
  });
});

describe('validateCollectorConfig', () => {
  test('rejects a config naming an unknown processor with the Collector’s own message', async () => {
    const res = await validateCollectorConfig(`
receivers:
  otlp:
    protocols:
      http:
        endpoint: 127.0.0.1:0
processors:
  pii_scrubber: {}
exporters:
  debug: {}
service:
  pipelines:
    traces:
      receivers: [otlp]
      processors: [pii_scrubber]
      exporters: [debug]
`);
    assert.equal(res.ok, false);
    assert.match(res.message, /'processors' unknown type: "pii_scrubber" for id: "pii_scrubber"/);
    assert.match(res.message, /valid values: \[.*redaction.*\]/, 'names the processors this build has');
  });

  test('accepts the config the harness generates, file sink and self-metrics reader included', async () => {
    const cfg = collectorConfig(
      {
        processors: { memory_limiter: { check_interval: '1s', limit_mib: 256 }, batch: {} },
        exporters: { debug: {} },
        selfMetrics: { level: 'detailed', typeAndUnitSuffixes: true },
      },
      { grpc: 4317, http: 4318, health: 13133, metrics: 8888 },
      '/tmp/llmobs-validate-sink.jsonl',
    );
    const res = await validateCollectorConfig(cfg);
    assert.deepEqual(res, { ok: true, message: '' });
  });

  test('accepts the deprecated exporter aliases otlp and otlphttp next to otlp_grpc and otlp_http', async () => {
    const res = await validateCollectorConfig({
      receivers: { otlp: { protocols: { grpc: { endpoint: '127.0.0.1:0' } } } },
      exporters: {
        otlp: { endpoint: '127.0.0.1:1' },
        otlphttp: { endpoint: 'http://127.0.0.1:1' },
        otlp_grpc: { endpoint: '127.0.0.1:1' },
        otlp_http: { endpoint: 'http://127.0.0.1:1' },
      },
      service: {
        pipelines: {
          traces: { receivers: ['otlp'], exporters: ['otlp', 'otlphttp', 'otlp_grpc', 'otlp_http'] },
        },
      },
    });
    assert.equal(res.ok, true, res.message);
  });

  test('rejects an invalid OTTL statement in transform', async () => {
    const cfg = collectorConfig(
      { processors: { transform: { trace_statements: ['set(span.attributes["x"], NoSuchFunc())'] } } },
      { grpc: 4317, http: 4318, health: 13133, metrics: 8888 },
      '/tmp/llmobs-validate-sink.jsonl',
    );
    const res = await validateCollectorConfig(cfg);
    assert.equal(res.ok, false);
    assert.match(res.message, /NoSuchFunc/);
  });
});

test('explicit pipelines feed the file sink through FILE_SINK alongside other exporters', async (t) => {
  const col = await startCollector({
    processors: { batch: { timeout: '10ms' } },
    exporters: { debug: { verbosity: 'basic' } },
    pipelines: {
      'traces/sink': { processors: ['batch'], exporters: [FILE_SINK] },
      'traces/debug': { exporters: ['debug'] },
    },
  });
  t.after(() => col.stop());
  const marker = `explicit-${Date.now()}`;
  await emitLlmTrace(new ProtoExporter({ url: `${col.otlpHttpEndpoint}/v1/traces` }), marker);
  const got = await col.waitForSpans((s) => s.span.name.endsWith(marker), 10_000, 3);
  assert.equal(got.length, 3);
  await col.waitForSelfMetric('otelcol_exporter_sent_spans', { exporter: 'debug' }, (v) => v === 3);
});

test('a Collector that cannot start fails startCollector with its own last words', async () => {
  const err = await startCollector({
    name: 'otelcol-broken',
    processors: { memory_limiter: { check_interval: '1s' } },
  }).then(
    () => assert.fail('a memory_limiter without a limit must not start'),
    (e: Error) => e,
  );
  assert.match(err.message, /otelcol-broken exited .* before health_check to report ready/);
  assert.match(err.message, /'limit_mib' or 'limit_percentage' must be greater than zero/);
  // The folder is kept for the log the message names; this test has read it, so it goes.
  const log = /log (\S+otelcol-broken\.log)/.exec(err.message)?.[1];
  assert.ok(log, 'the message names the log file');
  rmSync(dirname(log), { recursive: true, force: true });
});
