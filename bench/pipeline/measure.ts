import { setTimeout as sleep } from 'node:timers/promises';
import { cpuSeconds, cpuTimes, memory } from '../proc-stats.ts';
import type { SinkStats } from '../sink.ts';
import type { GenAiSetup, RunningSink, TargetKind } from '../targets.ts';
import { configuredBytes, type Pipeline } from './configs.ts';
import type { PipelineLoadResult, Protocol } from './loadgen.ts';
import type { PipelineLoadGenerator } from './loadgen-client.ts';
import { type PipelineTarget, startPipelineTarget } from './targets.ts';

/** One measured load phase of one target. */
export interface Phase {
  readonly load: PipelineLoadResult;
  /** Target CPU over the load and the drain that follows it. */
  readonly cpuSeconds: number;
  readonly wallSeconds: number;
  readonly delivered: number;
  readonly sampledOut: number;
  /** CPU of everything on the machine but the target, load generator, sink and harness, in cores. */
  readonly otherCores: number;
  /** The sink + load generator's CPU, share of a core. */
  readonly benchCores: number;
}

export interface TargetRun {
  readonly kind: TargetKind;
  readonly pipeline: Pipeline;
  readonly round: number;
  readonly protocol: Protocol;
  readonly saturation: Phase;
  /** Open loop at half of this target's own saturated throughput; undefined in the doubling series. */
  readonly latency: Phase | undefined;
  readonly latencyRate: number;
  /**
   * Latencies of the same open loop sent straight to the sink (which answers at once), right after
   * the latency phase: the load generator's and the loopback's share, subtracted to give "added".
   * Empty over gRPC (the sink speaks HTTP only) and in the doubling series.
   */
  readonly baselineMs: readonly number[];
  readonly idleRssBytes: number;
  readonly peakRssBytes: number;
  readonly configuredBytes: number;
  readonly accepted: number;
  readonly delivered: number;
  readonly sampledOut: number;
  /** From the sink's decoded sample of exports (one request in 50). */
  readonly sample: {
    readonly spans: number;
    readonly planted: number;
    readonly llm: number;
    readonly priced: number;
  };
  readonly spansPerRequest: number;
  readonly problems: readonly string[];
}

export interface MeasureContext {
  readonly dir: string;
  readonly sink: RunningSink;
  readonly load: PipelineLoadGenerator;
  readonly cpus: string | undefined;
  readonly genai: GenAiSetup;
  readonly protocol: Protocol;
  readonly concurrency: number;
  readonly warmupMs: number;
  readonly saturateMs: number;
  /** 0: no latency phase (the doubling series). */
  readonly latencyMs: number;
  /** Stop of every process the run has going, for SIGINT; the measure registers the target's. */
  readonly track: (stop: () => Promise<void>) => () => Promise<void>;
}

const DRAIN_TIMEOUT_MS = 60_000;
const BASELINE_MS = 3_000;
const SAMPLE_KEYS = ['sampledSpans', 'sampledPlanted', 'sampledLlmSpans', 'sampledPricedSpans'] as const;

/**
 * Waits until every span accepted so far is at the sink or counted as sampled out by the target.
 * Sampling pipelines decide a trace about a second after it arrived, so this also waits for that.
 */
async function drain(
  sink: RunningSink,
  target: PipelineTarget,
  base: { spans: number; sampledOut: number },
  accepted: number,
): Promise<{ stats: SinkStats; sampledOut: number; complete: boolean }> {
  const deadline = Date.now() + DRAIN_TIMEOUT_MS;
  for (;;) {
    const [stats, settle] = await Promise.all([sink.stats(), target.settle()]);
    const done = stats.spans - base.spans + (settle.sampledOut - base.sampledOut);
    if ((settle.settled && done >= accepted) || Date.now() > deadline)
      return { stats, sampledOut: settle.sampledOut, complete: settle.settled && done === accepted };
    await sleep(25);
  }
}

