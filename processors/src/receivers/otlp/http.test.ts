import assert from 'node:assert/strict';
import { once } from 'node:events';
import { Agent, createServer, request, type Server } from 'node:http';
import { type AddressInfo, connect } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { deflateSync, gzipSync } from 'node:zlib';
import { pino } from 'pino';
import { eventually } from '../../../../test/harness/eventually.ts';
import { freePort } from '../../../../test/harness/ports.ts';
import type { Consumer } from '../../component/component.ts';
import { BackpressureError, PermanentError } from '../../component/errors.ts';
import { loadConfigText } from '../../config/load.ts';
import { decodeRequest } from '../../otlp/codec.ts';
import type { TracesRequest } from '../../otlp/model.ts';
import { otlpTypes } from '../../otlp/schema.ts';
import { defaultRegistry } from '../../service/registry.ts';
import { Service } from '../../service/service.ts';
import { SelfTelemetry } from '../../telemetry/self-telemetry.ts';
import { recordLlmSpans, sdkJson, sdkProtobuf } from '../../testing/sdk-spans.ts';
import { OtlpHttpServer } from './http.ts';

const silent = pino({ level: 'silent' });
const PB = 'application/x-protobuf';
const JSON_TYPE = 'application/json';
const LIMIT = 64 * 1024;

/** The value of one series of a self-metric (0 when the series does not exist yet). */
async function metric(t: SelfTelemetry, name: string, labels: Record<string, string>): Promise<number> {
  const m = t.registry.getSingleMetric(name);
  if (!m) return 0;
  const { values } = await m.get();
  return values
    .filter((v) => Object.entries(labels).every(([k, want]) => String(v.labels[k]) === want))
    .reduce((sum, v) => sum + v.value, 0);
}

interface Reply {
  readonly status: number;
  readonly contentType: string;
  readonly headers: Headers;
  readonly body: Buffer;
}

async function post(url: string, body: Uint8Array | string, headers: Record<string, string>): Promise<Reply> {
  const res = await fetch(url, { method: 'POST', headers, body });
  return {
    status: res.status,
    contentType: res.headers.get('content-type') ?? '',
    headers: res.headers,
    body: Buffer.from(await res.arrayBuffer()),
  };
}

/** A google.rpc.Status error body, decoded in the encoding the response says it has. */
function rpcStatus(r: Reply): { code: number; message: string } {
  if (r.contentType.startsWith(JSON_TYPE)) return JSON.parse(r.body.toString('utf8'));
  const msg = otlpTypes.rpcStatus.decode(r.body);
  return otlpTypes.rpcStatus.toObject(msg, { defaults: true }) as { code: number; message: string };
}

const spanCount = (r: TracesRequest) =>
  r.resourceSpans.flatMap((rs) => rs.scopeSpans.flatMap((ss) => ss.spans)).length;

