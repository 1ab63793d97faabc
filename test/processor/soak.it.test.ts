import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { buildPayload } from '../../bench/payload.ts';
import { memory } from '../../bench/proc-stats.ts';
import { processorConfig, type RunningProcessor, startProcessor } from '../harness/llmobs-processor.ts';
import { parseExposition, sumSamples } from '../harness/prometheus.ts';
import { type FaultBackend, startFaultBackend } from './backend.ts';

/**
 * The soak: the processor at ~70 % of its saturation for LLMOBS_SOAK_SECONDS (120 s in CI,
 * 1800 s for the full run) while the backend goes down for OUTAGE_S every OUTAGE_EVERY_S. It asserts
 * bounded memory and that every span is accounted for: what the receiver accepted was sent or counted
 * as dropped, and the backend holds exactly what was sent. Results go to LLMOBS_SOAK_RESULT when set.
 */
const SOAK_S = Number(process.env.LLMOBS_SOAK_SECONDS ?? 120);
const OUTAGE_EVERY_S = Number(process.env.LLMOBS_SOAK_OUTAGE_EVERY_SECONDS ?? 40);
const OUTAGE_S = Number(process.env.LLMOBS_SOAK_OUTAGE_SECONDS ?? 10);
/** Offered load as a share of the saturation measured first (or LLMOBS_SOAK_RATE spans/s when set). */
const LOAD_SHARE = 0.7;
const SATURATION_S = 5;
const WARMUP_S = 5;
const SPANS_PER_REQUEST = 100;
const QUEUE_BYTES = 64 * 1024 * 1024;
/**
 * Memory the queue may legitimately add over the warmed-up process: the queued bodies themselves and
 * the batches being sent (each consumer concatenates up to batch.max_size, 4 × 4 MiB) — together about
 * twice the queue — plus what V8 keeps beyond its live heap under the allocation rate of this load:
 * requests decoded while the queue is full and refused, up to MAX_IN_FLIGHT received at once (a
 * 120 s run saw the heap's total reach 160 MiB with 65 MiB used). No heap limit is set on the process.
 */
const RSS_HEADROOM_BYTES = 2 * QUEUE_BYTES + 192 * 1024 * 1024;
/**
 * A leak shows as the outage cycles' RSS peaks climbing: the later half's peak may exceed the earlier
 * half's (the first cycle, where the heap finds its size, left out) by noise only. Checked from
 * MIN_CYCLES_FOR_TREND cycles on; a shorter run checks the bound alone.
 */
const LATE_GROWTH_BYTES = 32 * 1024 * 1024;
const MIN_CYCLES_FOR_TREND = 6;
const MAX_IN_FLIGHT = 64;
const EXPORTER = 'otlp_http/soak';
const MiB = 1024 * 1024;

interface LoadStats {
  requests: number;
  okSpans: number;
  refusedSpans: number;
  errors: number;
  /** Sends skipped because MAX_IN_FLIGHT were still waiting (the open loop sheds rather than queue). */
  shed: number;
}