async function phase(
  ctx: MeasureContext,
  target: PipelineTarget,
  totals: { accepted: number },
  base: { spans: number; sampledOut: number },
  run: () => Promise<PipelineLoadResult>,
): Promise<Phase> {
  const { sink, load } = ctx;
  const before = await drain(sink, target, base, totals.accepted);
  const pids = [target.pid, sink.pid, load.pid, process.pid];
  const cpu0 = pids.map(cpuSeconds);
  const m0 = cpuTimes();
  const t0 = performance.now();
  const r = await run();
  totals.accepted += r.okSpans;
  const after = await drain(sink, target, base, totals.accepted);
  const cpu1 = pids.map(cpuSeconds);
  const m1 = cpuTimes();
  const wall = (performance.now() - t0) / 1000;
  const d = cpu1.map((c, i) => c - (cpu0[i] ?? 0));
  const busy = m1.reduce((n, m, i) => n + m.busy - (m0[i]?.busy ?? 0), 0);
  return {
    load: r,
    cpuSeconds: d[0] ?? 0,
    wallSeconds: wall,
    delivered: after.stats.spans - before.stats.spans,
    sampledOut: after.sampledOut - before.sampledOut,
    otherCores: Math.max(0, busy - d.reduce((n, x) => n + x, 0)) / wall,
    benchCores: ((d[1] ?? 0) + (d[2] ?? 0)) / wall,
  };
}

/** Spans per second the target accepted while the load ran. */
export const throughput = (p: Phase): number => p.load.okSpans / (p.load.elapsedMs / 1000);
/** Spans per CPU-second of the target, drain included. */
export const perCore = (p: Phase): number => p.load.okSpans / p.cpuSeconds;

function statusProblems(label: string, r: PipelineLoadResult, refusalsAllowed: boolean): string[] {
  const out: string[] = [];
  if (r.errors > 0) out.push(`${label}: ${r.errors} requests got no response (${r.firstError})`);
  const refused = r.requests - r.okRequests - r.errors;
  if (refused > 0 && !refusalsAllowed)
    out.push(`${label}: ${refused} requests refused (${JSON.stringify(r.statuses)})`);
  if (r.okRequests === 0) out.push(`${label}: no request was accepted`);
  return out;
}

/**
 * One target, started afresh on `pipeline`: warm-up, saturation (closed loop), latency at half its
 * own saturated throughput (open loop), stop; then the checks: every span accepted is at the sink or
 * counted as sampled out, no planted PII in the sampled exports of a redacting pipeline, chat spans
 * priced exactly when the pipeline prices.
 */
