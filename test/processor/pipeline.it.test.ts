import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { OTLPTraceExporter as GrpcExporter } from '@opentelemetry/exporter-trace-otlp-grpc';
import { OTLPTraceExporter as JsonExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { OTLPTraceExporter as ProtoExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import type { SpanExporter } from '@opentelemetry/sdk-trace';
import { runPythonClient } from '../harness/clients.ts';
import { type RunningCollector, startCollector } from '../harness/collector.ts';
import { type Jaeger, type JaegerSpan, startJaeger } from '../harness/jaeger.ts';
import { processorConfig, type RunningProcessor, startProcessor } from '../harness/llmobs-processor.ts';
import type { AttributeValue } from '../harness/otlp-file.ts';
import { type MockLlm, startMockLlm } from '../mock-llm/server.ts';
import { assertAllExported, assertSameSpans, type EmittedTrace, emitTrace, recording } from './traces.ts';

const FAST_RETRY = { initial_interval: '100ms', max_interval: '500ms' };

/** An attribute as Jaeger's query API hands it back (bytes as base64, like OTLP/JSON). */
function asJaeger(v: AttributeValue): unknown {
  if (v instanceof Uint8Array) return Buffer.from(v).toString('base64');
  if (typeof v === 'bigint') return Number(v);
  if (Array.isArray(v)) return v.map(asJaeger);
  if (v !== null && typeof v === 'object') {
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, asJaeger(x as AttributeValue)]));
  }
  return v;
}

const byName = (a: { name: string }, b: { name: string }) => a.name.localeCompare(b.name);

const KINDS = ['unspecified', 'internal', 'server', 'client', 'producer', 'consumer'];
const STATUS = ['unset', 'ok', 'error'];

/** Asserts Jaeger stored `sent` as the SDK emitted it: ids, timing, kind, status, attributes, events. */
function assertJaegerHasTrace(got: readonly JaegerSpan[], sent: EmittedTrace): void {
  const spanIds = (xs: readonly { spanId: string }[]) => xs.map((s) => s.spanId).sort();
  assert.deepEqual(spanIds(got), spanIds(sent.expected.map((e) => e.span)), 'Jaeger holds the same spans');
  for (const want of sent.expected) {
    const s = got.find((j) => j.spanId === want.span.spanId);
    assert.ok(s);
    assert.deepEqual(
      {
        traceId: s.traceId,
        parentSpanId: s.parentSpanId,
        name: s.name,
        kind: s.kind,
        service: s.service,
        scope: s.scope,
        start: s.startTimeUnixNano,
        end: s.endTimeUnixNano,
        status: s.status,
        // Jaeger adds its own notes (e.g. clock-skew warnings) under @jaeger@ keys, and orders events its way.
        attributes: Object.fromEntries(
          Object.entries(s.attributes).filter(([k]) => !k.startsWith('@jaeger@')),
        ),
        resource: s.resource,
        events: [...s.events].sort(byName),
      },
      {
        traceId: want.span.traceId,
        parentSpanId: want.span.parentSpanId,
        name: want.span.name,
        kind: KINDS[want.span.kind],
        service: sent.service,
        scope: { name: want.scope.name, version: want.scope.version },
        start: want.span.startTimeUnixNano,
        end: want.span.endTimeUnixNano,
        status: { code: STATUS[want.span.status.code], message: want.span.status.message },
        attributes: asJaeger(want.span.attributes),
        resource: asJaeger(want.resource.attributes),
        events: want.span.events
          .map((e) => ({ name: e.name, attributes: asJaeger(e.attributes) }))
          .sort(byName),
      },
      `Jaeger's copy of "${want.span.name}"`,
    );
  }
}

