import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { status } from '@grpc/grpc-js';
import { OTLPTraceExporter as ProtoExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { otlpTypes } from '../../processors/src/otlp/schema.ts';
import { recordLlmSpans, sdkProtobuf } from '../../processors/src/testing/sdk-spans.ts';
import { processorConfig, type RunningProcessor, startProcessor } from '../harness/llmobs-processor.ts';
import {
  type FaultBackend,
  type FaultRequest,
  type OutageBackend,
  startFaultBackend,
  startOutageBackend,
} from './backend.ts';
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

describe('backend faults, as the Collector’s otlphttp and otlp exporters classify them', () => {
  const HTTP = 'otlp_http/faults';
  const GRPC = 'otlp_grpc/faults';
  const EXPORTERS = { http: HTTP, grpc: GRPC } as const;
  const TRANSPORTS = ['http', 'grpc'] as const;
  /** Per attempt; a slow backend is one that answers later than this. */
  const TIMEOUT_MS = 1_000;
  let backend: FaultBackend;
  let proc: RunningProcessor;
  before(async () => {
    backend = await startFaultBackend();
    const common = {
      timeout: `${TIMEOUT_MS}ms`,
      retry_on_failure: FAST_RETRY,
      // One consumer: one batch in flight, so a scripted answer meets the request it was meant for.
      sending_queue: { num_consumers: 1 },
    };
    proc = await startProcessor({
      config: processorConfig({
        exporters: {
          [HTTP]: { endpoint: backend.otlpHttpEndpoint, ...common },
          [GRPC]: { endpoint: backend.otlpGrpcEndpoint, tls: { insecure: true }, ...common },
        },
      }),
    });
  });
  after(async () => {
    await proc?.stop();
    await backend?.stop();
  });

  interface Counts {
    readonly sent: number;
    readonly failed: number;
    readonly permanent: number;
    readonly dropped: number;
  }
  const counts = async (exporter: string): Promise<Counts> => ({
    sent: (await proc.metric('otelcol_exporter_sent_spans_total', { exporter })) ?? 0,
    failed: (await proc.metric('otelcol_exporter_send_failed_spans_total', { exporter })) ?? 0,
    permanent:
      (await proc.metric('llmobs_dropped_items_total', { component: exporter, reason: 'permanent_error' })) ??
      0,
    dropped: (await proc.metric('llmobs_dropped_items_total', { component: exporter })) ?? 0,
  });
  const delta = (a: Counts, b: Counts): Counts => ({
    sent: b.sent - a.sent,
    failed: b.failed - a.failed,
    permanent: b.permanent - a.permanent,
    dropped: b.dropped - a.dropped,
  });

  /** Posts one SDK-recorded request (a parent and a child span) and returns its span ids. */
  async function postSpans(): Promise<string[]> {
    const spans = await recordLlmSpans(1);
    const res = await fetch(`${proc.otlpHttpEndpoint}/v1/traces`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-protobuf' },
      body: sdkProtobuf(spans),
    });
    assert.equal(res.status, 200, await res.text());
    return spans.map((s) => s.spanContext().spanId);
  }
  const carrying = (ids: readonly string[]) => (r: FaultRequest) => r.spanIds.some((id) => ids.includes(id));
  /** Waits until the exporter's counters have moved by `spans` (sent or failed) since `before`. */
  async function settled(exporter: string, before: Counts, spans: number): Promise<Counts> {
    await proc.process.waitUntil(
      async () => {
        const d = delta(before, await counts(exporter));
        return d.sent + d.failed >= spans;
      },
      `${exporter} to settle ${spans} span(s)`,
      20_000,
    );
    return delta(before, await counts(exporter));
  }

  for (const [name, http, grpc] of [
    ['HTTP 500 / INTERNAL', 500, status.INTERNAL],
    ['HTTP 400 / INVALID_ARGUMENT', 400, status.INVALID_ARGUMENT],
  ] as const) {
    test(`${name} is permanent: one attempt, the spans dropped and counted as permanent_error`, async () => {
      backend.script('http', { kind: 'error', http, grpc });
      backend.script('grpc', { kind: 'error', http, grpc });
      const before = { http: await counts(HTTP), grpc: await counts(GRPC) };
      const ids = await postSpans();
      for (const t of TRANSPORTS) {
        const d = await settled(EXPORTERS[t], before[t], ids.length);
        assert.deepEqual(d, { sent: 0, failed: 2, permanent: 2, dropped: 2 }, t);
        assert.equal(backend.requests(t).filter(carrying(ids)).length, 1, `${t}: not retried`);
        assert.equal(backend.kept(t).filter((id) => ids.includes(id)).length, 0);
      }
      const drops = proc
        .logs()
        .filter((l) => l.msg === 'dropping data' && String(l.error).includes(http === 500 ? '500' : '400'));
      assert.ok(
        drops.some((l) => l.component === HTTP && l.reason === 'permanent_error'),
        JSON.stringify(drops),
      );
    });
  }

  test('RESOURCE_EXHAUSTED without RetryInfo is permanent, as in the Collector’s otlp exporter', async () => {
    backend.script('grpc', { kind: 'error', http: 429, grpc: status.RESOURCE_EXHAUSTED });
    const before = await counts(GRPC);
    const dropped = await postSpans();
    assert.deepEqual(await settled(GRPC, before, 2), { sent: 0, failed: 2, permanent: 2, dropped: 2 });
    assert.equal(backend.requests('grpc').filter(carrying(dropped)).length, 1);
  });

  test('429 with Retry-After (RESOURCE_EXHAUSTED with RetryInfo) is retried after the server’s delay, not the backoff’s', async () => {
    const RETRY_AFTER_S = 2;
    for (const t of TRANSPORTS)
      backend.script(t, {
        kind: 'error',
        http: 429,
        grpc: status.RESOURCE_EXHAUSTED,
        retryAfterS: RETRY_AFTER_S,
      });
    const before = { http: await counts(HTTP), grpc: await counts(GRPC) };
    const ids = await postSpans();
    for (const t of TRANSPORTS) {
      assert.deepEqual(await settled(EXPORTERS[t], before[t], 2), {
        sent: 2,
        failed: 0,
        permanent: 0,
        dropped: 0,
      });
      const [first, second, ...more] = backend.requests(t).filter(carrying(ids));
      assert.ok(first && second, t);
      assert.equal(more.length, 0, `${t}: one retry`);
      // The backoff alone would retry within 150 ms (100 ms ± 50 %).
      assert.ok(second.at - first.at >= RETRY_AFTER_S * 1000 - 50, `${t}: waited ${second.at - first.at} ms`);
      assert.deepEqual([...backend.kept(t).filter((id) => ids.includes(id))].sort(), [...ids].sort());
    }
  });

  test('HTTP 502 / 503 / 504 and UNAVAILABLE are retried with backoff until accepted, nothing lost or repeated', async () => {
    backend.script(
      'http',
      { kind: 'error', http: 502, grpc: status.UNAVAILABLE },
      { kind: 'error', http: 503, grpc: status.UNAVAILABLE },
      { kind: 'error', http: 504, grpc: status.UNAVAILABLE },
    );
    backend.script('grpc', { kind: 'error', http: 503, grpc: status.UNAVAILABLE });
    const before = { http: await counts(HTTP), grpc: await counts(GRPC) };
    const ids = await postSpans();
    for (const t of TRANSPORTS) {
      assert.deepEqual(await settled(EXPORTERS[t], before[t], 2), {
        sent: 2,
        failed: 0,
        permanent: 0,
        dropped: 0,
      });
      assert.equal(backend.requests(t).filter(carrying(ids)).length, t === 'http' ? 4 : 2);
      assert.deepEqual([...backend.kept(t).filter((id) => ids.includes(id))].sort(), [...ids].sort());
    }
  });

  test('partial_success.rejected_spans is counted as dropped (permanent_error) and logged; the rest as sent', async () => {
    for (const t of TRANSPORTS) backend.script(t, { kind: 'partial', rejected: 1, message: 'span too old' });
    const before = { http: await counts(HTTP), grpc: await counts(GRPC) };
    const ids = await postSpans();
    for (const t of TRANSPORTS) {
      assert.deepEqual(await settled(EXPORTERS[t], before[t], 2), {
        sent: 1,
        failed: 1,
        permanent: 1,
        dropped: 1,
      });
      assert.equal(
        backend.requests(t).filter(carrying(ids)).length,
        1,
        `${t}: a partial success is not retried`,
      );
      assert.equal(backend.kept(t).filter((id) => ids.includes(id)).length, 1);
      await proc.waitForLog(
        (l) =>
          l.component === EXPORTERS[t] &&
          l.msg === 'backend accepted part of a batch' &&
          l.rejected === 1 &&
          l.message === 'span too old',
        `${t}: the partial success logged with the backend's message`,
      );
    }
  });

  test('a backend slower than the timeout: the attempt times out and is retried; the backend keeps both copies (at-least-once)', async () => {
    for (const t of TRANSPORTS) backend.script(t, { kind: 'slow', delayMs: TIMEOUT_MS * 2.5 });
    const before = { http: await counts(HTTP), grpc: await counts(GRPC) };
    const ids = await postSpans();
    for (const t of TRANSPORTS) {
      assert.deepEqual(
        await settled(EXPORTERS[t], before[t], 2),
        { sent: 2, failed: 0, permanent: 0, dropped: 0 },
        `${t}: counted once as sent, never as dropped`,
      );
      assert.equal(backend.requests(t).filter(carrying(ids)).length, 2, `${t}: one timeout, one retry`);
      // The slow backend kept the first copy although the exporter gave up waiting for its answer.
      assert.deepEqual(
        [...backend.kept(t).filter((id) => ids.includes(id))].sort(),
        [...ids, ...ids].sort(),
        `${t}: every span twice`,
      );
    }
    assert.ok(
      proc
        .logs()
        .some(
          (l) =>
            l.component === HTTP &&
            l.msg === 'export failed, will retry' &&
            String(l.error).includes(`no answer within ${TIMEOUT_MS} ms`),
        ),
      'the HTTP timeout is logged',
    );
    assert.ok(
      proc
        .logs()
        .some(
          (l) =>
            l.component === GRPC &&
            l.msg === 'export failed, will retry' &&
            /deadline/i.test(String(l.error)),
        ),
      'the gRPC deadline is logged',
    );
  });
});