export async function measureTarget(
  ctx: MeasureContext,
  kind: TargetKind,
  pipeline: Pipeline,
  round: number,
  name: string,
  cpuProfileDir?: string,
): Promise<TargetRun> {
  const { sink, load } = ctx;
  const problems: string[] = [];
  const start = await sink.stats();
  const target = await startPipelineTarget({
    kind,
    pipeline,
    dir: ctx.dir,
    name,
    sinkUrl: sink.url,
    genai: ctx.genai,
    cpus: ctx.cpus,
    ...(cpuProfileDir ? { cpuProfileDir } : {}),
  });
  const stop = ctx.track(() => target.stop());
  const url = ctx.protocol === 'grpc' ? target.grpcTarget : target.tracesUrl;
  const base = { spans: start.spans, sampledOut: 0 };
  const totals = { accepted: 0 };
  const idleRssBytes = memory(target.pid).rssBytes;
  const spansPerRequest = load.ready.spansPerBody.reduce((a, n) => a + n, 0) / load.ready.spansPerBody.length;
  let saturation: Phase | undefined;
  let latency: Phase | undefined;
  let latencyRate = 0;
  let baselineMs: readonly number[] = [];
  const bypass = { sampledSpans: 0, sampledPlanted: 0, sampledLlmSpans: 0, sampledPricedSpans: 0 };
  let peakRssBytes = 0;
  let sampledOut = 0;
  try {
    const closed = {
      protocol: ctx.protocol,
      target: url,
      mode: 'closed',
      concurrency: ctx.concurrency,
    } as const;
    const warm = await load.run({ ...closed, durationMs: ctx.warmupMs });
    totals.accepted += warm.okSpans;
    problems.push(...statusProblems('warm-up', warm, true));
    saturation = await phase(ctx, target, totals, base, () =>
      load.run({ ...closed, durationMs: ctx.saturateMs }),
    );
    problems.push(...statusProblems('saturation', saturation.load, true));
    if (ctx.latencyMs > 0 && saturation.load.okSpans > 0) {
      // Spans per CPU-second, not spans per second of load: a sampling pipeline decides and exports
      // after the load stops, so what one core sustains is the lower of the two.
      latencyRate = Math.min(throughput(saturation), perCore(saturation)) / 2;
      const ratePerSecond = latencyRate / spansPerRequest;
      latency = await phase(ctx, target, totals, base, () =>
        load.run({
          protocol: ctx.protocol,
          target: url,
          mode: 'open',
          ratePerSecond,
          durationMs: ctx.latencyMs,
        }),
      );
      problems.push(...statusProblems('latency', latency.load, false));
      if (ctx.protocol === 'http') {
        const s0 = await sink.stats();
        const direct = await load.run({
          protocol: 'http',
          target: `${sink.url}/v1/traces`,
          mode: 'open',
          ratePerSecond,
          durationMs: Math.min(ctx.latencyMs, BASELINE_MS),
        });
        baselineMs = direct.latenciesMs;
        base.spans += direct.okSpans;
        // The raw payload went straight to the sink: its planted PII is not the target's to redact.
        const s1 = await sink.stats();
        for (const k of SAMPLE_KEYS) bypass[k] += s1[k] - s0[k];
      }
    }
    const settled = await drain(sink, target, base, totals.accepted);
    sampledOut = settled.sampledOut;
    if (!settled.complete)
      problems.push('the target did not settle: spans still held or unaccounted after 60 s');
    peakRssBytes = memory(target.pid).peakRssBytes;
  } finally {
    await stop();
  }
  const end = await sink.stats();
  // The baseline's spans went straight to the sink, not through the target.
  const delivered = end.spans - base.spans;
  if (delivered + sampledOut !== totals.accepted)
    problems.push(
      `spans accepted ${totals.accepted} ≠ delivered ${delivered} + sampled out ${sampledOut} (lost or duplicated ${totals.accepted - delivered - sampledOut})`,
    );
  if (pipeline === 'full' && sampledOut === 0) problems.push('the sampling pipeline sampled nothing out');
  if (end.malformed > start.malformed)
    problems.push(`${end.malformed - start.malformed} malformed exports at the sink`);
  const delta = (k: (typeof SAMPLE_KEYS)[number]) => end[k] - start[k] - bypass[k];
  const sample = {
    spans: delta('sampledSpans'),
    planted: delta('sampledPlanted'),
    llm: delta('sampledLlmSpans'),
    priced: delta('sampledPricedSpans'),
  };
  if (pipeline !== 'passthrough' && sample.planted > 0)
    problems.push(`${sample.planted} planted PII values left in the sampled exports`);
  const prices = pipeline === 'redaction_cost_metrics' || pipeline === 'full';
  if (prices && sample.spans > 0 && sample.priced === 0)
    problems.push('no priced span in the sampled exports');
  if (!prices && sample.priced > 0)
    problems.push(`${sample.priced} exported spans carry a cost, none should`);
  if (!saturation) throw new Error('unreachable: no saturation phase');
  return {
    kind,
    pipeline,
    round,
    protocol: ctx.protocol,
    saturation,
    latency,
    latencyRate,
    baselineMs,
    idleRssBytes,
    peakRssBytes,
    configuredBytes: configuredBytes(kind, pipeline),
    accepted: totals.accepted,
    delivered,
    sampledOut,
    sample,
    spansPerRequest,
    problems,
  };
}
