import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { status } from '@grpc/grpc-js';
import { OTLPTraceExporter as ProtoExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { otlpTypes } from '../../processors/src/otlp/schema.ts';
import { recordLlmSpans, sdkProtobuf } from '../../processors/src/testing/sdk-spans.ts';
import { processorConfig, type RunningProcessor, startProcessor } from '../harness/llmobs-processor.ts';
import { type OutageBackend, startOutageBackend } from './backend.ts';
import { grpcExport } from './grpc-export.ts';
import {
  assertAllExported,
  assertCopies,
  assertSameSpans,
  type EmittedTrace,
  emitTrace,
  recording,
} from './traces.ts';

/**
 * Short backoff so delivery follows the backend's return within a second. With retry_on_failure's
 * defaults (5 s, x1.5, up to 30 s, for 300 s) the same loop only waits longer between attempts.
 */
const FAST_RETRY = { initial_interval: '100ms', max_interval: '500ms', max_elapsed_time: '120s' };
const EXPORTER = 'otlp_http/backend';
const OUTAGE_MS = 60_000;

const withMarker = (marker: string) => (s: { resource: { attributes: Record<string, unknown> } }) =>
  s.resource.attributes['resource.marker'] === marker;

/** Sends `n` traces through the SDK's OTLP/HTTP protobuf exporter; each export must be accepted (200). */
async function sendTraces(proc: RunningProcessor, prefix: string, n: number): Promise<EmittedTrace[]> {
  const out: EmittedTrace[] = [];
  for (let i = 0; i < n; i++) {
    const exporter = recording(new ProtoExporter({ url: `${proc.otlpHttpEndpoint}/v1/traces` }));
    out.push(await emitTrace(exporter, `${prefix}-${i}`));
    assertAllExported(exporter, 3);
  }
  return out;
}

describe('downstream outage', () => {
  const GRPC_EXPORTER = 'otlp_grpc/backend';
  let backend: OutageBackend;
  let proc: RunningProcessor;
  before(async () => {
    backend = await startOutageBackend({ name: 'otelcol-outage' });
    // Both OTLP exporters to the same backend: each span arrives twice, once through each.
    proc = await startProcessor({
      config: processorConfig({
        exporters: {
          [EXPORTER]: { endpoint: backend.otlpHttpEndpoint, retry_on_failure: FAST_RETRY },
          [GRPC_EXPORTER]: {
            endpoint: backend.otlpGrpcEndpoint,
            tls: { insecure: true },
            retry_on_failure: FAST_RETRY,
          },
        },
      }),
    });
  });
  after(async () => {
    await proc?.stop();
    await backend?.stop();
  });

  test('spans sent during a 60 s backend outage are queued, then all delivered unchanged once it is back', async () => {
    const run = randomBytes(4).toString('hex');
    const [warmup] = await sendTraces(proc, `outage-warmup-${run}`, 1);
    assert.ok(warmup);
    assertCopies(await backend.waitForSpans(withMarker(warmup.marker), 6), warmup, 2);

    await backend.pause();
    const during = await sendTraces(proc, `outage-${run}`, 5);
    for (const exporter of [EXPORTER, GRPC_EXPORTER]) {
      const queued = await proc.waitForMetric(
        'otelcol_exporter_queue_size',
        { exporter },
        (v) => (v ?? 0) > 0,
      );
      assert.ok((queued ?? 0) > 0, `the sending queue of ${exporter} holds the spans (${queued} bytes)`);
      await proc.waitForLog(
        (l) => l.component === exporter && l.msg === 'export failed, will retry',
        `${exporter} to retry`,
      );
      assert.equal(await proc.metric('otelcol_exporter_sent_spans_total', { exporter }), 3);
    }

    // The scenario: the backend stays down for a full minute while the queues hold the spans.
    await sleep(OUTAGE_MS);
    assert.equal(
      await proc.metric('llmobs_dropped_items_total'),
      undefined,
      'nothing dropped during the outage',
    );
    // Back on the very same ports: each exporter's next retry finds it.
    await backend.resume();
    for (const sent of during) assertCopies(await backend.waitForSpans(withMarker(sent.marker), 6), sent, 2);
    for (const exporter of [EXPORTER, GRPC_EXPORTER]) {
      await proc.waitForMetric('otelcol_exporter_sent_spans_total', { exporter }, (v) => v === 18);
      await proc.waitForMetric('otelcol_exporter_queue_size', { exporter }, (v) => v === 0);
    }
    assert.equal(await proc.metric('otelcol_exporter_send_failed_spans_total'), undefined);
    assert.equal(await proc.metric('llmobs_dropped_items_total'), undefined, 'nothing dropped');
    assert.equal(
      backend.spans().filter((s) => String(s.resource.attributes['resource.marker']).includes(run)).length,
      36,
      'every span exactly once per exporter',
    );
  });
});

describe('one dead backend beside a live one', () => {
  let dead: OutageBackend;
  let live: OutageBackend;
  let proc: RunningProcessor;
  before(async () => {
    [dead, live] = await Promise.all([
      startOutageBackend({ name: 'otelcol-dead' }),
      startOutageBackend({ name: 'otelcol-live' }),
    ]);
    await dead.pause();
    proc = await startProcessor({
      config: processorConfig({
        exporters: {
          'otlp_http/dead': { endpoint: dead.otlpHttpEndpoint, retry_on_failure: FAST_RETRY },
          'otlp_http/live': { endpoint: live.otlpHttpEndpoint, retry_on_failure: FAST_RETRY },
        },
      }),
    });
  });
  after(async () => {
    await proc?.stop();
    await dead?.stop();
    await live?.stop();
  });

  test('the live backend gets every span while the dead one’s exporter queues and retries', async () => {
    const run = randomBytes(4).toString('hex');
    const sent = await sendTraces(proc, `isolation-${run}`, 5);
    for (const t of sent) assertCopies(await live.waitForSpans(withMarker(t.marker), 3), t, 1);
    assert.equal(await proc.metric('otelcol_exporter_sent_spans_total', { exporter: 'otlp_http/live' }), 15);
    const queued = await proc.waitForMetric(
      'otelcol_exporter_queue_size',
      { exporter: 'otlp_http/dead' },
      (v) => (v ?? 0) > 0,
    );
    assert.ok((queued ?? 0) > 0, 'the dead backend’s spans wait in its own queue');
    assert.equal(
      await proc.metric('otelcol_exporter_sent_spans_total', { exporter: 'otlp_http/dead' }),
      undefined,
    );
    // And they arrive once it is back.
    await dead.resume();
    for (const t of sent) assertCopies(await dead.waitForSpans(withMarker(t.marker), 3), t, 1);
  });
});

interface SentRequest {
  readonly body: Uint8Array;
  readonly spanIds: readonly string[];
}

/** Bytes the exporter queues for one request: a pass-through pipeline forwards what it received. */
function queuedBytes(body: Uint8Array): number {
  return body.length;
}

describe('beyond the sending queue capacity', () => {
  let backend: OutageBackend;
  let proc: RunningProcessor;
  // One request: a parent and a child span recorded by the SDK, as OTLP protobuf.
  const SPANS_PER_REQUEST = 2;
  let requestBytes = 0;

  before(async () => {
    backend = await startOutageBackend({ name: 'otelcol-capacity' });
    requestBytes = queuedBytes(sdkProtobuf(await recordLlmSpans(1)));
    await backend.pause();
    proc = await startProcessor({
      config: processorConfig({
        exporters: {
          [EXPORTER]: {
            endpoint: backend.otlpHttpEndpoint,
            retry_on_failure: FAST_RETRY,
            // Room for two requests and a half: the third cannot fit.
            sending_queue: { queue_size: Math.floor(requestBytes * 2.5), num_consumers: 1 },
          },
        },
      }),
    });
  });
  after(async () => {
    await proc?.stop();
    await backend?.stop();
  });

  test('refuses with 503 + Retry-After and UNAVAILABLE, counts exactly the refused spans, loses nothing accepted', async () => {
    const bodies: SentRequest[] = await Promise.all(
      Array.from({ length: 5 }, async () => {
        const spans = await recordLlmSpans(1);
        return { body: sdkProtobuf(spans), spanIds: spans.map((s) => s.spanContext().spanId) };
      }),
    );
    for (const r of bodies) assert.equal(queuedBytes(r.body), requestBytes, 'each takes the same room');
    const [a, b, c, d, e] = bodies as [SentRequest, SentRequest, SentRequest, SentRequest, SentRequest];
    const post = (body: Uint8Array) =>
      fetch(`${proc.otlpHttpEndpoint}/v1/traces`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-protobuf' },
        body,
      });

    for (const accepted of [a, b]) {
      const res = await post(accepted.body);
      assert.equal(res.status, 200, await res.text());
    }
    for (const refused of [c, d]) {
      const res = await post(refused.body);
      assert.equal(res.status, 503);
      assert.equal(res.headers.get('retry-after'), '5');
      const rpc = otlpTypes.rpcStatus.toObject(
        otlpTypes.rpcStatus.decode(new Uint8Array(await res.arrayBuffer())),
      );
      assert.equal(rpc.code, 14, 'google.rpc.Code UNAVAILABLE');
      assert.match(String(rpc.message), /sending queue of exporter otlp_http\/backend is full/);
    }
    const grpcErr = await grpcExport(proc.otlpGrpcEndpoint, e.body);
    assert.equal(grpcErr?.code, status.UNAVAILABLE, 'gRPC senders get UNAVAILABLE, which OTLP clients retry');
    assert.match(grpcErr?.details ?? '', /sending queue of exporter otlp_http\/backend is full/);

    const refusedSpans = 3 * SPANS_PER_REQUEST;
    assert.equal(await proc.metric('otelcol_receiver_accepted_spans_total'), 2 * SPANS_PER_REQUEST);
    assert.equal(await proc.metric('otelcol_receiver_refused_spans_total'), refusedSpans);
    assert.equal(
      await proc.metric('otelcol_receiver_refused_spans_total', { transport: 'http' }),
      2 * SPANS_PER_REQUEST,
    );
    assert.equal(
      await proc.metric('otelcol_receiver_refused_spans_total', { transport: 'grpc' }),
      SPANS_PER_REQUEST,
    );
    assert.equal(
      await proc.metric('otelcol_exporter_enqueue_failed_spans_total', { exporter: EXPORTER }),
      refusedSpans,
    );
    assert.equal(await proc.metric('otelcol_exporter_queue_size', { exporter: EXPORTER }), 2 * requestBytes);

    await backend.resume();
    const acceptedIds = [...a.spanIds, ...b.spanIds].sort();
    const arrived = await backend.waitForSpans(
      (s) => acceptedIds.includes(s.span.spanId),
      acceptedIds.length,
    );
    assert.deepEqual(arrived.map((s) => s.span.spanId).sort(), acceptedIds, 'every accepted span, once');
    await proc.waitForMetric('otelcol_exporter_sent_spans_total', { exporter: EXPORTER }, (v) => v === 4);
    await proc.waitForMetric('otelcol_exporter_queue_size', { exporter: EXPORTER }, (v) => v === 0);
    const refusedIds = new Set([...c.spanIds, ...d.spanIds, ...e.spanIds]);
    assert.equal(
      backend.spans().filter((s) => refusedIds.has(s.span.spanId)).length,
      0,
      'refused spans were not kept',
    );
    assert.equal(await proc.metric('llmobs_dropped_items_total'), undefined, 'a refusal is not a drop');

    // With the backend back the queue empties, and what was refused goes through when the sender retries.
    const retried = await post(c.body);
    assert.equal(retried.status, 200);
    await backend.waitForSpans((s) => c.spanIds.includes(s.span.spanId), c.spanIds.length);
  });
});

