import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { ROOT_CONTEXT, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { OTLPTraceExporter as ProtoExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BatchSpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace';
import { type RunningCollector, startCollector } from '../harness/collector.ts';
import { processorConfig, type RunningProcessor, startProcessor } from '../harness/llmobs-processor.ts';
import type { ReceivedSpan } from '../harness/otlp-file.ts';

const PERCENT = 20;
const TRACES = 300;
/** Every 5th trace has an LLM call that failed. */
const isErrorTrace = (i: number) => i % 5 === 0;

/**
 * The OTel consistent-sampling rule, written out again here rather than imported: keep when the
 * trace id's last 7 bytes, as a 56-bit number, are at least (1 − p) × 2^56.
 */
function keptByRate(traceId: string, percent: number): boolean {
  const r = BigInt(`0x${traceId.slice(18)}`);
  const t = (1n << 56n) - BigInt(Math.round((percent / 100) * 2 ** 56));
  return r >= t;
}

interface Sent {
  readonly traceId: string;
  readonly error: boolean;
}

/**
 * Emits `TRACES` traces through the real Node SDK (BatchSpanProcessor, OTLP/HTTP protobuf): each a
 * SERVER root and a CLIENT chat call under it, the call failing in every 5th.
 */
async function emitTraces(endpoint: string, marker: string): Promise<Sent[]> {
  const provider = new TracerProvider({
    resource: resourceFromAttributes({ 'service.name': 'sampling-it', 'resource.marker': marker }),
    spanProcessors: [
      new BatchSpanProcessor({
        exporter: new ProtoExporter({ url: `${endpoint}/v1/traces` }),
        scheduledDelayMillis: 50,
        maxExportBatchSize: 128,
        maxQueueSize: 4096,
      }),
    ],
  });
  const tracer = provider.getTracer('llmobs.sampling.it', '1.0.0');
  const sent: Sent[] = [];
  for (let i = 0; i < TRACES; i++) {
    const root = tracer.startSpan('POST /chat', { kind: SpanKind.SERVER });
    const call = tracer.startSpan(
      'chat gpt-4o-mini',
      {
        kind: SpanKind.CLIENT,
        attributes: { 'gen_ai.operation.name': 'chat', 'gen_ai.request.model': 'gpt-4o-mini' },
      },
      trace.setSpan(ROOT_CONTEXT, root),
    );
    if (isErrorTrace(i)) {
      call.setAttribute('error.type', 'rate_limit_exceeded');
      call.setStatus({ code: SpanStatusCode.ERROR, message: 'rate limited' });
    }
    call.end();
    root.end();
    sent.push({ traceId: root.spanContext().traceId, error: isErrorTrace(i) });
  }
  await provider.forceFlush();
  await provider.shutdown();
  return sent;
}

describe('llm_sampling between the real OTel SDK and a real Collector', () => {
  let sink: RunningCollector;
  let proc: RunningProcessor;

  before(async () => {
    sink = await startCollector({ name: 'otelcol-sampling-sink' });
    proc = await startProcessor({
      config: processorConfig({
        processors: {
          llm_sampling: {
            decision_wait: '3s',
            root_grace: '300ms',
            policies: { probabilistic: { sampling_percentage: PERCENT } },
          },
        },
        exporters: {
          'otlp_http/collector': {
            endpoint: sink.otlpHttpEndpoint,
            retry_on_failure: { initial_interval: '100ms', max_interval: '500ms' },
          },
        },
      }),
    });
  });
  after(async () => {
    const code = await proc?.stop();
    await sink?.stop();
    assert.equal(code, 0, 'the processor exits cleanly');
  });

  test('every error trace arrives whole; normal traces arrive exactly when the trace-id rule keeps them', async () => {
    const marker = `sampling-${randomBytes(4).toString('hex')}`;
    const sent = await emitTraces(proc.otlpHttpEndpoint, marker);
    const errors = sent.filter((s) => s.error);
    const normal = sent.filter((s) => !s.error);
    const keptNormal = normal.filter((s) => keptByRate(s.traceId, PERCENT));
    const expected = new Set([...errors, ...keptNormal].map((s) => s.traceId));

    // Every trace is decided (by its root, a moment after it arrived), then forwarded.
    await proc.waitForMetric('llmobs_sampling_traces_total', {}, (v) => v === TRACES, 15_000);
    const got = await sink.waitForSpans(
      (s: ReceivedSpan) => s.resource.attributes['resource.marker'] === marker,
      15_000,
      expected.size * 2,
    );

    const byTrace = new Map<string, string[]>();
    for (const s of got) byTrace.set(s.span.traceId, [...(byTrace.get(s.span.traceId) ?? []), s.span.name]);
    for (const e of errors)
      assert.deepEqual(
        byTrace.get(e.traceId)?.sort(),
        ['POST /chat', 'chat gpt-4o-mini'],
        `error trace ${e.traceId} arrived whole`,
      );
    assert.deepEqual([...byTrace.keys()].sort(), [...expected].sort(), 'exactly the kept traces arrived');
    for (const [id, names] of byTrace) assert.equal(names.length, 2, `trace ${id}: both spans, once`);

    // A plausible share of the normal ones: some kept, most not.
    assert.ok(keptNormal.length > 0 && keptNormal.length < normal.length / 2, `${keptNormal.length} kept`);
    assert.equal(
      await proc.metric('llmobs_sampling_traces_total', { decision: 'keep', reason: 'errors' }),
      60,
    );
    assert.equal(
      await proc.metric('llmobs_sampling_traces_total', { decision: 'keep', reason: 'probabilistic' }),
      keptNormal.length,
    );
    assert.equal(
      await proc.metric('llmobs_sampling_traces_total', { decision: 'drop', reason: 'probabilistic' }),
      normal.length - keptNormal.length,
    );
    assert.equal(
      await proc.metric('llmobs_dropped_items_total'),
      undefined,
      'sampled-out traces are not drops',
    );
  });
});