describe('OTLP/HTTP receiver', () => {
  const telemetry = new SelfTelemetry({ processMetrics: false });
  const received: TracesRequest[] = [];
  let behaviour: 'accept' | 'backpressure' | 'permanent' | 'crash' = 'accept';
  const consumer: Consumer<'traces'> = {
    async consume(data) {
      if (behaviour === 'backpressure') throw new BackpressureError('sending queue is full', 7);
      if (behaviour === 'permanent') throw new PermanentError('span has no name');
      if (behaviour === 'crash') throw new Error('boom');
      received.push(data);
    },
  };
  const server = new OtlpHttpServer(
    {
      host: '127.0.0.1',
      port: 0,
      maxRequestBodyBytes: LIMIT,
      paths: { traces: '/v1/traces', metrics: '/v1/metrics', logs: '/v1/logs' },
    },
    { receiverId: 'otlp', transport: 'http', telemetry, logger: silent },
    { traces: consumer },
  );
  let base = '';
  let url = '';
  let protobuf: Uint8Array;
  let json: string;

  before(async () => {
    await server.start();
    base = `http://127.0.0.1:${server.address?.port}`;
    url = `${base}/v1/traces`;
    const spans = await recordLlmSpans(2);
    protobuf = sdkProtobuf(spans);
    json = sdkJson(spans);
  });
  // A bounded wait: a receiver that cannot shut down must fail the run, not hang it.
  after(() => server.shutdown(Date.now() + 1000), { timeout: 10_000 });

  const rejected = (reason: string) =>
    metric(telemetry, 'llmobs_receiver_rejected_requests_total', { transport: 'http', reason });

  test('answers 200 with an empty ExportTraceServiceResponse in protobuf to a protobuf request', async () => {
    behaviour = 'accept';
    const before = received.length;
    const acceptedBefore = await metric(telemetry, 'otelcol_receiver_accepted_spans_total', {});
    const r = await post(url, protobuf, { 'content-type': PB });
    assert.equal(r.status, 200);
    assert.equal(r.contentType, PB);
    assert.equal(r.body.length, 0, 'an empty message: full success, no partial_success');
    assert.deepEqual(otlpTypes.traces.response.toObject(otlpTypes.traces.response.decode(r.body)), {});
    assert.equal(received.length, before + 1);
    const got = received.at(-1);
    assert.ok(got);
    assert.equal(spanCount(got), 3);
    assert.equal(
      (await metric(telemetry, 'otelcol_receiver_accepted_spans_total', { transport: 'http' })) -
        acceptedBefore,
      3,
    );
  });

  test('answers 200 with {} in JSON to an OTLP/JSON request, and decodes it to the same data', async () => {
    behaviour = 'accept';
    const r = await post(url, json, { 'content-type': 'application/json; charset=utf-8' });
    assert.equal(r.status, 200);
    assert.match(r.contentType, /^application\/json/);
    assert.deepEqual(JSON.parse(r.body.toString()), {});
    const plain = (x: TracesRequest) =>
      otlpTypes.traces.request.toObject(x as never, { longs: String, bytes: String });
    const got = received.at(-1);
    assert.ok(got);
    assert.deepEqual(plain(got), plain(decodeRequest('traces', protobuf, 'protobuf')));
  });

  test('accepts gzip and deflate bodies', async () => {
    behaviour = 'accept';
    const before = received.length;
    const gz = await post(url, gzipSync(protobuf), { 'content-type': PB, 'content-encoding': 'gzip' });
    const df = await post(url, deflateSync(Buffer.from(json)), {
      'content-type': JSON_TYPE,
      'content-encoding': 'deflate',
    });
    assert.deepEqual([gz.status, df.status], [200, 200]);
    assert.equal(received.length, before + 2);
  });

  test('keeps an idle keep-alive connection past Node’s default (5 s + 1 s buffer), so a sender reusing it loses nothing', async () => {
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    const post = () =>
      new Promise<{ status: number; reused: boolean }>((resolve, reject) => {
        const req = request(
          url,
          { method: 'POST', agent, headers: { 'content-type': 'application/x-protobuf' } },
          (res) => {
            res.resume();
            res.on('end', () => resolve({ status: res.statusCode ?? 0, reused: req.reusedSocket }));
          },
        );
        req.on('error', reject);
        req.end(Buffer.from(protobuf));
      });
    try {
      assert.equal((await post()).status, 200);
      await new Promise((r) => setTimeout(r, 7_000));
      assert.deepEqual(await post(), { status: 200, reused: true });
    } finally {
      agent.destroy();
    }
  });

  test('answers 400 with a protobuf google.rpc.Status to malformed protobuf', async () => {
    const before = await rejected('invalid');
    const r = await post(url, protobuf.subarray(0, protobuf.length - 9), { 'content-type': PB });
    assert.equal(r.status, 400);
    assert.equal(r.contentType, PB);
    const s = rpcStatus(r);
    assert.equal(s.code, 3, 'INVALID_ARGUMENT');
    assert.match(s.message, /^invalid OTLP protobuf: /);
    assert.equal((await rejected('invalid')) - before, 1);
  });

  test('answers 400 with a JSON google.rpc.Status to invalid JSON', async () => {
    const r = await post(url, '{"resourceSpans": [', { 'content-type': JSON_TYPE });
    assert.equal(r.status, 400);
    assert.match(r.contentType, /^application\/json/);
    const s = rpcStatus(r);
    assert.equal(s.code, 3);
    assert.match(s.message, /^invalid JSON: /);
  });

  test('answers 400 naming the field when a trace id is not 32 hex characters', async () => {
    const bad = json.replace(/"traceId":"[0-9a-f]{32}"/, '"traceId":"W47/95gDgQPSabYzgT/GDA=="');
    assert.notEqual(bad, json, 'the fixture has a hex traceId to break');
    const r = await post(url, bad, { 'content-type': JSON_TYPE });
    assert.equal(r.status, 400);
    assert.match(rpcStatus(r).message, /traceId must be 32 hex characters, got "W47\/95gDgQPSabYzgT\/GDA=="/);
  });

  test('answers 415 to text/plain, naming the supported types', async () => {
    const before = await rejected('unsupported_media_type');
    const r = await post(url, 'hello', { 'content-type': 'text/plain' });
    assert.equal(r.status, 415);
    assert.equal(r.contentType, PB, 'error bodies are protobuf unless the sender spoke JSON');
    assert.match(rpcStatus(r).message, /unsupported Content-Type "text\/plain".*application\/x-protobuf/);
    assert.equal((await rejected('unsupported_media_type')) - before, 1);
  });

  test('answers 413 to a body over max_request_body_size, declared or chunked', async () => {
    const before = await rejected('too_large');
    const declared = await post(url, Buffer.alloc(LIMIT + 1), { 'content-type': PB });
    assert.equal(declared.status, 413);
    assert.match(rpcStatus(declared).message, new RegExp(`exceeds the limit of ${LIMIT} bytes`));

    // No Content-Length: the limit has to hold while the body streams in.
    const chunked = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = request(url, { method: 'POST', headers: { 'content-type': JSON_TYPE } }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => {
          body += c;
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      });
      req.on('error', reject);
      const chunk = Buffer.alloc(16 * 1024, 0x20);
      let sent = 0;
      const pump = () => {
        while (sent < LIMIT * 4) {
          sent += chunk.length;
          if (!req.write(chunk)) return void req.once('drain', pump);
        }
        req.end();
      };
      pump();
    });
    assert.equal(chunked.status, 413);
    assert.match(JSON.parse(chunked.body).message, /request body exceeds the limit/);
    assert.equal((await rejected('too_large')) - before, 2);
  });

  test('answers 413 to a small gzip body that inflates past the limit', async () => {
    const bomb = gzipSync(Buffer.alloc(LIMIT * 100));
    assert.ok(bomb.length < LIMIT / 10, `the bomb is small on the wire (${bomb.length} bytes)`);
    const r = await post(url, bomb, { 'content-type': PB, 'content-encoding': 'gzip' });
    assert.equal(r.status, 413);
    assert.match(rpcStatus(r).message, /decompressed body exceeds the limit/);
  });

  test('answers 400 to truncated gzip', async () => {
    const gz = gzipSync(protobuf);
    const r = await post(url, gz.subarray(0, gz.length - 10), {
      'content-type': PB,
      'content-encoding': 'gzip',
    });
    assert.equal(r.status, 400);
    assert.match(rpcStatus(r).message, /^invalid gzip body: /);
  });

  test('answers 405 with Allow: POST to GET on a signal path, 404 to unknown paths', async () => {
    const get = await fetch(url);
    assert.equal(get.status, 405);
    assert.equal(get.headers.get('allow'), 'POST');
    await get.arrayBuffer();
    const unknown = await post(`${base}/v1/spans`, protobuf, { 'content-type': PB });
    assert.equal(unknown.status, 404);
    // A signal without a pipeline is not served at all.
    const metrics = await post(`${base}/v1/metrics`, new Uint8Array(), { 'content-type': PB });
    assert.equal(metrics.status, 404);
  });

  test('answers 503 with Retry-After when the pipeline pushes back, and counts the refused spans', async () => {
    behaviour = 'backpressure';
    const before = await metric(telemetry, 'otelcol_receiver_refused_spans_total', { transport: 'http' });
    const r = await post(url, protobuf, { 'content-type': PB });
    behaviour = 'accept';
    assert.equal(r.status, 503);
    assert.equal(r.headers.get('retry-after'), '7');
    const s = rpcStatus(r);
    assert.equal(s.code, 14, 'UNAVAILABLE');
    assert.equal(s.message, 'sending queue is full');
    assert.equal(
      (await metric(telemetry, 'otelcol_receiver_refused_spans_total', { transport: 'http' })) - before,
      3,
    );
  });

  test('answers 400 to a permanent pipeline error and 500 to an unexpected one', async () => {
    behaviour = 'permanent';
    const permanent = await post(url, json, { 'content-type': JSON_TYPE });
    behaviour = 'crash';
    const crash = await post(url, json, { 'content-type': JSON_TYPE });
    behaviour = 'accept';
    assert.equal(permanent.status, 400);
    assert.equal(rpcStatus(permanent).message, 'span has no name');
    assert.equal(crash.status, 500);
    assert.deepEqual(rpcStatus(crash), { code: 13, message: 'internal error: boom' });
  });
});

