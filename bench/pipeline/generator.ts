import Long from 'long';
import { encodeRequest } from '../../processors/src/otlp/codec.ts';
import type { KeyValue, Span, TracesRequest } from '../../processors/src/otlp/model.ts';
import { PLANTED_VALUES } from '../payload.ts';
import { randomProse } from '../prose.ts';

/**
 * The pipeline benchmark's payload: OTLP/protobuf ExportTraceServiceRequests of RAG traces from a
 * seeded generator. A trace is a root workflow span (`invoke_agent`) over a retrieval, a rerank, a
 * tool call and 1–3 chat calls, every span carrying content (prompt, documents, tool arguments...)
 * whose size follows a configurable mix. A configurable share of the spans has planted PII (the
 * values bench/sink.ts looks for). Encoded with the processor's own codec, so the bytes are what any
 * OTLP SDK would send.
 *
 * Trace ids start with TRACE_MARK, right after the span's traceId tag (0x0a, length 16): the load
 * generator finds them there and rewrites them in every send, so no trace id is ever sent twice and
 * tail sampling sees new traces however often the bodies are cycled (see trace-ids.ts).
 */

/** Content bytes of a span → relative weight. */
export type SizeMix = ReadonlyArray<{ readonly bytes: number; readonly weight: number }>;

/**
 * Mostly short chat turns, a long tail of RAG prompts stuffed with documents: half the spans carry
 * at most 1 KiB, one in a hundred 128 KiB or more. About 5.7 KiB of content per span on average.
 */
export const DEFAULT_SIZE_MIX: SizeMix = [
  { bytes: 512, weight: 40 },
  { bytes: 1024, weight: 20 },
  { bytes: 2048, weight: 15 },
  { bytes: 4096, weight: 10 },
  { bytes: 8192, weight: 7 },
  { bytes: 16384, weight: 4 },
  { bytes: 32768, weight: 2 },
  { bytes: 65536, weight: 1 },
  { bytes: 131072, weight: 0.6 },
  { bytes: 262144, weight: 0.4 },
];

export interface GeneratorOptions {
  readonly seed: number;
  /** Distinct request bodies; the load generator cycles through them. */
  readonly requests: number;
  /** Spans per request, at least: whole traces are added until the request holds this many. */
  readonly spansPerRequest: number;
  /** Content bytes per span; or a fixed size (the doubling series). */
  readonly sizeMix: SizeMix | number;
  /** Share (0..1) of content strings (prompt, documents, tool arguments...) with planted PII. */
  readonly piiShare: number;
  /** Share (0..1) of traces with a failed tool call (status ERROR): what the errors policy keeps. */
  readonly errorShare: number;
}

export const TRACE_MARK = Uint8Array.of(0xfe, 0xed, 0xbe, 0xef);

export interface GeneratedPayload {
  readonly bodies: Uint8Array[];
  readonly spansPerBody: number[];
  readonly tracesPerBody: number[];
  /** Content bytes put into span attributes, all bodies together. */
  readonly contentBytes: number;
  /** Content strings (a prompt, a document list, tool arguments...) with planted PII. */
  readonly piiContents: number;
  readonly contents: number;
  readonly spans: number;
}

/**
 * A small deterministic PRNG: a Weyl sequence through murmur3's 32-bit finaliser. A plain LCG is not
 * enough here: its outputs at a fixed stride are correlated, and the generator draws at fixed strides
 * (a 2 % error share came out as none at all).
 */
export function prng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x9e3779b9) >>> 0;
    let z = Math.imul(s ^ (s >>> 16), 0x85ebca6b);
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
    return ((z ^ (z >>> 16)) >>> 0) / 2 ** 32;
  };
}

const WORDS = (
  'the a customer order refund invoice policy account shipping delay within days please summarise explain ' +
  'why how when support ticket escalate model answer context retrieval document section paragraph table ' +
  'total amount currency update address status pending approved rejected review request reply concise'
).split(' ');

/** About `bytes` of prose (JSON-safe: words and spaces only). */
const prose = (rand: () => number, bytes: number): string => randomProse(rand, WORDS, bytes);

/** Prose with one planted value near the start and one more every 4 KB or so. */
function proseWithPii(rand: () => number, bytes: number): string {
  const parts: string[] = [];
  let n = 0;
  while (n < bytes) {
    const v = PLANTED_VALUES[Math.floor(rand() * PLANTED_VALUES.length)] ?? '';
    const chunk = `${prose(rand, Math.min(4096, Math.max(64, bytes - n - v.length - 16)))} contact ${v} thanks `;
    parts.push(chunk);
    n += chunk.length;
  }
  return parts.join('');
}

