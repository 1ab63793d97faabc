import { readFileSync, writeFileSync } from 'node:fs';
import { type Context, ROOT_CONTEXT, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { ProtobufTraceSerializer } from '@opentelemetry/otlp-transformer';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { InMemorySpanExporter, SimpleSpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace';
import { countSpans } from './otlp-wire.ts';
import { randomProse } from './prose.ts';

/**
 * The benchmark's payload: OTLP/protobuf ExportTraceServiceRequests of spans recorded by the real
 * OpenTelemetry JS SDK (sdk-trace 3.1) and encoded by its own serializer (otlp-transformer), shaped
 * like an instrumented LLM service: per trace an HTTP server span and chat-completion client spans
 * with gen_ai.* attributes and a prompt and a completion of a few hundred bytes as span events.
 * Built once per run, written to a file, and sent unchanged to both targets.
 */

const WORDS = (
  'the a customer order refund invoice policy account shipping delay within days please summarise ' +
  'explain why how when support ticket escalate model answer context retrieval document section ' +
  'paragraph table total amount currency euro dollar update address email phone number status ' +
  'pending approved rejected review request reply politely concise bullet points json format'
).split(' ');

/** A small deterministic PRNG: the same texts and sizes every run (ids and timestamps come from the SDK). */
function prng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

const text = (rand: () => number, bytes: number): string => randomProse(rand, WORDS, bytes);

export interface PayloadOptions {
  /** Distinct request bodies to build; the load generator cycles through them. */
  readonly requests: number;
  readonly spansPerRequest: number;
  /** Spans per trace: one server span and `spansPerTrace - 1` chat spans. */
  readonly spansPerTrace?: number;
  /**
   * Give every chat span a `user.id` attribute with this value (the cardinality storm's payload): a
   * fixed-width placeholder the load generator overwrites in place with a distinct id per span.
   */
  readonly userIdPlaceholder?: string;
  /**
   * The redaction payload: every chat span carries its prompt and completion as span attributes
   * (`gen_ai.input.messages` / `gen_ai.output.messages`, JSON strings of the semantic conventions'
   * message shape) of 2–8 KB together, with a few planted emails, card numbers and phone numbers
   * ({@link PLANTED}), and no content events; see {@link piiText}.
   */
  readonly redactionContent?: boolean;
}

/**
 * What the redaction payload plants: every value here must be gone from what a redacting target
 * exports (bench/sink.ts looks for them). The cards pass Luhn (the llmobs processor checks it; the
 * Collector's regex cannot); the phones are the shapes both rule sets express.
 */
export const PLANTED = {
  emails: ['maria.gonzalez@example-mail.com', 'j.smith+orders@shop.example.org', 'support.team@acme-corp.io'],
  cards: ['4111 1111 1111 1111', '5555-5555-5555-4444', '378282246310005', '4012888888881881'],
  phones: ['(415) 555-2671', '+44 20 7946 0958'],
} as const;
export const PLANTED_VALUES: readonly string[] = [...PLANTED.emails, ...PLANTED.cards, ...PLANTED.phones];

/**
 * About `bytes` of prose with a planted value every `every` bytes or so (at least one), each next to
 * a sentence that reads like a customer message.
 */
export function piiText(rand: () => number, bytes: number, every = 1500): string {
  const parts: string[] = [];
  let n = 0;
  let next = Math.floor(rand() * every * 0.8);
  let planted = 0;
  while (n < bytes) {
    if (n >= next || (planted === 0 && n + 200 >= bytes)) {
      const v = PLANTED_VALUES[Math.floor(rand() * PLANTED_VALUES.length)] ?? '';
      const lead = v.includes('@') ? 'my email is' : /^[+(]/.test(v) ? 'call me at' : 'charge the card';
      const piece = `${lead} ${v} please.`;
      parts.push(piece);
      n += piece.length + 1;
      planted++;
      next = n + every * (0.5 + rand());
      continue;
    }
    const w = WORDS[Math.floor(rand() * WORDS.length)] ?? 'x';
    parts.push(w);
    n += w.length + 1;
  }
  return parts.join(' ');
}

/**
 * The storm payload's `user.id` placeholder: `user-` and ten characters the load generator replaces
 * with a zero-padded decimal counter ({@link patchUserIds}). Same length before and after, so the
 * protobuf string's length prefix and every enclosing length stay valid.
 */
export const USER_ID_PLACEHOLDER = 'user-@@@@@@@@@@';
const ID_PREFIX = 'user-'.length;
const ID_DIGITS = USER_ID_PLACEHOLDER.length - ID_PREFIX;

/** Byte offsets of every occurrence of `placeholder` in an encoded request. */
export function placeholderOffsets(body: Uint8Array, placeholder: string): number[] {
  const buf = Buffer.from(body.buffer, body.byteOffset, body.byteLength);
  const out: number[] = [];
  for (let at = buf.indexOf(placeholder); at >= 0; at = buf.indexOf(placeholder, at + placeholder.length))
    out.push(at);
  return out;
}

/**
 * Writes ids `first`, `first + 1`, ... over the placeholders at `offsets` of `body` (a copy of a
 * storm body), as `user-0000000042`; returns the next unused id.
 */
export function patchUserIds(body: Buffer, offsets: readonly number[], first: number): number {
  let id = first;
  for (const at of offsets) {
    let n = id++;
    for (let i = ID_DIGITS - 1; i >= 0; i--) {
      body[at + ID_PREFIX + i] = 0x30 + (n % 10);
      n = Math.floor(n / 10);
    }
  }
  return id;
}

async function recordRequest(
  seed: number,
  spansPerRequest: number,
  spansPerTrace: number,
  userId: string | undefined,
  redactionContent = false,
) {
  const rand = prng(seed);
  const exporter = new InMemorySpanExporter();
  const provider = new TracerProvider({
    resource: resourceFromAttributes({
      'service.name': 'chat-api',
      'service.version': '1.8.2',
      'deployment.environment.name': 'production',
      'k8s.namespace.name': 'llm-app',
      'k8s.deployment.name': 'chat-api',
      'k8s.pod.name': `chat-api-7d9f8b6c5-${(seed % 97).toString(36)}x2lq`,
      'k8s.node.name': 'node-a',
      'telemetry.sdk.language': 'nodejs',
      'telemetry.sdk.name': 'opentelemetry',
      'telemetry.sdk.version': '3.1.0',
    }),
    spanProcessors: [new SimpleSpanProcessor({ exporter })],
  });
  const tracer = provider.getTracer('@opentelemetry/instrumentation-openai', '0.22.0');
  let recorded = 0;
  while (recorded < spansPerRequest) {
    const inTrace = Math.min(spansPerTrace, spansPerRequest - recorded);
    const server = tracer.startSpan('POST /v1/chat', {
      kind: SpanKind.SERVER,
      attributes: {
        'http.request.method': 'POST',
        'http.route': '/v1/chat',
        'url.path': '/v1/chat',
        'http.response.status_code': 200,
        'user_agent.original': 'chat-web/4.2',
      },
    });
    const ctx: Context = trace.setSpan(ROOT_CONTEXT, server);
    for (let i = 1; i < inTrace; i++) {
      const input = 200 + Math.floor(rand() * 600);
      const output = 50 + Math.floor(rand() * 400);
      const span = tracer.startSpan(
        'chat gpt-4o-mini',
        {
          kind: SpanKind.CLIENT,
          attributes: {
            'gen_ai.operation.name': 'chat',
            'gen_ai.provider.name': 'openai',
            'gen_ai.request.model': 'gpt-4o-mini',
            'gen_ai.request.temperature': 0.2,
            'gen_ai.request.max_tokens': 1024,
            'gen_ai.response.model': 'gpt-4o-mini-2024-07-18',
            'gen_ai.response.id': `chatcmpl-${Math.floor(rand() * 2 ** 48).toString(36)}`,
            'gen_ai.response.finish_reasons': ['stop'],
            'gen_ai.usage.input_tokens': input,
            'gen_ai.usage.output_tokens': output,
            'server.address': 'api.openai.com',
            'server.port': 443,
            ...(userId !== undefined ? { 'user.id': userId } : {}),
          },
        },
        ctx,
      );
      if (redactionContent) {
        // 2–8 KB of content in all: a 1.5–6 KB prompt and a 0.5–2 KB completion.
        const promptBytes = 1500 + Math.floor(rand() * 4500);
        const completionBytes = Math.round(promptBytes / 3);
        span.setAttribute(
          'gen_ai.input.messages',
          JSON.stringify([
            { role: 'system', parts: [{ type: 'text', content: 'You are a helpful support assistant.' }] },
            { role: 'user', parts: [{ type: 'text', content: piiText(rand, promptBytes) }] },
          ]),
        );
        span.setAttribute(
          'gen_ai.output.messages',
          JSON.stringify([
            {
              role: 'assistant',
              parts: [{ type: 'text', content: piiText(rand, completionBytes, 4000) }],
              finish_reason: 'stop',
            },
          ]),
        );
        span.end();
        continue;
      }
      span.addEvent('gen_ai.user.message', {
        'gen_ai.provider.name': 'openai',
        content: text(rand, 250 + Math.floor(rand() * 150)),
      });
      span.addEvent('gen_ai.choice', {
        'gen_ai.provider.name': 'openai',
        index: 0,
        finish_reason: 'stop',
        message: text(rand, 300 + Math.floor(rand() * 200)),
      });
      if (rand() < 0.02) span.setStatus({ code: SpanStatusCode.ERROR, message: 'rate limited' });
      span.end();
    }
    server.end();
    recorded += inTrace;
  }
  await provider.forceFlush();
  const spans = exporter.getFinishedSpans();
  await provider.shutdown();
  const body = ProtobufTraceSerializer.serializeRequest(spans);
  if (!body) throw new Error('the SDK serializer produced nothing');
  const counted = countSpans(body);
  if (counted !== spansPerRequest)
    throw new Error(`payload has ${counted} spans, expected ${spansPerRequest}`);
  return body;
}

export async function buildPayload(o: PayloadOptions): Promise<Uint8Array[]> {
  const bodies: Uint8Array[] = [];
  for (let i = 0; i < o.requests; i++) {
    const body = await recordRequest(
      0x5eed + i,
      o.spansPerRequest,
      o.spansPerTrace ?? 10,
      o.userIdPlaceholder,
      o.redactionContent ?? false,
    );
    if (o.userIdPlaceholder !== undefined && placeholderOffsets(body, o.userIdPlaceholder).length === 0)
      throw new Error('the storm payload has no user.id placeholder');
    bodies.push(body);
  }
  return bodies;
}

/** Bodies as one file: each a 4-byte big-endian length, then the bytes. */
export function writePayloadFile(path: string, bodies: readonly Uint8Array[]): void {
  const parts: Buffer[] = [];
  for (const b of bodies) {
    const len = Buffer.alloc(4);
    len.writeUInt32BE(b.length);
    parts.push(len, Buffer.from(b.buffer, b.byteOffset, b.byteLength));
  }
  writeFileSync(path, Buffer.concat(parts));
}

export function readPayloadFile(path: string): Buffer[] {
  const all = readFileSync(path);
  const out: Buffer[] = [];
  for (let pos = 0; pos < all.length; ) {
    const len = all.readUInt32BE(pos);
    out.push(all.subarray(pos + 4, pos + 4 + len));
    pos += 4 + len;
  }
  return out;
}

/** A load generator's payload: the file its first argument names, and the spans in each body. */
export function payloadOfArgv(): { bodies: Buffer[]; spansPerBody: number[] } {
  const payloadPath = process.argv[2];
  if (!payloadPath) throw new Error('usage: loadgen.ts PAYLOAD_FILE (run by the benchmark over IPC)');
  const bodies = readPayloadFile(payloadPath);
  return { bodies, spansPerBody: bodies.map((b) => countSpans(b)) };
}
