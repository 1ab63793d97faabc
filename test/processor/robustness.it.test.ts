import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { request } from 'node:http';
import { after, before, describe, test } from 'node:test';
import { gzipSync } from 'node:zlib';
import { status } from '@grpc/grpc-js';
import { OTLPTraceExporter as ProtoExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { otlpTypes } from '../../processors/src/otlp/schema.ts';
import { recordLlmSpans, sdkJson, sdkProtobuf } from '../../processors/src/testing/sdk-spans.ts';
import { type RunningCollector, startCollector } from '../harness/collector.ts';
import { processorConfig, type RunningProcessor, startProcessor } from '../harness/llmobs-processor.ts';
import { grpcExport } from './grpc-export.ts';
import { assertAllExported, assertSameSpans, emitTrace, recording } from './traces.ts';

const LIMIT = 1024 * 1024;
const PB = 'application/x-protobuf';

function varint(n: number): number[] {
  const out: number[] = [];
  while (n > 127) {
    out.push((n & 127) | 128);
    n = Math.floor(n / 128);
  }
  out.push(n);
  return out;
}

/**
 * An ExportTraceServiceRequest whose one span attribute is AnyValue{array_value{values: [AnyValue...]}}
 * nested `depth` times around a string: small on the wire, ruinous for a recursive decoder.
 */
function nestedProtobuf(depth: number): Buffer {
  const leaf = [0x0a, 0x04, ...Buffer.from('leaf')]; // AnyValue{string_value: "leaf"}
  const anyLen: number[] = [leaf.length];
  for (let k = 1; k <= depth; k++) {
    const inner = anyLen[k - 1] ?? 0;
    const arrayLen = 1 + varint(inner).length + inner;
    anyLen.push(1 + varint(arrayLen).length + arrayLen);
  }
  const header: number[] = [];
  for (let k = depth; k >= 1; k--) {
    const inner = anyLen[k - 1] ?? 0;
    header.push(0x2a, ...varint(1 + varint(inner).length + inner), 0x0a, ...varint(inner));
  }
  const wrap = (tag: number, body: Buffer) =>
    Buffer.concat([Buffer.from([tag, ...varint(body.length)]), body]);
  const kv = Buffer.concat([Buffer.from([0x0a, 0x01, 0x64]), wrap(0x12, Buffer.from([...header, ...leaf]))]);
  return wrap(0x0a, wrap(0x12, wrap(0x12, wrap(0x4a, kv))));
}

/** The same nesting in OTLP/JSON, written out as text (JSON.stringify itself would overflow the stack). */
function nestedJson(depth: number): string {
  const value = `${'{"arrayValue":{"values":['.repeat(depth)}{"stringValue":"leaf"}${']}}'.repeat(depth)}`;
  return `{"resourceSpans":[{"scopeSpans":[{"spans":[{"name":"deep","attributes":[{"key":"deep","value":${value}}]}]}]}]}`;
}

interface Answer {
  readonly status: number;
  readonly code: number;
  readonly message: string;
}

describe('hostile and broken input against the running processor', () => {
  let sink: RunningCollector;
  let proc: RunningProcessor;
  let url = '';
  const sentBad = { invalid: 0, too_large: 0, unsupported_media_type: 0 };

  before(async () => {
    sink = await startCollector({ name: 'otelcol-robust' });
    proc = await startProcessor({
      // The backend comes from the environment, as a Deployment would pass it.
      env: { LLMOBS_TEST_SINK: sink.otlpHttpEndpoint },
      config: processorConfig({
        http: { max_request_body_size: LIMIT },
        grpc: { max_recv_msg_size_mib: 1 },
        // biome-ignore lint/suspicious/noTemplateCurlyInString: the processor expands it, not JavaScript
        exporters: { 'otlp_http/sink': { endpoint: '${env:LLMOBS_TEST_SINK}' } },
      }),
    });
    url = `${proc.otlpHttpEndpoint}/v1/traces`;
  });
  after(async () => {
    const code = await proc?.stop();
    await sink?.stop();
    assert.equal(code, 0);
  });

  /** POSTs to the traces path and decodes the google.rpc.Status of an error answer. */
  async function post(
    body: Uint8Array | string,
    headers: Record<string, string>,
    reason?: keyof typeof sentBad,
  ): Promise<Answer> {
    if (reason) sentBad[reason]++;
    const res = await fetch(url, { method: 'POST', headers, body });
    const bytes = new Uint8Array(await res.arrayBuffer());
    const json = (res.headers.get('content-type') ?? '').startsWith('application/json');
    const rpc = json
      ? (JSON.parse(Buffer.from(bytes).toString('utf8')) as { code?: number; message?: string })
      : otlpTypes.rpcStatus.toObject(otlpTypes.rpcStatus.decode(bytes), { defaults: true });
    return {
      status: res.status,
      code: Number(rpc.code ?? 0),
      message: String(rpc.message ?? ''),
    };
  }

  test('malformed protobuf: 400 INVALID_ARGUMENT saying why', async () => {
    const good = sdkProtobuf(await recordLlmSpans(1));
    const a = await post(good.subarray(0, good.length - 5), { 'content-type': PB }, 'invalid');
    assert.deepEqual([a.status, a.code], [400, 3]);
    assert.match(a.message, /^invalid OTLP protobuf: /);
  });

  test('invalid JSON and a bad hex id: 400 in JSON, naming the problem', async () => {
    const json = sdkJson(await recordLlmSpans(1));
    const a = await post(json.slice(0, -3), { 'content-type': 'application/json' }, 'invalid');
    assert.deepEqual([a.status, a.code], [400, 3]);
    assert.match(a.message, /^invalid JSON: /);
    const b = await post(
      json.replace(/"spanId":"[0-9a-f]{16}"/, '"spanId":"xyz"'),
      { 'content-type': 'application/json' },
      'invalid',
    );
    assert.equal(b.status, 400);
    assert.match(b.message, /spanId must be 16 hex characters, got "xyz"/);
  });

  test('wrong content type or encoding: 415 naming what is supported', async () => {
    const a = await post('{"resourceSpans":[]}', { 'content-type': 'text/plain' }, 'unsupported_media_type');
    assert.equal(a.status, 415);
    assert.match(
      a.message,
      /unsupported Content-Type "text\/plain" \(supported: application\/x-protobuf, application\/json\)/,
    );
    const b = await post(
      sdkProtobuf(await recordLlmSpans(1)),
      { 'content-type': PB, 'content-encoding': 'br' },
      'unsupported_media_type',
    );
    assert.equal(b.status, 415);
    assert.match(b.message, /unsupported Content-Encoding "br" \(supported: gzip, deflate\)/);
  });

  test('truncated gzip: 400', async () => {
    const gz = gzipSync(sdkProtobuf(await recordLlmSpans(1)));
    const a = await post(
      gz.subarray(0, gz.length - 8),
      { 'content-type': PB, 'content-encoding': 'gzip' },
      'invalid',
    );
    assert.deepEqual([a.status, a.code], [400, 3]);
    assert.match(a.message, /^invalid gzip body: unexpected end of file/);
  });

  test('oversized body, declared or streamed, and a gzip bomb: 413', async () => {
    const declared = await post(Buffer.alloc(LIMIT + 1), { 'content-type': PB }, 'too_large');
    assert.equal(declared.status, 413);
    assert.equal(declared.message, `request body of ${LIMIT + 1} bytes exceeds the limit of ${LIMIT} bytes`);

    sentBad.too_large++;
    const streamed = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = request(url, { method: 'POST', headers: { 'content-type': 'application/json' } }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => {
          body += c;
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      });
      req.on('error', reject);
      const chunk = Buffer.alloc(64 * 1024, 0x20);
      let sent = 0;
      const pump = () => {
        while (sent < LIMIT * 8) {
          sent += chunk.length;
          if (!req.write(chunk)) return void req.once('drain', pump);
        }
        req.end();
      };
      pump();
    });
    assert.equal(streamed.status, 413);
    assert.match(streamed.body, /request body exceeds the limit of 1048576 bytes/);

    const bomb = gzipSync(Buffer.alloc(LIMIT * 64));
    assert.ok(bomb.length < LIMIT, 'small on the wire');
    const b = await post(bomb, { 'content-type': PB, 'content-encoding': 'gzip' }, 'too_large');
    assert.equal(b.status, 413);
    assert.equal(b.message, `decompressed body exceeds the limit of ${LIMIT} bytes`);
  });

  test('deeply nested AnyValue in JSON and protobuf: 400, not a crash', async () => {
    const j = await post(nestedJson(30_000), { 'content-type': 'application/json' }, 'invalid');
    assert.equal(j.status, 400);
    assert.match(j.message, /payload nests deeper than 128 levels/);
    const p = await post(nestedProtobuf(100_000), { 'content-type': PB }, 'invalid');
    assert.equal(p.status, 400);
    assert.match(p.message, /^invalid OTLP protobuf: max depth exceeded/);
  });

  test('over gRPC: malformed and deeply nested are INVALID_ARGUMENT, oversized is RESOURCE_EXHAUSTED', async () => {
    const good = sdkProtobuf(await recordLlmSpans(1));
    const malformed = await grpcExport(proc.otlpGrpcEndpoint, good.subarray(0, good.length - 5));
    assert.equal(malformed?.code, status.INVALID_ARGUMENT);
    assert.match(malformed?.details ?? '', /^invalid OTLP protobuf: /);
    const deep = await grpcExport(proc.otlpGrpcEndpoint, nestedProtobuf(100_000));
    assert.equal(deep?.code, status.INVALID_ARGUMENT);
    assert.match(deep?.details ?? '', /max depth exceeded/);
    const big = await grpcExport(proc.otlpGrpcEndpoint, Buffer.alloc(LIMIT * 2));
    assert.equal(big?.code, status.RESOURCE_EXHAUSTED);
    assert.equal(
      await proc.metric('llmobs_receiver_rejected_requests_total', { transport: 'grpc', reason: 'invalid' }),
      2,
    );
  });

  test('afterwards the process is up, healthy, has counted every rejection and still delivers', async () => {
    assert.ok(proc.process.running);
    assert.equal(await proc.healthy(), true);
    for (const [reason, n] of Object.entries(sentBad)) {
      assert.equal(
        await proc.metric('llmobs_receiver_rejected_requests_total', { transport: 'http', reason }),
        n,
        `rejected requests counted as ${reason}`,
      );
    }
    assert.equal(await proc.metric('otelcol_receiver_accepted_spans_total'), undefined, 'none of it got in');
    const exporter = recording(new ProtoExporter({ url }));
    const sent = await emitTrace(exporter, `after-abuse-${randomBytes(4).toString('hex')}`);
    assertAllExported(exporter, 3);
    const got = await sink.waitForSpans(
      (s) => s.resource.attributes['resource.marker'] === sent.marker,
      15_000,
      3,
    );
    assertSameSpans(got, sent, 'a valid trace after the abuse');
    assert.equal(
      proc.logs().filter((l) => l.level === 'fatal' || l.level === 'error').length,
      0,
      'nothing the senders did was an error of the processor',
    );
  });
});