describe('OTLP/HTTP receiver shutdown', () => {
  test('cuts a request still streaming its body at the deadline instead of waiting for it', {
    timeout: 10_000,
  }, async () => {
    const srv = new OtlpHttpServer(
      {
        host: '127.0.0.1',
        port: 0,
        maxRequestBodyBytes: LIMIT,
        paths: { traces: '/v1/traces', metrics: '/v1/metrics', logs: '/v1/logs' },
      },
      {
        receiverId: 'otlp',
        transport: 'http',
        telemetry: new SelfTelemetry({ processMetrics: false }),
        logger: silent,
      },
      { traces: { consume: async () => {} } },
    );
    await srv.start();
    const req = request(`http://127.0.0.1:${srv.address?.port}/v1/traces`, {
      method: 'POST',
      // 100-continue: the server's answer proves it holds the request before shutdown starts.
      headers: { 'content-type': PB, expect: '100-continue' },
    });
    const failed = new Promise<Error>((resolve) => req.on('error', resolve));
    req.flushHeaders();
    await once(req, 'continue');
    req.write(Buffer.alloc(100)); // ...and the rest of the body never comes
    await srv.shutdown(Date.now() + 200);
    assert.match((await failed).message, /socket hang up|ECONNRESET/);
  });
});

describe('OTLP/HTTP receiver draining at shutdown', () => {
  test('a connection whose request was in flight is closed after its answer instead of kept alive', {
    timeout: 10_000,
  }, async () => {
    let entered!: () => void;
    const inPipeline = new Promise<void>((resolve) => {
      entered = resolve;
    });
    let release!: () => void;
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    const srv = new OtlpHttpServer(
      {
        host: '127.0.0.1',
        port: 0,
        maxRequestBodyBytes: LIMIT,
        paths: { traces: '/v1/traces', metrics: '/v1/metrics', logs: '/v1/logs' },
      },
      {
        receiverId: 'otlp',
        transport: 'http',
        telemetry: new SelfTelemetry({ processMetrics: false }),
        logger: silent,
      },
      {
        traces: {
          async consume() {
            entered();
            await held;
          },
        },
      },
    );
    await srv.start();
    const agent = new Agent({ keepAlive: true });
    const answer = new Promise<{ status: number; connection: string | undefined }>((resolve, reject) => {
      const req = request(
        `http://127.0.0.1:${srv.address?.port}/v1/traces`,
        { method: 'POST', agent, headers: { 'content-type': JSON_TYPE } },
        (res) => {
          res.resume();
          res.on('end', () => resolve({ status: res.statusCode ?? 0, connection: res.headers.connection }));
        },
      );
      req.on('error', reject);
      req.end('{}');
    });
    await inPipeline;
    const closed = srv.shutdown(Date.now() + 60_000);
    release();
    assert.deepEqual(await answer, { status: 200, connection: 'close' });
    await closed;
    agent.destroy();
  });
});