describe('SIGTERM', () => {
  let backend: OutageBackend;
  before(async () => {
    backend = await startOutageBackend({ name: 'otelcol-drain' });
  });
  after(() => backend?.stop());

  const start = (shutdownTimeout: string) =>
    startProcessor({
      shutdownTimeout,
      config: processorConfig({
        exporters: { [EXPORTER]: { endpoint: backend.otlpHttpEndpoint, retry_on_failure: FAST_RETRY } },
      }),
    });

  test('drains what is queued for a backend that comes back within the shutdown timeout, then exits 0', async () => {
    const proc = await start('40s');
    await backend.pause();
    const sent = await sendTraces(proc, `drain-${randomBytes(4).toString('hex')}`, 3);
    await proc.waitForMetric('otelcol_exporter_queue_size', { exporter: EXPORTER }, (v) => (v ?? 0) > 0);

    const exited = proc.stop(60_000);
    await proc.waitForLog((l) => l.msg === 'shutting down, draining queues', 'the drain to start');
    // Still there: it holds the queued spans instead of exiting with them.
    await proc.waitForLog((l) => l.msg === 'export failed, will retry', 'a retry during the drain');
    assert.ok(proc.process.running, 'the processor waits for its queue');
    assert.equal(await proc.healthy(), false, 'no longer ready while draining');

    await backend.resume();
    assert.equal(await exited, 0);
    for (const s of sent) assertSameSpans(await backend.waitForSpans(withMarker(s.marker), 3), s, s.marker);
    const logs = proc.logs();
    assert.ok(logs.some((l) => l.msg === 'shutdown complete'));
    assert.equal(logs.filter((l) => l.msg === 'dropping data').length, 0, 'nothing dropped');
  });

  test('gives up at the shutdown timeout when the backend stays down, counting what it drops', async () => {
    const proc = await start('1s');
    await backend.pause();
    const [sent] = await sendTraces(proc, `nodrain-${randomBytes(4).toString('hex')}`, 1);
    assert.ok(sent);
    await proc.waitForMetric('otelcol_exporter_queue_size', { exporter: EXPORTER }, (v) => (v ?? 0) > 0);
    assert.equal(await proc.stop(30_000), 0, 'a bounded shutdown is still a clean exit');
    const drops = proc.logs().filter((l) => l.msg === 'dropping data');
    assert.equal(
      drops.reduce((n, l) => n + Number(l.items), 0),
      3,
      'the three queued spans, logged as dropped',
    );
    assert.ok(
      drops.every((l) => l.reason === 'shutdown'),
      JSON.stringify(drops),
    );
    await backend.resume();
  });
});
