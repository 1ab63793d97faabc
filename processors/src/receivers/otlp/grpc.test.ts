import assert from 'node:assert/strict';
import { connect, type Settings } from 'node:http2';
import { after, before, describe, test } from 'node:test';
import { Client, credentials, Metadata, type ServiceError, status } from '@grpc/grpc-js';
import { pino } from 'pino';
import type { Consumer } from '../../component/component.ts';
import { BackpressureError } from '../../component/errors.ts';
import { EXPORT_METHOD } from '../../exporters/otlpgrpc/sender.ts';
import { decodeRequest } from '../../otlp/codec.ts';
import type { TracesRequest } from '../../otlp/model.ts';
import { receivedBytes } from '../../otlp/received-bytes.ts';
import { SelfTelemetry } from '../../telemetry/self-telemetry.ts';
import { recordLlmSpans, sdkProtobuf } from '../../testing/sdk-spans.ts';
import { MAX_FRAME_BYTES, OtlpGrpcServer, STREAM_WINDOW_BYTES } from './grpc.ts';

const silent = pino({ level: 'silent' });
const LIMIT = 256 * 1024;
const identity = (b: Buffer) => b;

/** What the test's pipeline does with the next request. */
type Behaviour = 'accept' | 'push back' | { readonly hold: Promise<void> };

function startServer(behave: () => Behaviour) {
  const received: TracesRequest[] = [];
  const consumer: Consumer<'traces'> = {
    async consume(data) {
      const b = behave();
      if (b === 'push back') throw new BackpressureError('queue is full', 1);
      if (b !== 'accept') await b.hold;
      received.push(data);
    },
  };
  const telemetry = new SelfTelemetry({ processMetrics: false });
  const server = new OtlpGrpcServer(
    { host: '127.0.0.1', port: 0, maxRecvMsgSizeBytes: LIMIT },
    { receiverId: 'otlp', transport: 'grpc', telemetry, logger: silent },
    { traces: consumer },
  );
  return { server, received, telemetry };
}

function exportTraces(
  port: number,
  body: Uint8Array,
  options: Record<string, number> = {},
): Promise<ServiceError | null> {
  const client = new Client(`127.0.0.1:${port}`, credentials.createInsecure(), options);
  return new Promise((resolve) => {
    client.makeUnaryRequest<Buffer, Buffer>(
      EXPORT_METHOD.traces,
      identity,
      identity,
      Buffer.from(body),
      new Metadata(),
      { deadline: Date.now() + 10_000 },
      (err) => {
        client.close();
        resolve(err);
      },
    );
  });
}

describe('OTLP/gRPC receiver', () => {
  let behaviour: Behaviour = 'accept';
  const s = startServer(() => behaviour);
  let body: Uint8Array;
  before(async () => {
    await s.server.start();
    body = sdkProtobuf(await recordLlmSpans(3));
  });
  after(() => s.server.shutdown(Date.now() + 5_000));

  test('accepts an export and hands the pipeline the received bytes beside the decoded request', async () => {
    behaviour = 'accept';
    const before = s.received.length;
    assert.equal(await exportTraces(s.server.port, body), null);
    const data = s.received[before];
    assert.ok(data);
    assert.deepEqual(data, decodeRequest('traces', Buffer.from(body), 'protobuf'));
    assert.deepEqual(Buffer.from(receivedBytes<'traces'>(data) ?? []), Buffer.from(body));
  });

  test('accepts a gzip-compressed export', async () => {
    behaviour = 'accept';
    const before = s.received.length;
    // 2 is grpc-js's number for gzip.
    assert.equal(await exportTraces(s.server.port, body, { 'grpc.default_compression_algorithm': 2 }), null);
    assert.equal(s.received.length, before + 1);
  });

  test('answers INVALID_ARGUMENT to a body that is not protobuf, and counts it', async () => {
    behaviour = 'accept';
    const err = await exportTraces(s.server.port, Buffer.from(body).subarray(0, body.length - 5));
    assert.equal(err?.code, status.INVALID_ARGUMENT);
    const m = s.telemetry.registry.getSingleMetric('llmobs_receiver_rejected_requests_total');
    const values = (await m?.get())?.values ?? [];
    assert.ok(
      values.some((v) => v.labels.transport === 'grpc' && v.labels.reason === 'invalid' && v.value >= 1),
    );
  });

  test('answers UNAVAILABLE when the pipeline pushes back, so clients retry', async () => {
    behaviour = 'push back';
    const err = await exportTraces(s.server.port, body);
    assert.equal(err?.code, status.UNAVAILABLE);
  });

  test('answers RESOURCE_EXHAUSTED to a message over max_recv_msg_size', async () => {
    behaviour = 'accept';
    const err = await exportTraces(s.server.port, Buffer.alloc(LIMIT + 1), {
      'grpc.max_send_message_length': -1,
    });
    assert.equal(err?.code, status.RESOURCE_EXHAUSTED);
  });

  test('answers RESOURCE_EXHAUSTED to a gzip message that inflates past max_recv_msg_size', async () => {
    behaviour = 'accept';
    const err = await exportTraces(s.server.port, Buffer.alloc(LIMIT * 4), {
      'grpc.max_send_message_length': -1,
      'grpc.default_compression_algorithm': 2,
    });
    assert.equal(err?.code, status.RESOURCE_EXHAUSTED);
  });

  test('lets a client send a whole default-sized message without waiting for WINDOW_UPDATE', async () => {
    const session = connect(`http://127.0.0.1:${s.server.port}`);
    try {
      // The server's first SETTINGS carries Node's defaults; the widened ones follow it.
      const seen = await new Promise<Settings>((resolve, reject) => {
        session.on('remoteSettings', (settings) => {
          if (settings.initialWindowSize !== 65_535) resolve(settings);
        });
        session.on('error', reject);
        setTimeout(() => resolve(session.remoteSettings), 5_000).unref();
      });
      assert.equal(seen.initialWindowSize, STREAM_WINDOW_BYTES);
      assert.equal(seen.maxFrameSize, MAX_FRAME_BYTES);
    } finally {
      session.close();
    }
  });
});

test('OTLP/gRPC receiver: shutdown lets a call in flight finish before it returns', async () => {
  let release = () => {};
  const hold = new Promise<void>((r) => {
    release = r;
  });
  let entered = () => {};
  const inPipeline = new Promise<void>((r) => {
    entered = r;
  });
  const s = startServer(() => {
    entered();
    return { hold };
  });
  await s.server.start();
  const call = exportTraces(s.server.port, sdkProtobuf(await recordLlmSpans(1)));
  await inPipeline;
  let shutDown = false;
  const stopping = s.server.shutdown(Date.now() + 10_000).then(() => {
    shutDown = true;
  });
  await new Promise((r) => setTimeout(r, 50));
  assert.equal(shutDown, false, 'shutdown waits for the call in flight');
  release();
  assert.equal(await call, null);
  await stopping;
  assert.equal(s.received.length, 1);
});
