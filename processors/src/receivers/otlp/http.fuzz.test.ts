import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { deflateSync, gzipSync } from 'node:zlib';
import fc from 'fast-check';
import { pino } from 'pino';
import type { Consumer } from '../../component/component.ts';
import { decodeRequest, encodeRequest } from '../../otlp/codec.ts';
import { anySignalRequest } from '../../otlp/fuzz-arbitraries.ts';
import { readCorpus } from '../../otlp/fuzz-corpus.ts';
import { anyJson, mutateBytes, mutateJson } from '../../otlp/fuzz-mutations.ts';
import { fuzzOptions } from '../../otlp/fuzz-options.ts';
import { otlpTypes, SIGNALS, type Signal } from '../../otlp/schema.ts';
import { SelfTelemetry } from '../../telemetry/self-telemetry.ts';
import { recordLlmSpans, sdkProtobuf } from '../../testing/sdk-spans.ts';
import { OtlpHttpServer } from './http.ts';

const LIMIT = 64 * 1024;
const PATHS: Record<Signal, string> = { traces: '/v1/traces', metrics: '/v1/metrics', logs: '/v1/logs' };

/** Does what an exporter does with a request (count and encode it both ways): a malformed one fails here. */
function exporterLike<S extends Signal>(signal: S): Consumer<S> {
  return {
    async consume(data) {
      encodeRequest(signal, data, 'protobuf');
      encodeRequest(signal, data, 'json');
    },
  };
}

interface Fuzzed {
  readonly signal: Signal;
  readonly body: Uint8Array;
  readonly contentType: string;
  readonly contentEncoding?: string;
}

describe('OTLP/HTTP receiver under fuzzing', () => {
  const server = new OtlpHttpServer(
    { host: '127.0.0.1', port: 0, maxRequestBodyBytes: LIMIT, paths: PATHS },
    {
      receiverId: 'otlp',
      transport: 'http',
      telemetry: new SelfTelemetry({ processMetrics: false }),
      logger: pino({ level: 'silent' }),
    },
    { traces: exporterLike('traces'), metrics: exporterLike('metrics'), logs: exporterLike('logs') },
  );
  let base = '';

  before(async () => {
    await server.start();
    base = `http://127.0.0.1:${server.address?.port}`;
  });
  after(() => server.shutdown(Date.now() + 1000), { timeout: 10_000 });

  /** POSTs and checks the answer: 2xx or the right 4xx with a google.rpc.Status body, never a 5xx. */
  async function answersWithoutServerError(f: Fuzzed): Promise<number> {
    const headers: Record<string, string> = { 'content-type': f.contentType };
    if (f.contentEncoding !== undefined) headers['content-encoding'] = f.contentEncoding;
    const res = await fetch(`${base}${PATHS[f.signal]}`, { method: 'POST', headers, body: f.body });
    const body = Buffer.from(await res.arrayBuffer());
    assert.ok([200, 400, 413, 415].includes(res.status), `status ${res.status}: ${body.toString('utf8')}`);
    if (res.status !== 200) {
      const json = (res.headers.get('content-type') ?? '').startsWith('application/json');
      const s = json
        ? (JSON.parse(body.toString('utf8')) as { code: number; message: string })
        : (otlpTypes.rpcStatus.toObject(otlpTypes.rpcStatus.decode(body)) as {
            code: number;
            message: string;
          });
      assert.equal(s.code, 3, 'INVALID_ARGUMENT');
      assert.ok(s.message.length > 0, 'says why');
    }
    return res.status;
  }

  const contentType = fc.constantFrom(
    'application/x-protobuf',
    'application/json',
    'application/json; charset=utf-8',
    'APPLICATION/X-PROTOBUF',
    'text/plain',
    '',
    'application/grpc',
  );
  const encode = (body: Uint8Array) =>
    fc.oneof(
      fc.constant({ body, contentEncoding: undefined }),
      fc.constant({ body: gzipSync(body), contentEncoding: 'gzip' }),
      fc.constant({ body: deflateSync(body), contentEncoding: 'deflate' }),
      fc.constant({ body, contentEncoding: 'gzip' }),
      fc
        .constantFrom('br', 'zstd', 'identity', ' GZIP ')
        .map((contentEncoding) => ({ body, contentEncoding })),
    );

  test('answers every fuzzed body, content type and encoding with 200, 400, 413 or 415', async () => {
    const sdk = sdkProtobuf(await recordLlmSpans(2));
    const bodies = fc.oneof(
      fc.uint8Array({ maxLength: 256 }),
      anyJson.map((v) => Buffer.from(JSON.stringify(v) ?? '')),
      mutateBytes(sdk, sdk),
      anySignalRequest.chain(({ signal, doc }) =>
        fc.oneof(
          mutateJson(doc).map((m) => Buffer.from(JSON.stringify(m) ?? '')),
          mutateBytes(
            encodeRequest(
              signal,
              decodeRequest(signal, Buffer.from(JSON.stringify(doc)), 'json'),
              'protobuf',
            ),
            sdk,
          ),
        ),
      ),
      fc.constant(Buffer.alloc(LIMIT + 1)),
      fc.constant(gzipSync(Buffer.alloc(LIMIT * 4))),
    );
    const statuses = new Map<number, number>();
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...SIGNALS),
        contentType,
        bodies.chain(encode),
        async (signal, ct, { body, contentEncoding }) => {
          const status = await answersWithoutServerError({ signal, body, contentType: ct, contentEncoding });
          statuses.set(status, (statuses.get(status) ?? 0) + 1);
        },
      ),
      fuzzOptions(250),
    );
    for (const s of [200, 400, 413, 415])
      assert.ok(statuses.has(s), `some case answered ${s}: ${[...statuses]}`);
  });

  test('answers every regression-corpus case with the status the corpus expects', async () => {
    const corpus = readCorpus();
    assert.ok(corpus.length > 0);
    for (const c of corpus) {
      const status = await answersWithoutServerError({
        signal: c.signal,
        body: c.body,
        contentType: c.encoding === 'json' ? 'application/json' : 'application/x-protobuf',
      });
      assert.equal(status, c.expect === 'accept' ? 200 : 400, c.file);
    }
  });
});