describe('soak: steady load with periodic backend outages', () => {
  let backend: FaultBackend;
  let proc: RunningProcessor;
  const agent = new Agent({ keepAlive: true, maxSockets: MAX_IN_FLIGHT });
  before(async () => {
    backend = await startFaultBackend({ countOnly: true });
    proc = await startProcessor({
      config: processorConfig({
        logLevel: 'warn',
        exporters: {
          [EXPORTER]: {
            endpoint: backend.otlpHttpEndpoint,
            compression: 'none',
            sending_queue: { queue_size: QUEUE_BYTES },
            // Outages are 10 s: a second between attempts catches the return, and a minute of budget
            // means only a much longer outage could drop anything.
            retry_on_failure: { initial_interval: '200ms', max_interval: '1s', max_elapsed_time: '60s' },
          },
        },
      }),
    });
  });
  after(async () => {
    agent.destroy();
    await proc?.stop();
    await backend?.stop();
  });

  test(`${SOAK_S} s at ~${LOAD_SHARE * 100} % of saturation, backend down ${OUTAGE_S} s every ${OUTAGE_EVERY_S} s: bounded RSS, every span accounted for`, {
    timeout: (SOAK_S + 600) * 1000,
  }, async (t) => {
    const pid = proc.process.pid;
    assert.ok(pid !== undefined);
    const bodies = (await buildPayload({ requests: 8, spansPerRequest: SPANS_PER_REQUEST })).map((b) =>
      Buffer.from(b),
    );
    const url = new URL(`${proc.otlpHttpEndpoint}/v1/traces`);
    const stats: LoadStats = { requests: 0, okSpans: 0, refusedSpans: 0, errors: 0, shed: 0 };
    let inFlight = 0;
    const post = (body: Buffer): Promise<void> => {
      inFlight++;
      stats.requests++;
      return new Promise((resolve) => {
        const done = (status: number) => {
          inFlight--;
          if (status === 200) stats.okSpans += SPANS_PER_REQUEST;
          else if (status === 503 || status === 429) stats.refusedSpans += SPANS_PER_REQUEST;
          else stats.errors++;
          resolve();
        };
        const req = request(
          url,
          {
            method: 'POST',
            agent,
            headers: { 'content-type': 'application/x-protobuf', 'content-length': body.length },
          },
          (res) => {
            res.resume();
            res.on('end', () => done(res.statusCode ?? 0));
            res.on('error', () => done(0));
          },
        );
        req.on('error', () => done(0));
        req.end(body);
      });
    };

    // 1. Saturation: closed loop, 8 requests in flight, backend up.
    const satStart = performance.now();
    const okBefore = stats.okSpans;
    await Promise.all(
      Array.from({ length: 8 }, async (_, w) => {
        for (let i = w; performance.now() - satStart < SATURATION_S * 1000; i++)
          await post(bodies[i % bodies.length] as Buffer);
      }),
    );
    const saturation = (stats.okSpans - okBefore) / ((performance.now() - satStart) / 1000);
    const rate = Number(process.env.LLMOBS_SOAK_RATE ?? Math.round(saturation * LOAD_SHARE));
    t.diagnostic(`saturation ${Math.round(saturation)} spans/s; soak rate ${rate} spans/s`);
    assert.ok(rate >= SPANS_PER_REQUEST, `a rate of ${rate} spans/s is too low to soak anything`);

    // 2. Open loop at `rate`, shedding rather than piling up when the processor pushes back.
    const requestsPerS = rate / SPANS_PER_REQUEST;
    let loadStart = performance.now();
    let issued = 0;
    const pending = new Set<Promise<void>>();
    const loop = setInterval(() => {
      const due = Math.floor(((performance.now() - loadStart) / 1000) * requestsPerS) - issued;
      for (let i = 0; i < due; i++, issued++) {
        if (inFlight >= MAX_IN_FLIGHT) {
          stats.shed++;
          continue;
        }
        const p = post(bodies[issued % bodies.length] as Buffer);
        pending.add(p);
        void p.then(() => pending.delete(p));
      }
    }, 5);

    // 3. The soak: RSS every second from /proc, and the outages. The queue gauge is read every 5 s; on a
    // crowded machine /metrics can miss its 5 s timeout, which is counted, not fatal.
    const samples: { t: number; rss: number; down: boolean }[] = [];
    let outages = 0;
    let down = false;
    let maxQueue = 0;
    let missedScrapes = 0;
    /** V8's view every 5 s, to tell heap growth from external buffers (the queue) in the RSS. */
    const heap: { t: number; heapTotal: number; heapUsed: number; external: number }[] = [];
    let baseline = 0;
    let soakStart = 0;
    const statsAtStart = { ...stats };
    try {
      await sleep(WARMUP_S * 1000);
      baseline = memory(pid).rssBytes;
      loadStart = performance.now();
      issued = 0;
      soakStart = performance.now();
      Object.assign(statsAtStart, stats);
      for (let s = 0; s < SOAK_S; s++) {
        const wantDown = s % OUTAGE_EVERY_S >= OUTAGE_EVERY_S - OUTAGE_S;
        if (wantDown && !down) {
          await backend.pause();
          outages++;
        } else if (!wantDown && down) await backend.resume();
        down = wantDown;
        samples.push({ t: s, rss: memory(pid).rssBytes, down });
        if (s % 5 === 0) {
          try {
            const scrape = parseExposition(await proc.metricsText());
            const at = (name: string, labels: Record<string, string> = {}) =>
              sumSamples(scrape, name, labels) ?? 0;
            maxQueue = Math.max(maxQueue, at('otelcol_exporter_queue_size', { exporter: EXPORTER }));
            heap.push({
              t: s,
              heapTotal: at('otelcol_process_nodejs_heap_size_total_bytes'),
              heapUsed: at('otelcol_process_nodejs_heap_size_used_bytes'),
              external: at('otelcol_process_nodejs_external_memory_bytes'),
            });
          } catch {
            missedScrapes++;
          }
        }
        await sleep(Math.max(soakStart + (s + 1) * 1000 - performance.now(), 0));
      }
    } finally {
      clearInterval(loop);
      await Promise.all(pending);
      await backend.resume();
    }
    const bound = baseline + RSS_HEADROOM_BYTES;
    const soakSeconds = (performance.now() - soakStart) / 1000;

    // 4. Drain: the queue empties once the backend stays up.
    let accepted = 0;
    let sent = 0;
    let dropped = 0;
    await proc.process
      .waitUntil(
        async () => {
          accepted = (await proc.metric('otelcol_receiver_accepted_spans_total')) ?? 0;
          sent = (await proc.metric('otelcol_exporter_sent_spans_total', { exporter: EXPORTER })) ?? 0;
          dropped = (await proc.metric('llmobs_dropped_items_total')) ?? 0;
          const queued = await proc.metric('otelcol_exporter_queue_size', { exporter: EXPORTER });
          return queued === 0 && accepted === sent + dropped;
        },
        'the sending queue to drain after the soak',
        120_000,
      )
      .catch(() => undefined);
    const refused = (await proc.metric('otelcol_receiver_refused_spans_total')) ?? 0;
    const failed = (await proc.metric('otelcol_exporter_send_failed_spans_total')) ?? 0;
    const atBackend = backend.keptCount();
    const rss = samples.map((x) => x.rss);
    const cyclePeaks: number[] = [];
    for (const x of samples) {
      const c = Math.floor(x.t / OUTAGE_EVERY_S);
      cyclePeaks[c] = Math.max(cyclePeaks[c] ?? 0, x.rss);
    }
    const cycles = cyclePeaks.length;
    const half = Math.max(Math.floor(cycles / 2), 2);
    const earlyPeak = Math.max(...cyclePeaks.slice(1, half));
    const latePeak = Math.max(...cyclePeaks.slice(half));
    const soakOk = stats.okSpans - statsAtStart.okSpans;
    const result = {
      date: new Date().toISOString(),
      soakSeconds: Math.round(soakSeconds),
      outages,
      outageSeconds: OUTAGE_S,
      outageEverySeconds: OUTAGE_EVERY_S,
      saturationSpansPerS: Math.round(saturation),
      offeredSpansPerS: rate,
      acceptedSpansPerSDuringSoak: Math.round(soakOk / soakSeconds),
      loadgen: stats,
      processor: { accepted, sent, dropped, refused, sendFailed: failed },
      backendSpans: atBackend,
      maxQueueBytes: maxQueue,
      missedScrapes,
      rssMiB: {
        baseline: +(baseline / MiB).toFixed(1),
        min: +(Math.min(...rss) / MiB).toFixed(1),
        max: +(Math.max(...rss) / MiB).toFixed(1),
        earlyPeak: +(earlyPeak / MiB).toFixed(1),
        latePeak: +(latePeak / MiB).toFixed(1),
        bound: +(bound / MiB).toFixed(1),
        cyclePeaks: cyclePeaks.map((b) => +(b / MiB).toFixed(1)),
        heapTotalMax: +(Math.max(0, ...heap.map((h) => h.heapTotal)) / MiB).toFixed(1),
        heapUsedMax: +(Math.max(0, ...heap.map((h) => h.heapUsed)) / MiB).toFixed(1),
        externalMax: +(Math.max(0, ...heap.map((h) => h.external)) / MiB).toFixed(1),
      },
    };
    t.diagnostic(JSON.stringify(result));
    if (process.env.LLMOBS_SOAK_RESULT)
      writeFileSync(process.env.LLMOBS_SOAK_RESULT, `${JSON.stringify(result, null, 2)}\n`);

    assert.ok(outages >= 1, 'at least one outage happened');
    assert.equal(accepted, stats.okSpans, 'the receiver accepted exactly what senders were answered 200 for');
    assert.equal(accepted, sent + dropped, 'received = exported + counted drops');
    assert.equal(atBackend, sent, 'the backend holds every span exported, once');
    assert.ok(
      Math.max(...rss) <= bound,
      `RSS peaked at ${result.rssMiB.max} MiB, bound ${result.rssMiB.bound} MiB`,
    );
    assert.ok(
      cycles < MIN_CYCLES_FOR_TREND || latePeak <= earlyPeak + LATE_GROWTH_BYTES,
      `RSS peaks grew from ${result.rssMiB.earlyPeak} to ${result.rssMiB.latePeak} MiB`,
    );
  });
});
