import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import {
  createTraceState,
  type HrTime,
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  TraceFlags,
  trace,
} from '@opentelemetry/api';
import { JsonTraceSerializer } from '@opentelemetry/otlp-transformer';
import { resourceFromAttributes } from '@opentelemetry/resources';
import {
  InMemorySpanExporter,
  type ReadableSpan,
  SimpleSpanProcessor,
  type SpanExporter,
  TracerProvider,
} from '@opentelemetry/sdk-trace';
import { decodeTracesData, type OtlpTracesData, type ReceivedSpan } from '../harness/otlp-file.ts';

/**
 * Span attributes of every OTLP AnyValue type the Node SDK can produce: scalars (including the values
 * proto3 would leave out if they were not in a oneof: false, 0, ""), bytes, homogeneous, mixed, empty
 * and nested arrays, and a nested map.
 */
export const EVERY_ANY_VALUE = {
  'gen_ai.request.model': 'gpt-4o',
  'text.unicode': 'héllo ✓ 日本',
  'text.empty': '',
  'int.positive': 42,
  'int.negative': -7,
  'int.zero': 0,
  'int.max_safe': Number.MAX_SAFE_INTEGER,
  'double.fraction': 0.25,
  'double.negative': -1.5e-9,
  'bool.true': true,
  'bool.false': false,
  bytes: new Uint8Array([0, 1, 2, 127, 128, 254, 255]),
  'array.string': ['stop', 'length'],
  'array.int': [1, 2, 3],
  'array.double': [0.5, 1.5],
  'array.bool': [true, false],
  'array.mixed': ['x', 1, true, 2.5],
  'array.empty': [],
  'array.nested': [[1, 2], ['a']],
  map: { model: 'gpt-4o', usage: { input: 12, output: 30 }, tags: ['a', 'b'], empty: {} },
} as const;

export interface EmittedTrace {
  readonly marker: string;
  readonly service: string;
  /** What the SDK exported, read back through the SDK's own OTLP/JSON serializer. */
  readonly expected: readonly ReceivedSpan[];
  /** The same, as OTLP/JSON. */
  readonly expectedJson: OtlpTracesData;
}

/** A timestamp with nanoseconds a millisecond clock cannot produce, to prove none are lost. */
function preciseNow(offsetMs: number, nanos: number): HrTime {
  return [Math.floor(Date.now() / 1000) + Math.floor(offsetMs / 1000), nanos];
}

/**
 * Emits, through the real Node SDK and `exporter`, an LLM-shaped trace: a SERVER span continuing a remote
 * parent (with trace state), a CLIENT child with attributes of every AnyValue type, two events with
 * precise times, two links (one with trace state) and an error status, plus an unrelated INTERNAL span.
 * Returns what the SDK handed to the exporter, as OTLP data, for field-by-field comparison.
 */
export async function emitTrace(
  exporter: SpanExporter,
  marker: string,
  service = 'llmobs-processor-it',
): Promise<EmittedTrace> {
  const memory = new InMemorySpanExporter();
  const provider = new TracerProvider({
    resource: resourceFromAttributes(
      { 'service.name': service, 'k8s.namespace.name': 'llm-app', 'resource.marker': marker, 'host.cpus': 8 },
      { schemaUrl: 'https://opentelemetry.io/schemas/1.37.0' },
    ),
    spanProcessors: [new SimpleSpanProcessor({ exporter }), new SimpleSpanProcessor({ exporter: memory })],
  });
  const tracer = provider.getTracer('llmobs.processor.it', '4.5.6', {
    schemaUrl: 'https://opentelemetry.io/schemas/1.36.0',
  });
  const remoteParent = trace.setSpanContext(ROOT_CONTEXT, {
    traceId: randomBytes(16).toString('hex'),
    spanId: randomBytes(8).toString('hex'),
    traceFlags: TraceFlags.SAMPLED,
    isRemote: true,
    traceState: createTraceState('llmobs=it,vendor=abc'),
  });
  const other = tracer.startSpan(`other ${marker}`, { kind: SpanKind.INTERNAL });
  other.end();
  const root = tracer.startSpan(
    `POST /chat ${marker}`,
    { kind: SpanKind.SERVER, attributes: { 'http.request.method': 'POST', marker } },
    remoteParent,
  );
  const chat = tracer.startSpan(
    `chat gpt-4o ${marker}`,
    {
      kind: SpanKind.CLIENT,
      attributes: { ...EVERY_ANY_VALUE, marker },
      startTime: preciseNow(0, 123_456_789),
      links: [
        { context: other.spanContext(), attributes: { 'link.reason': 'retry-of', 'link.attempt': 2 } },
        {
          context: {
            traceId: randomBytes(16).toString('hex'),
            spanId: randomBytes(8).toString('hex'),
            traceFlags: TraceFlags.NONE,
            traceState: createTraceState('upstream=1'),
          },
        },
      ],
    },
    trace.setSpan(ROOT_CONTEXT, root),
  );
  chat.addEvent(
    'gen_ai.content.prompt',
    { 'gen_ai.prompt': 'say hi', tokens: 3, ratio: 0.5, cached: false, roles: ['system', 'user'] },
    preciseNow(0, 223_456_789),
  );
  chat.addEvent('gen_ai.choice', preciseNow(0, 323_456_789));
  chat.setStatus({ code: SpanStatusCode.ERROR, message: 'rate limited' });
  chat.end(preciseNow(1000, 987_654_321));
  root.setStatus({ code: SpanStatusCode.OK });
  root.end();
  await provider.forceFlush();
  // Before shutdown: shutting the in-memory exporter down forgets its spans.
  const spans: ReadableSpan[] = [...memory.getFinishedSpans()];
  await provider.shutdown();
  assert.equal(spans.length, 3, 'the SDK recorded other, root and chat');
  const bytes = JsonTraceSerializer.serializeRequest(spans);
  assert.ok(bytes);
  const expectedJson = JSON.parse(Buffer.from(bytes).toString('utf8')) as OtlpTracesData;
  return { marker, service, expected: decodeTracesData(expectedJson), expectedJson };
}