function pickSize(rand: () => number, mix: SizeMix | number): number {
  if (typeof mix === 'number') return mix;
  const total = mix.reduce((t, m) => t + m.weight, 0);
  let r = rand() * total;
  for (const m of mix) {
    r -= m.weight;
    // ±20 % around the bucket, so sizes are not all alike.
    if (r < 0) return Math.round(m.bytes * (0.8 + 0.4 * rand()));
  }
  return mix[mix.length - 1]?.bytes ?? 512;
}

const str = (key: string, v: string): KeyValue => ({ key, value: { stringValue: v } });
const int = (key: string, v: number): KeyValue => ({ key, value: { intValue: v } });
const dbl = (key: string, v: number): KeyValue => ({ key, value: { doubleValue: v } });
const strs = (key: string, vs: readonly string[]): KeyValue => ({
  key,
  value: { arrayValue: { values: vs.map((v) => ({ stringValue: v })) } },
});

const nanos = (ns: bigint): Long => Long.fromString(ns.toString(), true);

function randomBytes(rand: () => number, n: number): Uint8Array {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = Math.floor(rand() * 256);
  return b;
}

const messages = (role: string, text: string) =>
  JSON.stringify([{ role, parts: [{ type: 'text', content: text }] }]);

interface Builder {
  readonly rand: () => number;
  readonly o: GeneratorOptions;
  contentBytes: number;
  contents: number;
  piiContents: number;
}

/** `bytes` of content, with planted PII for a `piiShare` of the spans. */
function content(b: Builder, bytes: number): string {
  b.contentBytes += bytes;
  b.contents++;
  if (b.rand() < b.o.piiShare) {
    b.piiContents++;
    return proseWithPii(b.rand, bytes);
  }
  return prose(b.rand, bytes);
}

/** One RAG trace; `t0` is its start in ns since the epoch. */
function trace(b: Builder, traceNo: number, t0: bigint): Span[] {
  const { rand } = b;
  const traceId = randomBytes(rand, 16);
  traceId.set(TRACE_MARK, 0);
  new DataView(traceId.buffer).setUint32(4, traceNo);
  const rootId = randomBytes(rand, 8);
  const failed = rand() < b.o.errorShare;
  const ms = (x: number) => BigInt(Math.round(x * 1e6));
  const spans: Span[] = [];
  let at = 5;
  const child = (
    name: string,
    kind: number,
    durMs: number,
    attributes: KeyValue[],
    status?: { code: number; message: string },
  ): void => {
    spans.push({
      traceId,
      spanId: randomBytes(rand, 8),
      parentSpanId: rootId,
      name,
      kind,
      startTimeUnixNano: nanos(t0 + ms(at)),
      endTimeUnixNano: nanos(t0 + ms(at + durMs)),
      attributes,
      events: [],
      links: [],
      ...(status ? { status } : {}),
    });
    at += durMs + 1;
  };
  const CLIENT = 3;
  const INTERNAL = 1;
  const docs = content(b, pickSize(rand, b.o.sizeMix));
  child('retrieval support-kb', CLIENT, 20 + rand() * 60, [
    str('gen_ai.operation.name', 'retrieval'),
    str('gen_ai.data_source.id', 'support-kb'),
    str('db.system.name', 'qdrant'),
    int('gen_ai.request.top_k', 8),
    str('gen_ai.retrieval.documents', JSON.stringify([{ id: `doc-${traceNo}`, score: 0.82, content: docs }])),
  ]);
  child('rerank rerank-v3.5', CLIENT, 30 + rand() * 50, [
    str('gen_ai.operation.name', 'rerank'),
    str('gen_ai.provider.name', 'cohere'),
    str('gen_ai.request.model', 'rerank-v3.5'),
    int('gen_ai.request.top_n', 4),
    str('gen_ai.rerank.documents', content(b, pickSize(rand, b.o.sizeMix))),
  ]);
  child(
    'execute_tool lookup_order',
    INTERNAL,
    10 + rand() * 40,
    [
      str('gen_ai.operation.name', 'execute_tool'),
      str('gen_ai.tool.name', 'lookup_order'),
      str('gen_ai.tool.call.id', `call_${traceNo.toString(36)}`),
      str('gen_ai.tool.call.arguments', JSON.stringify({ query: content(b, 200) })),
      str('gen_ai.tool.call.result', JSON.stringify({ result: content(b, pickSize(rand, b.o.sizeMix)) })),
      ...(failed ? [str('error.type', 'TimeoutError')] : []),
    ],
    failed ? { code: 2, message: 'lookup_order timed out' } : undefined,
  );
  const calls = 1 + Math.floor(rand() * 3);
  let input = 0;
  let output = 0;
  for (let i = 0; i < calls; i++) {
    const size = pickSize(rand, b.o.sizeMix);
    const prompt = content(b, Math.round(size * 0.75));
    const answer = content(b, Math.max(64, size - prompt.length));
    const inTok = Math.max(1, Math.round(prompt.length / 4));
    const outTok = Math.max(1, Math.round(answer.length / 4));
    input += inTok;
    output += outTok;
    child('chat gpt-4o-mini', CLIENT, 300 + rand() * 1500, [
      str('gen_ai.operation.name', 'chat'),
      str('gen_ai.provider.name', 'openai'),
      str('gen_ai.request.model', 'gpt-4o-mini'),
      str('gen_ai.response.model', 'gpt-4o-mini-2024-07-18'),
      str('gen_ai.response.id', `chatcmpl-${traceNo.toString(36)}-${i}`),
      strs('gen_ai.response.finish_reasons', ['stop']),
      int('gen_ai.usage.input_tokens', inTok),
      int('gen_ai.usage.output_tokens', outTok),
      dbl('gen_ai.request.temperature', 0.2),
      str('server.address', 'api.openai.com'),
      str('gen_ai.input.messages', messages('user', prompt)),
      str('gen_ai.output.messages', messages('assistant', answer)),
    ]);
  }
  const question = content(b, 160 + Math.floor(rand() * 200));
  // The root ends last and is exported last, as an SDK would: children first.
  spans.push({
    traceId,
    spanId: rootId,
    name: 'invoke_agent support-rag',
    kind: 2,
    startTimeUnixNano: nanos(t0),
    endTimeUnixNano: nanos(t0 + ms(at + 2)),
    attributes: [
      str('gen_ai.operation.name', 'invoke_agent'),
      str('gen_ai.agent.name', 'support-rag'),
      str('http.route', '/v1/answer'),
      int('gen_ai.usage.input_tokens', input),
      int('gen_ai.usage.output_tokens', output),
      str('gen_ai.input.messages', messages('user', question)),
    ],
    events: [],
    links: [],
    ...(failed ? { status: { code: 2, message: 'tool failed' } } : {}),
  });
  return spans;
}