describe('OTLP/HTTP receiver in front of a full sending queue', () => {
  const telemetry = new SelfTelemetry({ processMetrics: false });
  let stalled: Server;
  let service: Service;
  let url = '';
  let body: Uint8Array;
  let requestBytes = 0;
  const held: import('node:http').ServerResponse[] = [];

  before(async () => {
    // A backend that takes the request and never answers: the batch stays in flight, its bytes reserved.
    stalled = createServer((_req, res) => {
      held.push(res);
    });
    stalled.listen(0, '127.0.0.1');
    await once(stalled, 'listening');
    body = sdkProtobuf(await recordLlmSpans(2));
    // What the exporter reserves for one request: a pipeline without data-changing processors forwards
    // the received protobuf bytes as they are.
    requestBytes = body.length;
    const port = await freePort();
    const { config, errors } = loadConfigText(
      `
receivers:
  otlp:
    protocols:
      http:
        endpoint: 127.0.0.1:${port}
exporters:
  otlp_http/stalled:
    endpoint: http://127.0.0.1:${(stalled.address() as AddressInfo).port}
    sending_queue:
      num_consumers: 1
      queue_size: ${Math.floor(requestBytes * 1.5)}
service:
  telemetry: { metrics: { level: none } }
  pipelines:
    traces: { receivers: [otlp], exporters: [otlp_http/stalled] }
`,
      defaultRegistry(),
      {},
    );
    assert.ok(config, errors.join('\n'));
    service = new Service(config, silent, telemetry, () => ({ ready: true, since: new Date() }));
    await service.start();
    url = `http://127.0.0.1:${port}/v1/traces`;
  });
  after(async () => {
    await service?.shutdown(Date.now() + 200);
    for (const res of held) res.destroy();
    stalled?.closeAllConnections();
    stalled?.close();
  });

  test('the first request fills the queue, the next gets 503 + Retry-After, and every counter agrees', async () => {
    const first = await post(url, body, { 'content-type': PB });
    assert.equal(first.status, 200, 'accepted into the queue although the backend does not answer');
    const refused: Reply[] = [];
    for (let i = 0; i < 3; i++) refused.push(await post(url, body, { 'content-type': PB }));
    for (const r of refused) {
      assert.equal(r.status, 503);
      assert.equal(r.headers.get('retry-after'), '5');
      assert.equal(rpcStatus(r).code, 14);
      assert.match(rpcStatus(r).message, /sending queue of exporter otlp_http\/stalled is full/);
    }
    const m = (name: string, labels: Record<string, string> = {}) => metric(telemetry, name, labels);
    assert.equal(
      await m('otelcol_receiver_accepted_spans_total', { receiver: 'otlp', transport: 'http' }),
      3,
    );
    assert.equal(await m('otelcol_receiver_refused_spans_total', { receiver: 'otlp', transport: 'http' }), 9);
    assert.equal(
      await m('otelcol_exporter_enqueue_failed_spans_total', { exporter: 'otlp_http/stalled' }),
      9,
    );
    assert.equal(await m('otelcol_exporter_queue_size', { exporter: 'otlp_http/stalled' }), requestBytes);
    assert.equal(
      await m('otelcol_exporter_queue_capacity', { exporter: 'otlp_http/stalled' }),
      Math.floor(requestBytes * 1.5),
    );
    assert.equal(
      await m('llmobs_receiver_rejected_requests_total'),
      0,
      'push-back is not a rejected request',
    );
    // The exporter sends from its own loop (after a batch flush delay): on a busy machine that can come
    // after the answers above, so wait for it, then check nothing more arrived.
    await eventually(
      'the accepted request at the backend',
      async () => (held.length > 0 ? true : undefined),
      10_000,
    );
    assert.equal(held.length, 1, 'the backend got exactly the one accepted request');
  });
});

