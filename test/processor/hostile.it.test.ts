import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { gzipSync } from 'node:zlib';
import { status } from '@grpc/grpc-js';
import { otlpTypes } from '../../processors/src/otlp/schema.ts';
import { type RunningCollector, startCollector } from '../harness/collector.ts';
import { processorConfig, type RunningProcessor, startProcessor } from '../harness/llmobs-processor.ts';
import { grpcExport } from './grpc-export.ts';

const MiB = 1024 * 1024;
const LIMIT = 4 * MiB;
const PB = 'application/x-protobuf';
const HEADER_TIMEOUT_MS = 1_000;
const READ_TIMEOUT_MS = 5_000;
/**
 * What the processor may grow by while it handles one request of up to LIMIT bytes: the body, its decoded
 * form (protobufjs objects cost tens of bytes per wire byte for tiny attributes) and the export copy.
 */
const RSS_BOUND_BYTES = 16 * LIMIT;

/** A field of /proc/<pid>/status in bytes (VmRSS: resident now, VmHWM: the most it ever was). */
function procStatus(pid: number, field: 'VmRSS' | 'VmHWM'): number {
  const m = new RegExp(`^${field}:\\s+(\\d+) kB$`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  assert.ok(m, `${field} in /proc/${pid}/status`);
  return Number(m[1]) * 1024;
}

interface SpanSpec {
  readonly marker: string;
  readonly name?: string;
  readonly attributes?: readonly { key: string; value: Record<string, unknown> }[];
}

/** One span in an ExportTraceServiceRequest, its resource marked so the sink can find it. */
function request(spec: SpanSpec): Record<string, unknown> {
  return {
    resourceSpans: [
      {
        resource: { attributes: [{ key: 'resource.marker', value: { stringValue: spec.marker } }] },
        scopeSpans: [
          {
            scope: { name: 'hostile' },
            spans: [
              {
                traceId: randomBytes(16),
                spanId: randomBytes(8),
                name: spec.name ?? 'hostile',
                kind: 1,
                startTimeUnixNano: '1700000000000000000',
                endTimeUnixNano: '1700000000100000000',
                attributes: spec.attributes ?? [],
              },
            ],
          },
        ],
      },
    ],
  };
}

function protobuf(spec: SpanSpec): Uint8Array {
  const t = otlpTypes.traces.request;
  return t.encode(t.fromObject(request(spec))).finish();
}

const manyAttributes = (n: number) =>
  Array.from({ length: n }, (_, i) => ({ key: `attr.${i}`, value: { stringValue: 'v' } }));

interface Answer {
  readonly status: number;
  readonly message: string;
}

async function post(
  url: string,
  body: Uint8Array | string,
  headers: Record<string, string>,
): Promise<Answer> {
  const res = await fetch(url, { method: 'POST', headers, body });
  const bytes = new Uint8Array(await res.arrayBuffer());
  if (res.status === 200) return { status: 200, message: '' };
  const json = (res.headers.get('content-type') ?? '').startsWith('application/json');
  const rpc = json
    ? (JSON.parse(Buffer.from(bytes).toString('utf8')) as { message?: string })
    : otlpTypes.rpcStatus.toObject(otlpTypes.rpcStatus.decode(bytes), { defaults: true });
  return { status: res.status, message: String(rpc.message ?? '') };
}

/**
 * Writes `head`, then `trickle` one byte every 100 ms on a raw connection, until the server closes it;
 * resolves with what the server answered and how much of `trickle` got out.
 */
function slowSender(
  hostPort: string,
  head: string,
  trickle: string,
): Promise<{ answer: string; sent: number }> {
  const url = new URL(hostPort);
  return new Promise((resolve) => {
    const socket = connect(Number(url.port), url.hostname);
    let answer = '';
    let sent = 0;
    socket.setEncoding('utf8');
    socket.on('data', (d: string) => {
      answer += d;
    });
    socket.on('error', () => {});
    const timer = setInterval(() => {
      if (sent < trickle.length) socket.write(trickle[sent++] ?? '');
    }, 100);
    socket.on('close', () => {
      clearInterval(timer);
      resolve({ answer, sent });
    });
    socket.on('connect', () => socket.write(head));
  });
}

describe('hostile senders against the running processor', () => {
  let sink: RunningCollector;
  let proc: RunningProcessor;
  let url = '';
  let pid = 0;

  before(async () => {
    sink = await startCollector({ name: 'otelcol-hostile' });
    proc = await startProcessor({
      env: { LLMOBS_TEST_SINK: sink.otlpHttpEndpoint },
      config: processorConfig({
        http: {
          max_request_body_size: LIMIT,
          read_header_timeout: `${HEADER_TIMEOUT_MS}ms`,
          read_timeout: `${READ_TIMEOUT_MS}ms`,
        },
        grpc: { max_recv_msg_size_mib: LIMIT / MiB },
        // biome-ignore lint/suspicious/noTemplateCurlyInString: the processor expands it, not JavaScript
        exporters: { 'otlp_http/sink': { endpoint: '${env:LLMOBS_TEST_SINK}' } },
      }),
    });
    url = `${proc.otlpHttpEndpoint}/v1/traces`;
    pid = proc.process.pid ?? 0;
    assert.ok(pid > 0);
  });
  after(async () => {
    const code = await proc?.stop();
    await sink?.stop();
    assert.equal(code, 0);
  });

  test('100k attributes on one span: accepted and delivered whole, in bounded memory; 413 past the limit', {
    timeout: 120_000,
  }, async (t) => {
    const rssBefore = procStatus(pid, 'VmRSS');
    const marker = `many-${randomBytes(4).toString('hex')}`;
    const body = protobuf({ marker, attributes: manyAttributes(100_000) });
    assert.ok(body.length < LIMIT, `${body.length} bytes on the wire, under the limit`);
    // One after the other: decoding 100k attributes holds the event loop long enough that requests
    // arriving meanwhile could run into the short read_timeout this test configures.
    for (let i = 0; i < 3; i++) assert.equal((await post(url, body, { 'content-type': PB })).status, 200);
    const grpc = await grpcExport(proc.otlpGrpcEndpoint, body);
    assert.equal(grpc, null, 'accepted over gRPC too');
    const got = await sink.waitForSpans(
      (s) => s.resource.attributes['resource.marker'] === marker,
      60_000,
      4,
    );
    for (const s of got) assert.equal(Object.keys(s.span.attributes).length, 100_000);
    const grown = procStatus(pid, 'VmHWM') - rssBefore;
    t.diagnostic(`peak RSS +${(grown / MiB).toFixed(1)} MiB over ${(rssBefore / MiB).toFixed(1)} MiB`);
    assert.ok(
      grown < RSS_BOUND_BYTES,
      `peak RSS grew by ${(grown / MiB).toFixed(1)} MiB over ${(rssBefore / MiB).toFixed(1)} MiB for 4 requests of ` +
        `${(body.length / MiB).toFixed(1)} MiB; bound ${RSS_BOUND_BYTES / MiB} MiB (16 × max_request_body_size)`,
    );

    // The same attributes as OTLP/JSON are over the limit once inflated: refused before decoding.
    const json = JSON.stringify({
      resourceSpans: [{ scopeSpans: [{ spans: [{ name: 'many', attributes: manyAttributes(100_000) }] }] }],
    });
    assert.ok(json.length > LIMIT);
    const tooBig = await post(url, gzipSync(json), {
      'content-type': 'application/json',
      'content-encoding': 'gzip',
    });
    assert.equal(tooBig.status, 413);
    assert.equal(tooBig.message, `decompressed body exceeds the limit of ${LIMIT} bytes`);
  });

  test('one attribute value just under the body limit is delivered; just over it is 413 / RESOURCE_EXHAUSTED', {
    timeout: 120_000,
  }, async () => {
    const marker = `huge-${randomBytes(4).toString('hex')}`;
    const huge = (size: number) =>
      protobuf({ marker, attributes: [{ key: 'huge', value: { stringValue: 'x'.repeat(size) } }] });
    const under = huge(LIMIT - 1024);
    assert.ok(under.length <= LIMIT && under.length > LIMIT - 1024);
    assert.equal((await post(url, under, { 'content-type': PB })).status, 200);
    const [got] = await sink.waitForSpans(
      (s) => s.resource.attributes['resource.marker'] === marker,
      60_000,
      1,
    );
    assert.equal(String(got?.span.attributes.huge).length, LIMIT - 1024);

    const over = huge(LIMIT + 1024);
    const a = await post(url, over, { 'content-type': PB });
    assert.equal(a.status, 413);
    assert.equal(a.message, `request body of ${over.length} bytes exceeds the limit of ${LIMIT} bytes`);
    const g = await grpcExport(proc.otlpGrpcEndpoint, over);
    assert.equal(g?.code, status.RESOURCE_EXHAUSTED);
  });

  test('invalid UTF-8 in protobuf strings: accepted like the Collector accepts it, delivered with U+FFFD', {
    timeout: 60_000,
  }, async () => {
    const marker = `utf8-${randomBytes(4).toString('hex')}`;
    // The name is set to a placeholder of the same length, then its bytes are overwritten on the wire.
    const body = Buffer.from(
      protobuf({
        marker,
        name: 'NAME\u0001\u0001',
        attributes: [{ key: 'k', value: { stringValue: 'VAL\u0001' } }],
      }),
    );
    const swap = (from: string, to: number[]) => {
      const at = body.indexOf(from);
      assert.ok(at >= 0);
      Buffer.from(to).copy(body, at);
    };
    swap('NAME\u0001\u0001', [0x4e, 0x41, 0x4d, 0x45, 0xff, 0xfe]); // bytes that are never UTF-8
    swap('VAL\u0001', [0xed, 0xa0, 0x80, 0x41]); // an encoded lone surrogate
    // The anchor: the Collector's own OTLP receiver takes it.
    assert.equal(
      (await post(`${sink.otlpHttpEndpoint}/v1/traces`, body, { 'content-type': PB })).status,
      200,
    );
    assert.equal((await post(url, body, { 'content-type': PB })).status, 200);
    assert.equal(await grpcExport(proc.otlpGrpcEndpoint, body), null);
    const got = await sink.waitForSpans(
      (s) => s.resource.attributes['resource.marker'] === marker,
      30_000,
      3,
    );
    for (const s of got) {
      assert.match(s.span.name, /^NAME\uFFFD/);
      assert.match(String(s.span.attributes.k), /\uFFFDA$/);
    }
  });

  test('OTLP/JSON ids of the wrong type or length: 400 naming the field', async () => {
    const span = (fields: Record<string, unknown>) =>
      JSON.stringify({ resourceSpans: [{ scopeSpans: [{ spans: [{ name: 'x', ...fields }] }] }] });
    const cases: [Record<string, unknown>, RegExp][] = [
      [{ traceId: 12345 }, /^traceId must be a string, got number$/],
      [{ spanId: [1, 2, 3, 4, 5, 6, 7, 8] }, /^spanId must be a string, got array$/],
      [{ parentSpanId: { hex: 'eee19b7ec3c1b174' } }, /^parentSpanId must be a string, got object$/],
      [{ traceId: true }, /^traceId must be a string, got boolean$/],
      [{ traceId: '5b8efff798038103d269b633813fc6' }, /^traceId must be 32 hex characters/],
      [{ attributes: [{ key: 'b', value: { bytesValue: 7 } }] }, /^bytesValue must be a string, got number$/],
    ];
    for (const [fields, message] of cases) {
      const a = await post(url, span(fields), { 'content-type': 'application/json' });
      assert.equal(a.status, 400, JSON.stringify(fields));
      assert.match(a.message, message);
    }
  });

  test('fields of the wrong JSON type and protobuf ids of the wrong length: 400 here as from the Collector', async () => {
    const json = [
      { name: 123 },
      { name: 'x', startTimeUnixNano: 'abc' },
      { name: 'x', kind: 'SPAN_KIND_NOPE' },
      { name: 'x', attributes: [{ key: 'b', value: { bytesValue: 7 } }] },
    ].map((span) => JSON.stringify({ resourceSpans: [{ scopeSpans: [{ spans: [span] }] }] }));
    for (const body of json) {
      const collector = await post(`${sink.otlpHttpEndpoint}/v1/traces`, body, {
        'content-type': 'application/json',
      });
      const ours = await post(url, body, { 'content-type': 'application/json' });
      assert.deepEqual([ours.status, collector.status], [400, 400], body);
    }
    const t = otlpTypes.traces.request;
    const ids = (traceId: number, spanId: number) =>
      t
        .encode(
          t.fromObject({
            resourceSpans: [
              {
                scopeSpans: [
                  { spans: [{ traceId: Buffer.alloc(traceId, 1), spanId: Buffer.alloc(spanId, 2) }] },
                ],
              },
            ],
          }),
        )
        .finish();
    for (const [traceId, spanId, want] of [
      [3, 8, /^invalid OTLP protobuf: traceId is 3 bytes, must be 16 \(or empty\)$/],
      [16, 9, /^invalid OTLP protobuf: spanId is 9 bytes, must be 8 \(or empty\)$/],
    ] as const) {
      const body = ids(traceId, spanId);
      const collector = await post(`${sink.otlpHttpEndpoint}/v1/traces`, body, { 'content-type': PB });
      assert.equal(collector.status, 400, 'the anchor refuses it');
      const ours = await post(url, body, { 'content-type': PB });
      assert.equal(ours.status, 400);
      assert.match(ours.message, want);
      const grpc = await grpcExport(proc.otlpGrpcEndpoint, body);
      assert.equal(grpc?.code, status.INVALID_ARGUMENT);
    }
  });

  test('slowloris: headers trickled byte by byte are cut at read_header_timeout while others are served', {
    timeout: 60_000,
  }, async () => {
    const headers = `x-slow: ${'a'.repeat(400)}\r\ncontent-type: application/json\r\ncontent-length: 2\r\n\r\n{}`;
    const slow = Array.from({ length: 20 }, () =>
      slowSender(proc.otlpHttpEndpoint, 'POST /v1/traces HTTP/1.1\r\nhost: llmobs\r\n', headers),
    );
    // While twenty connections trickle, an ordinary sender is answered, several times over.
    for (let i = 0; i < 5; i++) {
      const marker = `during-slowloris-${i}`;
      assert.equal((await post(url, protobuf({ marker }), { 'content-type': PB })).status, 200);
    }
    for (const { answer, sent } of await Promise.all(slow)) {
      assert.match(answer, /^HTTP\/1\.1 408 Request Timeout/);
      assert.ok(sent < headers.length, `cut before the headers ended (${sent} of ${headers.length} bytes)`);
    }
  });

  test('slowloris: a body trickled byte by byte is cut at read_timeout', { timeout: 60_000 }, async () => {
    const body = JSON.stringify({ resourceSpans: [] }).padEnd(400, ' ');
    const { answer, sent } = await slowSender(
      proc.otlpHttpEndpoint,
      `POST /v1/traces HTTP/1.1\r\nhost: llmobs\r\ncontent-type: application/json\r\ncontent-length: ${body.length}\r\n\r\n`,
      body,
    );
    assert.match(answer, /^HTTP\/1\.1 408 Request Timeout/);
    assert.ok(sent < body.length, `cut before the body ended (${sent} of ${body.length} bytes)`);
  });

  test('afterwards the process is up, healthy and logged no error', async () => {
    assert.ok(proc.process.running);
    assert.equal(await proc.healthy(), true);
    assert.equal(
      proc.logs().filter((l) => l.level === 'fatal' || l.level === 'error').length,
      0,
      'nothing the senders did was an error of the processor',
    );
  });
});