const RESOURCE: KeyValue[] = [
  str('service.name', 'support-rag'),
  str('service.version', '2.4.1'),
  str('deployment.environment.name', 'production'),
  str('k8s.namespace.name', 'support'),
  str('k8s.pod.name', 'support-rag-7d9f8b6c5-x2x9q'),
  str('telemetry.sdk.name', 'opentelemetry'),
  str('telemetry.sdk.language', 'python'),
  str('telemetry.sdk.version', '1.38.0'),
];

/** Builds `o.requests` request bodies of whole RAG traces, deterministically from `o.seed`. */
export function generate(o: GeneratorOptions): GeneratedPayload {
  const b: Builder = { rand: prng(o.seed), o, contentBytes: 0, contents: 0, piiContents: 0 };
  const bodies: Uint8Array[] = [];
  const spansPerBody: number[] = [];
  const tracesPerBody: number[] = [];
  let traceNo = 0;
  let t0 = 1_790_000_000_000_000_000n;
  for (let r = 0; r < o.requests; r++) {
    const spans: Span[] = [];
    let traces = 0;
    while (spans.length < o.spansPerRequest) {
      spans.push(...trace(b, traceNo++, t0));
      traces++;
      t0 += 2_500_000_000n;
    }
    const req: TracesRequest = {
      resourceSpans: [
        {
          resource: { attributes: RESOURCE },
          scopeSpans: [{ scope: { name: 'opentelemetry.instrumentation.openai_v2', attributes: [] }, spans }],
        },
      ],
    };
    bodies.push(encodeRequest('traces', req, 'protobuf'));
    spansPerBody.push(spans.length);
    tracesPerBody.push(traces);
  }
  const spans = spansPerBody.reduce((a, n) => a + n, 0);
  return {
    bodies,
    spansPerBody,
    tracesPerBody,
    contentBytes: b.contentBytes,
    contents: b.contents,
    piiContents: b.piiContents,
    spans,
  };
}

/** Parses `0.5:40,1:20,256:1` (KiB:weight) into a size mix. */
export function parseSizeMix(text: string): SizeMix {
  const mix = text.split(',').map((part) => {
    const [kib, weight] = part.split(':').map(Number);
    if (!(kib && kib > 0 && weight !== undefined && weight > 0))
      throw new Error(`bad size mix entry: ${part}`);
    return { bytes: Math.round(kib * 1024), weight };
  });
  if (mix.length === 0) throw new Error('empty size mix');
  return mix;
}

/** Mean content bytes per span of a mix (the ±20 % jitter is symmetric). */
export function meanBytes(mix: SizeMix): number {
  const total = mix.reduce((t, m) => t + m.weight, 0);
  return mix.reduce((t, m) => t + m.bytes * m.weight, 0) / total;
}