describe('SIGKILL of the processor while the backend is down', () => {
  let backend: OutageBackend;
  let storage: string;
  const running: RunningProcessor[] = [];
  before(async () => {
    backend = await startOutageBackend({ name: 'otelcol-sigkill' });
    storage = mkdtempSync(join(tmpdir(), 'llmobs-queue-'));
  });
  after(async () => {
    for (const p of running) if (p.process.running) await p.stop();
    await backend?.stop();
    rmSync(storage, { recursive: true, force: true });
  });

  const start = async (withStorage: boolean, shutdownTimeout?: string) => {
    const proc = await startProcessor({
      ...(shutdownTimeout ? { shutdownTimeout } : {}),
      config: processorConfig({
        exporters: {
          [EXPORTER]: {
            endpoint: backend.otlpHttpEndpoint,
            retry_on_failure: FAST_RETRY,
            ...(withStorage ? { sending_queue: { storage: { directory: storage } } } : {}),
          },
        },
      }),
    });
    running.push(proc);
    return proc;
  };
  /** Posts `n` SDK-recorded requests; every one answered 200 (acknowledged); returns their span ids. */
  const acknowledged = async (proc: RunningProcessor, n: number): Promise<string[]> => {
    const ids: string[] = [];
    for (let i = 0; i < n; i++) {
      const spans = await recordLlmSpans(1);
      const res = await fetch(`${proc.otlpHttpEndpoint}/v1/traces`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-protobuf' },
        body: sdkProtobuf(spans),
      });
      assert.equal(res.status, 200, await res.text());
      ids.push(...spans.map((s) => s.spanContext().spanId));
    }
    return ids;
  };
  const kill9 = async (proc: RunningProcessor) => {
    proc.process.kill('SIGKILL');
    await proc.process.exited();
    assert.equal(proc.process.exitStatus?.signal, 'SIGKILL');
  };

  test('with sending_queue.storage every acknowledged span is delivered after a restart, none twice', async () => {
    await backend.pause();
    const first = await start(true);
    const ids = await acknowledged(first, 10);
    await first.waitForMetric('otelcol_exporter_queue_size', { exporter: EXPORTER }, (v) => (v ?? 0) > 0);
    await kill9(first);

    const second = await start(true);
    await second.waitForLog(
      (l) => l.msg === 'sending queue replayed from storage' && l.items === ids.length,
      'the queue replayed from disk',
    );
    await backend.resume();
    const arrived = await backend.waitForSpans((s) => ids.includes(s.span.spanId), ids.length, 30_000);
    await second.waitForMetric('otelcol_exporter_queue_size', { exporter: EXPORTER }, (v) => v === 0);
    const delivered = backend.spans().filter((s) => ids.includes(s.span.spanId));
    assert.deepEqual(
      [...new Set(arrived.map((s) => s.span.spanId))].sort(),
      [...ids].sort(),
      'every acknowledged span',
    );
    // Nothing was sent before the kill, so nothing can be sent twice (at-least-once allows it otherwise).
    assert.equal(delivered.length, ids.length, 'duplicates');
    assert.equal(await second.metric('llmobs_dropped_items_total'), undefined);
    assert.equal(await second.stop(), 0);
    assert.deepEqual(
      readdirSync(join(storage, 'otlp_http_backend', 'traces')).filter((f) => f.endsWith('.seg')),
      [],
      'nothing left on disk once delivered',
    );
  });

  test('with storage a SIGTERM that cannot drain keeps the queue on disk instead of dropping it', async () => {
    await backend.pause();
    const first = await start(true, '1s');
    const ids = await acknowledged(first, 3);
    await first.waitForMetric('otelcol_exporter_queue_size', { exporter: EXPORTER }, (v) => (v ?? 0) > 0);
    assert.equal(await first.stop(), 0);
    const logs = first.logs();
    assert.equal(logs.filter((l) => l.msg === 'dropping data').length, 0, 'nothing dropped');
    assert.ok(
      logs.some((l) => l.msg === 'sending queue kept in storage for the next start' && l.items === 6),
    );

    const second = await start(true);
    await second.waitForLog(
      (l) => l.msg === 'sending queue replayed from storage' && l.items === ids.length,
      'the queue replayed from disk',
    );
    await backend.resume();
    await backend.waitForSpans((s) => ids.includes(s.span.spanId), ids.length, 30_000);
    await second.waitForMetric('otelcol_exporter_queue_size', { exporter: EXPORTER }, (v) => v === 0);
    assert.equal(backend.spans().filter((s) => ids.includes(s.span.spanId)).length, ids.length, 'once each');
    assert.equal(await second.stop(), 0);
  });

  test('without storage what was queued in memory is lost, and only that', async () => {
    await backend.pause();
    const first = await start(false);
    const lost = await acknowledged(first, 3);
    await first.waitForMetric('otelcol_exporter_queue_size', { exporter: EXPORTER }, (v) => (v ?? 0) > 0);
    await kill9(first);

    const second = await start(false);
    await backend.resume();
    // The queue is FIFO: once a span sent after the restart arrives, nothing older is still coming.
    const after = await acknowledged(second, 1);
    await backend.waitForSpans((s) => after.includes(s.span.spanId), after.length, 30_000);
    assert.equal(backend.spans().filter((s) => lost.includes(s.span.spanId)).length, 0);
  });
});