describe('llmobs processor between real OTLP senders and real backends', () => {
  let sink: RunningCollector;
  let jaeger: Jaeger;
  let proc: RunningProcessor;

  before(async () => {
    [sink, jaeger] = await Promise.all([startCollector({ name: 'otelcol-sink' }), startJaeger()]);
    proc = await startProcessor({
      config: processorConfig({
        exporters: {
          'otlp_http/collector': { endpoint: sink.otlpHttpEndpoint, retry_on_failure: FAST_RETRY },
          'otlp_grpc/jaeger': {
            endpoint: jaeger.otlpGrpcEndpoint,
            tls: { insecure: true },
            retry_on_failure: FAST_RETRY,
          },
        },
      }),
    });
  });
  after(async () => {
    const code = await proc?.stop();
    await Promise.all([sink?.stop(), jaeger?.stop()]);
    assert.equal(code, 0, 'the processor exits cleanly');
  });

  const transports: [string, (p: RunningProcessor) => SpanExporter][] = [
    ['OTLP/HTTP protobuf', (p) => new ProtoExporter({ url: `${p.otlpHttpEndpoint}/v1/traces` })],
    ['OTLP/HTTP JSON', (p) => new JsonExporter({ url: `${p.otlpHttpEndpoint}/v1/traces` })],
    ['OTLP/gRPC', (p) => new GrpcExporter({ url: `http://${p.otlpGrpcEndpoint}` })],
  ];
  for (const [transport, exporter] of transports) {
    test(`Node SDK over ${transport} -> processor -> Collector (otlp_http) and Jaeger (otlp_grpc), unchanged`, async () => {
      const marker = `${transport.replace(/\W+/g, '-')}-${randomBytes(4).toString('hex')}`;
      const sent = await emitTrace(exporter(proc), marker, `proc-it-${marker}`);
      const got = await sink.waitForSpans(
        (s) => s.resource.attributes['resource.marker'] === marker,
        15_000,
        3,
      );
      assertSameSpans(got, sent, `Collector sink (${transport})`);
      const inJaeger = await jaeger.waitForSpans(sent.service, () => true, 15_000, 3);
      assertJaegerHasTrace(inJaeger, sent);
    });
  }

  test('the processor counts what it accepted per transport and sent per exporter', async () => {
    const transport = (t: string) => proc.metric('otelcol_receiver_accepted_spans_total', { transport: t });
    const before = { http: (await transport('http')) ?? 0, grpc: (await transport('grpc')) ?? 0 };
    const sentBefore =
      (await proc.metric('otelcol_exporter_sent_spans_total', { exporter: 'otlp_grpc/jaeger' })) ?? 0;
    const marker = `count-${randomBytes(4).toString('hex')}`;
    await emitTrace(new ProtoExporter({ url: `${proc.otlpHttpEndpoint}/v1/traces` }), `${marker}-a`);
    await emitTrace(new GrpcExporter({ url: `http://${proc.otlpGrpcEndpoint}` }), `${marker}-b`);
    assert.equal(((await transport('http')) ?? 0) - before.http, 3);
    assert.equal(((await transport('grpc')) ?? 0) - before.grpc, 3);
    await proc.waitForMetric(
      'otelcol_exporter_sent_spans_total',
      { exporter: 'otlp_grpc/jaeger' },
      (v) => (v ?? 0) - sentBefore === 6,
    );
    assert.equal(await proc.metric('llmobs_dropped_items_total'), undefined, 'nothing was dropped');
  });

  test('a Collector sending over otlp_http and otlp_grpc -> processor -> a second Collector, unchanged', async () => {
    const front = await startCollector({
      name: 'otelcol-front',
      fileSink: false,
      exporters: {
        otlp_http: { endpoint: proc.otlpHttpEndpoint },
        otlp_grpc: { endpoint: proc.otlpGrpcEndpoint, tls: { insecure: true } },
      },
    });
    try {
      const marker = `chain-${randomBytes(4).toString('hex')}`;
      const sent = await emitTrace(new ProtoExporter({ url: `${front.otlpHttpEndpoint}/v1/traces` }), marker);
      // Each span once per exporter of the front Collector.
      const got = await sink.waitForSpans(
        (s) => s.resource.attributes['resource.marker'] === marker,
        15_000,
        6,
      );
      assert.equal(got.length, 6);
      const copies = new Map<string, typeof got>();
      for (const s of got) copies.set(s.span.spanId, [...(copies.get(s.span.spanId) ?? []), s]);
      const first = [...copies.values()].map((c) => c[0]).filter((s) => s !== undefined);
      const second = [...copies.values()].map((c) => c[1]).filter((s) => s !== undefined);
      assertSameSpans(first, sent, 'first copy');
      assertSameSpans(second, sent, 'second copy');
      await front.waitForSelfMetric('otelcol_exporter_sent_spans', { exporter: 'otlp_http' }, (v) => v === 3);
      await front.waitForSelfMetric('otelcol_exporter_sent_spans', { exporter: 'otlp_grpc' }, (v) => v === 3);
    } finally {
      await front.stop();
    }
  });

  test('the otlp_http exporter with encoding: json and no compression delivers the same data', async () => {
    const jsonProc = await startProcessor({
      name: 'llmobs-processor-json',
      config: processorConfig({
        exporters: {
          'otlp_http/json': { endpoint: sink.otlpHttpEndpoint, encoding: 'json', compression: 'none' },
        },
      }),
    });
    try {
      const marker = `json-out-${randomBytes(4).toString('hex')}`;
      const exporter = recording(new GrpcExporter({ url: `http://${jsonProc.otlpGrpcEndpoint}` }));
      const sent = await emitTrace(exporter, marker);
      assertAllExported(exporter, 3);
      const got = await sink.waitForSpans(
        (s) => s.resource.attributes['resource.marker'] === marker,
        15_000,
        3,
      );
      assertSameSpans(got, sent, 'exported as OTLP/JSON');
      await jsonProc.waitForMetric(
        'otelcol_exporter_sent_spans_total',
        { exporter: 'otlp_http/json' },
        (v) => v === 3,
      );
    } finally {
      assert.equal(await jsonProc.stop(), 0);
    }
  });

  describe('an instrumented Python OpenAI client', () => {
    let mock: MockLlm;
    before(async () => {
      mock = await startMockLlm();
    });
    after(() => mock?.close());

    test('openai-v2 -> processor -> Jaeger shows gen_ai.usage.input_tokens as the mock counted them', async () => {
      const serviceName = `py-proc-${randomBytes(3).toString('hex')}`;
      const prompt = `Name a river in Anjou ${randomBytes(4).toString('hex')}`;
      await runPythonClient({
        variant: 'openai-v2',
        scenario: 'chat',
        serviceName,
        prompt,
        llmBaseUrl: mock.url,
        otlpEndpoint: proc.otlpHttpEndpoint,
      });
      const request = mock.requests.find((r) => JSON.stringify(r.body).includes(prompt));
      assert.ok(request?.usage && request.usage.prompt_tokens > 0, 'the mock computed a usage');
      const [span, ...more] = await jaeger.waitForSpans(serviceName, (s) => s.name === 'chat mock-gpt');
      assert.equal(more.length, 0);
      assert.ok(span);
      assert.equal(span.attributes['gen_ai.usage.input_tokens'], request.usage.prompt_tokens);
      assert.equal(span.attributes['gen_ai.usage.output_tokens'], request.usage.completion_tokens);
      assert.equal(span.kind, 'client');
    });
  });
});