/** The comparable part of a received span: everything the reader decodes, not the raw JSON. */
function comparable(s: ReceivedSpan) {
  const { raw, ...rest } = s;
  return {
    ...rest,
    // What the decoded view does not carry, compared on the wire values.
    flags: raw.flags ?? 0,
    droppedAttributesCount: raw.droppedAttributesCount ?? 0,
    linkFlags: (raw.links ?? []).map((l) => l.flags ?? 0),
  };
}

/** Asserts that `got` holds exactly the spans of `sent`, each identical field by field. */
export function assertSameSpans(got: readonly ReceivedSpan[], sent: EmittedTrace, what: string): void {
  const bySpanId = (a: ReceivedSpan, b: ReceivedSpan) => a.span.spanId.localeCompare(b.span.spanId);
  const g = [...got].sort(bySpanId);
  const e = [...sent.expected].sort(bySpanId);
  assert.deepEqual(
    g.map((s) => s.span.spanId),
    e.map((s) => s.span.spanId),
    `${what}: the same span ids`,
  );
  for (let i = 0; i < e.length; i++) {
    const want = e[i] as ReceivedSpan;
    assert.deepEqual(comparable(g[i] as ReceivedSpan), comparable(want), `${what}: span "${want.span.name}"`);
  }
  // And the integer attributes are still integers, not doubles that happen to be whole.
  const chat = g.find((s) => s.span.name.startsWith('chat '));
  const intKeys = (chat?.raw.attributes ?? [])
    .filter((kv) => kv.value?.intValue !== undefined)
    .map((kv) => kv.key);
  assert.deepEqual(
    intKeys.sort(),
    ['int.max_safe', 'int.negative', 'int.positive', 'int.zero'],
    `${what}: integer attributes kept their type`,
  );
}

type ExportResult = Parameters<Parameters<SpanExporter['export']>[1]>[0];

/** Wraps an SDK exporter to keep the result of every export: a test can then require that each succeeded. */
export function recording(inner: SpanExporter): SpanExporter & { readonly results: ExportResult[] } {
  const results: ExportResult[] = [];
  return {
    results,
    export(spans, done) {
      inner.export(spans, (r) => {
        results.push(r);
        done(r);
      });
    },
    shutdown: () => inner.shutdown(),
    forceFlush: () => inner.forceFlush?.() ?? Promise.resolve(),
  };
}

/** Asserts every export `exporter` made succeeded (ExportResultCode.SUCCESS), naming the first error. */
export function assertAllExported(
  exporter: { readonly results: readonly ExportResult[] },
  count: number,
): void {
  const failed = exporter.results.find((r) => r.code !== 0);
  assert.equal(failed?.error?.message, undefined, 'an export failed');
  assert.equal(exporter.results.length, count, 'exports made');
}

/**
 * Asserts `got` is exactly `copies` copies of the spans of `sent` (as when a trace goes out through
 * several exporters to one backend), each copy identical to what was sent, field by field.
 */
export function assertCopies(got: readonly ReceivedSpan[], sent: EmittedTrace, copies: number): void {
  assert.equal(got.length, sent.expected.length * copies, `${copies} copies of each span, no more`);
  for (let i = 0; i < copies; i++) {
    const copy = sent.expected.map((e) => got.filter((g) => g.span.spanId === e.span.spanId)[i]);
    assertSameSpans(
      copy.filter((s) => s !== undefined),
      sent,
      `copy ${i + 1} of ${sent.marker}`,
    );
  }
}