describe('OTLP/HTTP receiver against slow senders', () => {
  const srv = new OtlpHttpServer(
    {
      host: '127.0.0.1',
      port: 0,
      maxRequestBodyBytes: LIMIT,
      paths: { traces: '/v1/traces', metrics: '/v1/metrics', logs: '/v1/logs' },
      timeouts: { readHeaderMs: 400, readMs: 800, idleMs: 5_000 },
    },
    {
      receiverId: 'otlp',
      transport: 'http',
      telemetry: new SelfTelemetry({ processMetrics: false }),
      logger: silent,
    },
    { traces: { consume: async () => {} } },
  );
  let port = 0;
  before(async () => {
    await srv.start();
    port = srv.address?.port ?? 0;
  });
  after(() => srv.shutdown(Date.now() + 1000), { timeout: 10_000 });

  /**
   * Sends `head` then `trickle` one byte per 50 ms on a raw socket, until the server answers or closes;
   * resolves with what the server wrote and how many trickled bytes went out.
   */
  function trickle(head: string, trickle: string): Promise<{ answer: string; sent: number }> {
    return new Promise((resolve) => {
      const socket = connect(port, '127.0.0.1');
      let answer = '';
      let sent = 0;
      socket.setEncoding('utf8');
      socket.on('data', (d: string) => {
        answer += d;
      });
      socket.on('error', () => {});
      const timer = setInterval(() => {
        if (sent >= trickle.length) return;
        socket.write(trickle[sent++] ?? '');
      }, 50);
      socket.on('close', () => {
        clearInterval(timer);
        resolve({ answer, sent });
      });
      socket.on('connect', () => socket.write(head));
    });
  }

  test('cuts a sender whose headers trickle in past read_header_timeout with 408, serving others meanwhile', {
    timeout: 10_000,
  }, async () => {
    const headers = `x-slow: ${'a'.repeat(200)}\r\ncontent-type: application/json\r\ncontent-length: 2\r\n\r\n{}`;
    const slow = trickle('POST /v1/traces HTTP/1.1\r\nhost: x\r\n', headers);
    const fast = await post(`http://127.0.0.1:${port}/v1/traces`, '{}', { 'content-type': JSON_TYPE });
    assert.equal(fast.status, 200, 'another sender is served while the slow one trickles');
    const { answer, sent } = await slow;
    assert.match(answer, /^HTTP\/1\.1 408 /);
    assert.ok(sent < headers.length, `cut before the headers were complete (${sent}/${headers.length})`);
  });

  test('cuts a body trickled past read_timeout with 408', { timeout: 10_000 }, async () => {
    const body = JSON.stringify({ resourceSpans: [] }).padEnd(300, ' ');
    const { answer, sent } = await trickle(
      `POST /v1/traces HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: ${body.length}\r\n\r\n`,
      body,
    );
    assert.match(answer, /^HTTP\/1\.1 408 /);
    assert.ok(sent < body.length, `cut before the body was complete (${sent}/${body.length})`);
  });
});
