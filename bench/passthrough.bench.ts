// `make bench`: the llmobs processor side by side with the reference OpenTelemetry Collector, same
// machine, same payload, same pass-through pipeline (OTLP/HTTP in → otlp_http exporter → counting sink),
// alternating targets for a few rounds; then the llmobs processor's cost + metrics pipeline against its
// own pass-through and the Collector at the same load, and its memory under a cardinality storm; then
// the results section of docs/benchmarks.md is rewritten.
//   node bench/passthrough.bench.ts [--rounds 3] [--equal 10] [--no-write] ...   (--help for all)
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { decodeRequest } from '../processors/src/otlp/codec.ts';
import { repoRoot, versions } from '../test/harness/cache.ts';
import { parseExposition } from '../test/harness/prometheus.ts';
import type { Calibration } from './calibrate.ts';
import { positiveUpTo, usageError } from './cli-options.ts';
import { type ProfileSummary, summarizeProfile } from './cpuprofile-summary.ts';
import type { LoadResult } from './loadgen.ts';
import { LoadGenerator } from './loadgen-client.ts';
import { buildPayload, PLANTED_VALUES, USER_ID_PLACEHOLDER, writePayloadFile } from './payload.ts';
import { cpuSeconds, cpusAllowed, cpuTimes, machine, memory, resetPeakRss } from './proc-stats.ts';
import type { RedactionLatency } from './redaction-latency.ts';
import {
  type BenchRun,
  cpuUsPerSpan,
  type PhaseResult,
  REDACTION_BEGIN,
  REDACTION_END,
  type RedactionRound,
  type RedactionRun,
  type RoundResult,
  type RunHeader,
  renderRedaction,
  renderResults,
  type SampleCounts,
  type StormResult,
  type StormSample,
  throughput,
  type Variant,
  writeBlock,
  writeResults,
} from './report.ts';
import { RunScope } from './run-scope.ts';
import {
  COLLECTOR_REDACTION,
  collectorVersion,
  FLUSH_INTERVAL_MS,
  type GenAiSetup,
  OURS_REDACTION,
  PIPELINE_LABEL,
  type PipelineKind,
  pinSelf,
  probeGenAi,
  type RunningSink,
  startSink,
  startTarget,
  TARGET_LABEL,
  type TargetKind,
} from './targets.ts';

const USAGE = `usage: node bench/passthrough.bench.ts [options]
  --rounds N             rounds; each runs both targets, ours first (default 3)
  --warmup SECONDS       closed-loop warm-up per target, not measured (default 4)
  --equal SECONDS        phase 1, both targets at the same offered load --equal-rate (default 10)
  --equal-rate SPANS_S   offered load of phase 1: CPU per span at equal load (default 10000)
  --saturate SECONDS     phase 2, closed loop with --concurrency in flight: throughput on one core (default 5)
  --concurrency N        requests in flight in the closed-loop phases (default 4)
  --latency SECONDS      phase 3, offered load --rate: latency well below saturation (default 8)
  --rate SPANS_S         offered load of phase 3 (default 2000)
  --spans N              spans per request (default 100)
  --bodies N             distinct pre-encoded requests cycled through (default 8)
  --gzip-rounds N        rounds of the variant with gzip-compressing exporters, equal load only;
                         0 skips it (default 3)
  --gzip-warmup SECONDS  its warm-up (default 2)
  --gzip-equal SECONDS   its equal-load phase (default 5)
  --cost-rounds N        rounds of the cost + metrics comparison at --equal-rate, each running the
                         llmobs processor pass-through, re-encoding, with llm_cost + llm_metrics, then
                         the Collector pass-through; 0 skips it (default 3)
  --cost-warmup SECONDS  its warm-up (default 2)
  --cost-equal SECONDS   its equal-load phase (default 8)
  --storm-ids N          cardinality storm: spans with distinct user.id values sent through
                         llm_metrics (dimension user.id, 2000 series per metric); 0 skips it
                         (default 1000000)
  --storm-rate SPANS_S   offered load of the storm, open loop (default 10000)
  --redaction-rounds N   rounds of the redaction comparison (issue #5): each runs the llmobs processor's
                         llm_redaction and the Collector's redaction processor with equivalent rules,
                         closed loop on one core, on LLM spans with 2–8 KB of content; then the
                         in-process latency of large prompts; 0 skips it (default 3)
  --redaction-warmup SECONDS    its closed-loop warm-up (default 3)
  --redaction-saturate SECONDS  its measured closed-loop phase (default 8)
  --redaction-spans N    spans per request of its payload (default 20)
  --redaction-iterations N      timed iterations per input of the in-process latency (default 200)
  --only redaction       run the redaction comparison only and rewrite only its block of the document
  --no-profile           skip the extra profiled runs of the llmobs processor
  --out FILE             the document whose results section is rewritten (default docs/benchmarks.md)
  --no-write             print the results instead of writing them`;

const { values: a } = parseArgs({
  options: {
    rounds: { type: 'string', default: '3' },
    warmup: { type: 'string', default: '4' },
    equal: { type: 'string', default: '10' },
    'equal-rate': { type: 'string', default: '10000' },
    saturate: { type: 'string', default: '5' },
    concurrency: { type: 'string', default: '4' },
    latency: { type: 'string', default: '8' },
    rate: { type: 'string', default: '2000' },
    spans: { type: 'string', default: '100' },
    bodies: { type: 'string', default: '8' },
    'gzip-rounds': { type: 'string', default: '3' },
    'gzip-warmup': { type: 'string', default: '2' },
    'gzip-equal': { type: 'string', default: '5' },
    'cost-rounds': { type: 'string', default: '3' },
    'cost-warmup': { type: 'string', default: '2' },
    'cost-equal': { type: 'string', default: '8' },
    'storm-ids': { type: 'string', default: '1000000' },
    'storm-rate': { type: 'string', default: '10000' },
    'redaction-rounds': { type: 'string', default: '3' },
    'redaction-warmup': { type: 'string', default: '3' },
    'redaction-saturate': { type: 'string', default: '8' },
    'redaction-spans': { type: 'string', default: '20' },
    'redaction-iterations': { type: 'string', default: '200' },
    only: { type: 'string' },
    'no-profile': { type: 'boolean', default: false },
    out: { type: 'string', default: join(repoRoot, 'docs', 'benchmarks.md') },
    'no-write': { type: 'boolean', default: false },
    help: { type: 'boolean', short: 'h', default: false },
  },
});
if (a.help) {
  process.stdout.write(`${USAGE}\n`);
  process.exit(0);
}

const positive = (name: string, v: string | undefined, max: number) => positiveUpTo(USAGE, name, v, max);
const opts = {
  rounds: Math.round(positive('rounds', a.rounds, 10)),
  warmupMs: positive('warmup', a.warmup, 60) * 1000,
  equalMs: positive('equal', a.equal, 120) * 1000,
  equalRate: positive('equal-rate', a['equal-rate'], 1_000_000),
  saturateMs: positive('saturate', a.saturate, 120) * 1000,
  concurrency: Math.round(positive('concurrency', a.concurrency, 256)),
  latencyMs: positive('latency', a.latency, 120) * 1000,
  rate: positive('rate', a.rate, 1_000_000),
  spansPerRequest: Math.round(positive('spans', a.spans, 10_000)),
  bodies: Math.round(positive('bodies', a.bodies, 64)),
  gzipRounds:
    a['gzip-rounds'] === '0' || a.only !== undefined
      ? 0
      : Math.round(positive('gzip-rounds', a['gzip-rounds'], 10)),
  gzipWarmupMs: positive('gzip-warmup', a['gzip-warmup'], 60) * 1000,
  gzipEqualMs: positive('gzip-equal', a['gzip-equal'], 120) * 1000,
  costRounds:
    a['cost-rounds'] === '0' || a.only !== undefined
      ? 0
      : Math.round(positive('cost-rounds', a['cost-rounds'], 10)),
  costWarmupMs: positive('cost-warmup', a['cost-warmup'], 60) * 1000,
  costEqualMs: positive('cost-equal', a['cost-equal'], 120) * 1000,
  stormIds:
    a['storm-ids'] === '0' || a.only !== undefined
      ? 0
      : Math.round(positive('storm-ids', a['storm-ids'], 100_000_000)),
  stormRate: positive('storm-rate', a['storm-rate'], 1_000_000),
  profile: !a['no-profile'] && a.only === undefined,
  redactionRounds:
    a['redaction-rounds'] === '0' ? 0 : Math.round(positive('redaction-rounds', a['redaction-rounds'], 10)),
  redactionWarmupMs: positive('redaction-warmup', a['redaction-warmup'], 60) * 1000,
  redactionSaturateMs: positive('redaction-saturate', a['redaction-saturate'], 120) * 1000,
  redactionSpans: Math.round(positive('redaction-spans', a['redaction-spans'], 10_000)),
  redactionIterations: Math.round(positive('redaction-iterations', a['redaction-iterations'], 100_000)),
  onlyRedaction: a.only === 'redaction',
};
if (a.only !== undefined && a.only !== 'redaction')
  usageError(USAGE, `--only takes \`redaction\`, got ${a.only}`);
if (opts.onlyRedaction && opts.redactionRounds === 0) {
  process.stderr.write(`--only redaction with --redaction-rounds 0 has nothing to run\n`);
  process.exit(2);
}
const DRAIN_TIMEOUT_MS = 30_000;

const log = (msg: string) => process.stderr.write(`bench: ${msg}\n`);

const scope = new RunScope(log);
const track = scope.track;
scope.stopOnSignals();

/** Waits until the sink has seen at least `spans` spans; returns its last stats. */
async function drain(sink: RunningSink, spans: number) {
  const deadline = Date.now() + DRAIN_TIMEOUT_MS;
  for (;;) {
    const s = await sink.stats();
    if (s.spans >= spans || Date.now() > deadline) return s;
    await sleep(20);
  }
}

function describeStatuses(r: LoadResult): string {
  const parts = Object.entries(r.statuses).map(([k, v]) => `${v}×HTTP ${k}`);
  if (r.errors > 0) parts.push(`${r.errors} without response (${r.firstError})`);
  return parts.join(', ');
}

interface Ctx {
  readonly dir: string;
  readonly sink: RunningSink;
  readonly load: LoadGenerator;
  readonly targetCpus: string | undefined;
  /** Set when a phase needs the GenAI pipelines (cost + metrics, storm). */
  readonly genai: GenAiSetup | undefined;
}

/**
 * One load phase against a running target: CPU of every process and CPU before, the load, a wait
 * until the sink has every span the target accepted, CPU after. The target's CPU therefore covers
 * receiving and exporting exactly the spans of this phase.
 */
async function phase(
  ctx: Ctx,
  pid: number,
  accepted: { spans: number },
  base: number,
  run: () => Promise<LoadResult>,
): Promise<PhaseResult> {
  const { sink, load } = ctx;
  const before = await sink.stats();
  const peakReset = resetPeakRss(pid);
  const cpu0 = [cpuSeconds(pid), cpuSeconds(sink.pid), cpuSeconds(load.pid), cpuSeconds(process.pid)];
  const machine0 = cpuTimes();
  const t0 = performance.now();
  const r = await run();
  accepted.spans += r.okSpans;
  const after = await drain(sink, base + accepted.spans);
  const cpu1 = [cpuSeconds(pid), cpuSeconds(sink.pid), cpuSeconds(load.pid), cpuSeconds(process.pid)];
  const machine1 = cpuTimes();
  const wall = (performance.now() - t0) / 1000;
  const mem = memory(pid);
  const d = cpu1.map((c, i) => c - (cpu0[i] ?? 0)) as [number, number, number, number];
  const busy = machine1.map((m, i) => m.busy - (machine0[i]?.busy ?? 0));
  return {
    load: r,
    spansDelivered: after.spans - before.spans,
    bytesDelivered: after.bytes - before.bytes,
    exportRequests: after.requests - before.requests,
    cpuSeconds: d[0],
    wallSeconds: wall,
    sinkCpuUtilisation: d[1] / wall,
    loadCpuUtilisation: d[2] / wall,
    cpuBusy: busy.map((b) => b / wall),
    otherCpuUtilisation: Math.max(busy.reduce((n, b) => n + b, 0) - (d[0] + d[1] + d[2] + d[3]), 0) / wall,
    peakRssBytes: peakReset ? mem.peakRssBytes : Number.NaN,
    rssBytes: mem.rssBytes,
  };
}

/**
 * What a target run does: the full set of phases (main), or the equal-load phase only (the gzip
 * variant; the cost + metrics comparison).
 */
interface Scenario {
  readonly variant: Variant;
  readonly compression: 'none' | 'gzip';
  readonly pipeline: PipelineKind;
  readonly warmupMs: number;
  readonly equalMs: number;
  readonly full: boolean;
}

const sampleDelta = (
  a: Awaited<ReturnType<RunningSink['stats']>>,
  b: Awaited<ReturnType<RunningSink['stats']>>,
): SampleCounts => ({
  requests: b.sampledRequests - a.sampledRequests,
  spans: b.sampledSpans - a.sampledSpans,
  llmSpans: b.sampledLlmSpans - a.sampledLlmSpans,
  pricedSpans: b.sampledPricedSpans - a.sampledPricedSpans,
});

/** The exported spans must carry a cost exactly when the pipeline prices them. */
function costProblems(pipeline: PipelineKind, s: SampleCounts): string[] {
  const prices = pipeline === 'cost_metrics' || pipeline === 'storm';
  if (!prices) return s.pricedSpans > 0 ? [`${s.pricedSpans} exported spans carry a cost, none should`] : [];
  if (s.llmSpans === 0) return ['no LLM span in the decoded sample of exports; the cost check saw nothing'];
  if (s.pricedSpans !== s.llmSpans)
    return [
      `only ${s.pricedSpans} of ${s.llmSpans} LLM spans in the decoded sample of exports carry gen_ai.usage.cost.amount`,
    ];
  return [];
}

async function measure(kind: TargetKind, round: number, ctx: Ctx, sc: Scenario): Promise<RoundResult> {
  const { sink, load } = ctx;
  const problems: string[] = [];
  const base = await sink.stats();
  const target = await startTarget({
    kind,
    dir: ctx.dir,
    name: `${kind}-${sc.variant}-${sc.pipeline}-r${round}`,
    sinkUrl: ctx.sink.url,
    compression: sc.compression,
    placement: { targetCpus: ctx.targetCpus },
    pipeline: sc.pipeline,
    ...(ctx.genai ? { genai: ctx.genai } : {}),
  });
  const stopTarget = track(() => target.stop());
  const accepted = { spans: 0 };
  try {
    const url = target.tracesUrl;
    const closed = (durationMs: number) => () =>
      load.run({ mode: 'closed', url, concurrency: opts.concurrency, durationMs });
    const open = (spansPerSecond: number, durationMs: number) => () =>
      load.run({ mode: 'open', url, ratePerSecond: spansPerSecond / opts.spansPerRequest, durationMs });
    const at = (run: () => Promise<LoadResult>) => phase(ctx, target.pid, accepted, base.spans, run);

    const warmup = await at(closed(sc.warmupMs));
    const equal = await at(open(opts.equalRate, sc.equalMs));
    const saturation = sc.full ? await at(closed(opts.saturateMs)) : undefined;
    const latency = sc.full ? await at(open(opts.rate, opts.latencyMs)) : undefined;
    const lifetime = memory(target.pid);
    const sampled = sampleDelta(base, await sink.stats());
    problems.push(...costProblems(sc.pipeline, sampled));

    for (const [name, p, refusalsAllowed] of [
      ['warm-up', warmup, true],
      ['equal load', equal, false],
      ['saturation', saturation, true],
      ['latency', latency, false],
    ] as const) {
      if (!p) continue;
      const r = p.load;
      const refused = r.requests - r.okRequests - r.errors;
      if (r.errors > 0 || (refused > 0 && !refusalsAllowed))
        problems.push(`${name} phase: ${describeStatuses(r)}`);
      if (p.spansDelivered !== r.okSpans)
        problems.push(`${name} phase: target accepted ${r.okSpans} spans, sink received ${p.spansDelivered}`);
    }
    return {
      kind,
      round,
      variant: sc.variant,
      pipeline: sc.pipeline,
      compression: sc.compression,
      sampled,
      equal,
      ...(saturation ? { saturation } : {}),
      ...(latency ? { latency } : {}),
      lifetimePeakRssBytes: lifetime.peakRssBytes,
      threads: lifetime.threads,
      problems,
    };
  } finally {
    await stopTarget();
    const end = await sink.stats();
    if (end.spans - base.spans !== accepted.spans)
      problems.push(
        `over the target's life it accepted ${accepted.spans} spans, sink received ${end.spans - base.spans}`,
      );
    if (end.malformed > base.malformed) problems.push(`${end.malformed - base.malformed} malformed exports`);
  }
}

/** One more run of our processor under `--cpu-prof` (not in the numbers): where its CPU goes. */
async function profileOurs(ctx: Ctx, pipeline: PipelineKind): Promise<ProfileSummary | undefined> {
  const profDir = join(ctx.dir, `cpuprofile-${pipeline}`);
  mkdirSync(profDir, { recursive: true });
  const target = await startTarget({
    kind: 'ours',
    dir: ctx.dir,
    name: `ours-profiled-${pipeline}`,
    sinkUrl: ctx.sink.url,
    compression: 'none',
    placement: { targetCpus: ctx.targetCpus },
    cpuProfileDir: profDir,
    pipeline,
    ...(ctx.genai ? { genai: ctx.genai } : {}),
  });
  const stopTarget = track(() => target.stop());
  try {
    const closed = { mode: 'closed', url: target.tracesUrl, concurrency: opts.concurrency } as const;
    await ctx.load.run({ ...closed, durationMs: opts.warmupMs + opts.saturateMs });
  } finally {
    await stopTarget();
  }
  const file = readdirSync(profDir).find((f) => f.endsWith('.cpuprofile'));
  if (!file) {
    log('the profiled run wrote no .cpuprofile; skipping the profile');
    return undefined;
  }
  return summarizeProfile(join(profDir, file), 12);
}

/** Sum of one self-metric's samples whose labels include `labels`; 0 when there is none. */
function sumOf(
  samples: ReturnType<typeof parseExposition>,
  name: string,
  labels: Readonly<Record<string, string>> = {},
): number {
  let n = 0;
  for (const x of samples)
    if (x.name === name && Object.entries(labels).every(([k, v]) => x.labels[k] === v)) n += x.value;
  return n;
}

async function scrape(url: string): Promise<ReturnType<typeof parseExposition>> {
  const res = await fetch(url, { signal: AbortSignal.timeout(5_000) });
  if (!res.ok) throw new Error(`GET ${url}: HTTP ${res.status}`);
  return parseExposition(await res.text());
}

/**
 * The cardinality storm: our processor with llm_cost + llm_metrics keyed by user.id, fed at a fixed
 * open-loop rate with spans whose user.id is never repeated (the storm load generator patches a
 * counter into every body), until `opts.stormIds` distinct ids have gone through. Its RSS is read
 * every second against the spans delivered so far; at the end, after one more flush of llm_metrics,
 * its own /metrics tells how many series each derived metric holds.
 */
async function storm(ctx: Ctx, stormLoad: LoadGenerator): Promise<StormResult> {
  const { sink } = ctx;
  const problems: string[] = [];
  const base = await sink.stats();
  const target = await startTarget({
    kind: 'ours',
    dir: ctx.dir,
    name: 'ours-storm',
    sinkUrl: sink.url,
    compression: 'none',
    placement: { targetCpus: ctx.targetCpus },
    pipeline: 'storm',
    ...(ctx.genai ? { genai: ctx.genai } : {}),
  });
  const stopTarget = track(() => target.stop());
  let accepted = 0;
  try {
    const idsPerRequest = Math.min(...stormLoad.ready.idsPerBody);
    const spansPerRequest = Math.min(...stormLoad.ready.spansPerBody);
    const requests = Math.ceil(opts.stormIds / idsPerRequest);
    const ratePerSecond = opts.stormRate / spansPerRequest;
    // Half a send interval of slack, so the open loop's floor(duration × rate) is `requests`.
    const durationMs = ((requests + 0.5) / ratePerSecond) * 1000;
    const samples: StormSample[] = [];
    const t0 = performance.now();
    const cpu0 = cpuSeconds(target.pid);
    const startRssBytes = memory(target.pid).rssBytes;
    let sampling = true;
    const reading = async (): Promise<StormSample> => {
      const rssBytes = memory(target.pid).rssBytes;
      const tMs = performance.now() - t0;
      const spans = (await sink.stats()).spans - base.spans;
      const heap = await scrape(target.metricsUrl).catch(() => []);
      const v = (name: string, labels: Record<string, string> = {}) =>
        heap.some((x) => x.name === name) ? sumOf(heap, name, labels) : Number.NaN;
      return {
        tMs,
        rssBytes,
        spans,
        heapUsedBytes: v('otelcol_process_nodejs_heap_size_used_bytes'),
        oldSpaceUsedBytes: v('otelcol_process_nodejs_heap_space_size_used_bytes', { space: 'old' }),
      };
    };
    const sampler = (async () => {
      while (sampling) {
        samples.push(await reading());
        await sleep(1000 - ((performance.now() - t0) % 1000));
      }
    })();
    const load = await stormLoad.run({ mode: 'open', url: target.tracesUrl, ratePerSecond, durationMs });
    accepted = load.okSpans;
    const after = await drain(sink, base.spans + accepted);
    sampling = false;
    await sampler;
    const cpu = cpuSeconds(target.pid) - cpu0;
    const wallSeconds = (performance.now() - t0) / 1000;
    samples.push(await reading());
    if (load.errors > 0 || load.okRequests < load.requests) problems.push(`storm: ${describeStatuses(load)}`);
    if (after.spans - base.spans !== accepted)
      problems.push(`storm: target accepted ${accepted} spans, sink received ${after.spans - base.spans}`);
    if (load.idsAccepted < opts.stormIds)
      problems.push(
        `storm: only ${load.idsAccepted} distinct user.id values accepted, ${opts.stormIds} asked`,
      );

    // The series gauge is set when llm_metrics flushes (every 15 s): wait for the first flush after the load.
    const flushes = (x: ReturnType<typeof parseExposition>) =>
      sumOf(x, 'llmobs_derived_metrics_flushes_total');
    const f0 = flushes(await scrape(target.metricsUrl));
    const deadline = performance.now() + FLUSH_INTERVAL_MS + 10_000;
    let exposition = await scrape(target.metricsUrl);
    while (flushes(exposition) <= f0 && performance.now() < deadline) {
      await sleep(250);
      exposition = await scrape(target.metricsUrl);
    }
    const flushed = flushes(exposition) > f0;
    if (!flushed) problems.push('storm: llm_metrics did not flush within 25 s after the load');
    const series: Record<string, number> = {};
    for (const x of exposition)
      if (x.name === 'llmobs_derived_metrics_series' && x.labels.metric) series[x.labels.metric] = x.value;
    if (Object.keys(series).length === 0)
      problems.push('storm: no llmobs_derived_metrics_series on /metrics');
    const mem = memory(target.pid);
    return {
      idsAsked: opts.stormIds,
      rate: opts.stormRate,
      load,
      spansDelivered: after.spans - base.spans,
      sampled: sampleDelta(base, await sink.stats()),
      cpuSeconds: cpu,
      wallSeconds,
      startRssBytes,
      samples,
      afterFlushRssBytes: mem.rssBytes,
      peakRssBytes: mem.peakRssBytes,
      series,
      problems,
    };
  } finally {
    await stopTarget();
    const end = await sink.stats();
    if (end.spans - base.spans !== accepted)
      problems.push(
        `storm: over the target's life it accepted ${accepted} spans, sink received ${end.spans - base.spans}`,
      );
  }
}

/**
 * One target of the redaction comparison: started afresh on the redaction pipeline, a closed-loop
 * warm-up, then the measured closed-loop phase; `ctx.load` sends the redaction payload. The sink's
 * decoded sample must show redaction (mask tokens) and no planted value left.
 */
async function measureRedaction(kind: TargetKind, round: number, ctx: Ctx): Promise<RedactionRound> {
  const { sink, load } = ctx;
  const problems: string[] = [];
  const base = await sink.stats();
  const target = await startTarget({
    kind,
    dir: ctx.dir,
    name: `${kind}-redaction-r${round}`,
    sinkUrl: sink.url,
    compression: 'none',
    placement: { targetCpus: ctx.targetCpus },
    pipeline: 'redaction',
  });
  const stopTarget = track(() => target.stop());
  const accepted = { spans: 0 };
  try {
    const closed = (durationMs: number) => () =>
      load.run({ mode: 'closed', url: target.tracesUrl, concurrency: opts.concurrency, durationMs });
    const at = (run: () => Promise<LoadResult>) => phase(ctx, target.pid, accepted, base.spans, run);
    const warmup = await at(closed(opts.redactionWarmupMs));
    const saturation = await at(closed(opts.redactionSaturateMs));
    for (const [name, p] of [
      ['warm-up', warmup],
      ['saturation', saturation],
    ] as const) {
      if (p.load.errors > 0) problems.push(`${name} phase: ${describeStatuses(p.load)}`);
      if (p.spansDelivered !== p.load.okSpans)
        problems.push(
          `${name} phase: target accepted ${p.load.okSpans} spans, sink received ${p.spansDelivered}`,
        );
    }
    const end = await sink.stats();
    const r = {
      sampledRequests: end.sampledRequests - base.sampledRequests,
      sampledSpans: end.sampledSpans - base.sampledSpans,
      sampledPlanted: end.sampledPlanted - base.sampledPlanted,
      sampledMaskedSpans: end.sampledMaskedSpans - base.sampledMaskedSpans,
    };
    if (r.sampledSpans === 0) problems.push('no export was decoded; the redaction check saw nothing');
    else if (r.sampledMaskedSpans === 0)
      problems.push('no exported span in the decoded sample carries a mask token');
    if (r.sampledPlanted > 0)
      problems.push(`${r.sampledPlanted} planted values left in the decoded sample of exports`);
    return { kind, round, warmup, saturation, ...r, problems };
  } finally {
    await stopTarget();
    const end = await sink.stats();
    if (end.spans - base.spans !== accepted.spans)
      problems.push(
        `over the target's life it accepted ${accepted.spans} spans, sink received ${end.spans - base.spans}`,
      );
    if (end.malformed > base.malformed) problems.push(`${end.malformed - base.malformed} malformed exports`);
  }
}

/** bench/redaction-latency.ts in its own process on the target's CPU; undefined (logged) if it fails. */
function redactionLatency(cpus: string | undefined): RedactionLatency | undefined {
  const node = [
    process.execPath,
    join(repoRoot, 'bench', 'redaction-latency.ts'),
    '--iterations',
    String(opts.redactionIterations),
  ];
  const [cmd, ...args] = cpus ? ['taskset', '-c', cpus, ...node] : node;
  try {
    const out = execFileSync(cmd as string, args, {
      encoding: 'utf8',
      timeout: 300_000,
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    return JSON.parse(out) as RedactionLatency;
  } catch (err) {
    log(`redaction latency failed, left out of the report: ${(err as Error).message.split('\n')[0]}`);
    return undefined;
  }
}

/** bench/calibrate.ts in its own process on the target's CPU; undefined (logged) if it fails. */
function calibrate(
  payloadPath: string,
  genai: GenAiSetup,
  cpus: string | undefined,
): Calibration | undefined {
  const node = [
    process.execPath,
    join(repoRoot, 'bench', 'calibrate.ts'),
    payloadPath,
    genai.builtinCatalogue ? 'builtin' : 'fallback',
  ];
  const [cmd, ...args] = cpus ? ['taskset', '-c', cpus, ...node] : node;
  try {
    const out = execFileSync(cmd as string, args, { encoding: 'utf8', timeout: 120_000 });
    return JSON.parse(out) as Calibration;
  } catch (err) {
    log(`calibration failed, left out of the report: ${(err as Error).message.split('\n')[0]}`);
    return undefined;
  }
}

/** Average bytes of gen_ai.input.messages + gen_ai.output.messages per span that has them. */
function contentPerChatSpan(bodies: readonly Uint8Array[]): number {
  let bytes = 0;
  let spans = 0;
  let planted = 0;
  for (const b of bodies) {
    const req = decodeRequest('traces', b, 'protobuf');
    for (const rs of req.resourceSpans)
      for (const ss of rs.scopeSpans)
        for (const span of ss.spans) {
          let n = 0;
          for (const kv of span.attributes)
            if (kv.key === 'gen_ai.input.messages' || kv.key === 'gen_ai.output.messages')
              n += Buffer.byteLength(kv.value?.stringValue ?? '');
          if (n > 0) {
            bytes += n;
            spans++;
          }
          for (const kv of span.attributes) {
            const v = kv.value?.stringValue ?? '';
            if (v.length > 0 && PLANTED_VALUES.some((p) => v.includes(p))) planted++;
          }
        }
  }
  if (planted === 0) throw new Error('the redaction payload has no planted value');
  return spans > 0 ? bytes / spans : 0;
}

/** HEAD, plus a note when the processor's working tree differs from it (what actually ran). */
function gitCommit(): string {
  const git = (...args: string[]) => execFileSync('git', args, { cwd: repoRoot, encoding: 'utf8' }).trim();
  try {
    const head = git('rev-parse', 'HEAD');
    const dirty = git('diff', '--shortstat', 'HEAD', '--', 'processors', 'package-lock.json');
    return dirty ? `${head}, with uncommitted changes in processors/ (${dirty})` : head;
  } catch {
    return 'unknown';
  }
}

/** The versions a report names: Node, the reference Collector as built, the working tree's commit. */
function runVersions(collector: string): RunHeader['versions'] {
  return {
    node: process.version,
    collector: `${collector} (built with ocb from test/harness/tools/otelcol-builder.yaml; OTELCOL_VERSION=${versions().OTELCOL_VERSION})`,
    llmobs: gitCommit(),
  };
}

async function main(): Promise<number> {
  if (process.platform !== 'linux') throw new Error('the benchmark reads /proc and needs Linux');
  const started = new Date();
  const cpus = availableParallelism();
  // Two or more CPUs: the harness, load generator and sink share CPU 0, the target has CPU 1 alone.
  const targetCpus = cpus >= 2 ? '1' : undefined;
  // Resolved (built on first use) before pinning, so a build is not squeezed onto one CPU.
  const collector = await collectorVersion();
  if (targetCpus) pinSelf('0');
  const dir = mkdtempSync(join(tmpdir(), 'llmobs-bench-'));
  scope.workDir = dir;
  const stops: (() => Promise<void>)[] = [];
  try {
    log(
      `building ${opts.bodies} requests of ${opts.spansPerRequest} LLM spans with the OpenTelemetry JS SDK`,
    );
    const bodies = await buildPayload({ requests: opts.bodies, spansPerRequest: opts.spansPerRequest });
    const payloadPath = join(dir, 'payload.bin');
    writePayloadFile(payloadPath, bodies);
    const sink = await startSink(dir);
    stops.push(track(() => sink.stop()));
    const load = await LoadGenerator.start(payloadPath);
    stops.push(track(() => load.stop()));
    const placement = {
      harness: cpusAllowed('self'),
      load: cpusAllowed(load.pid),
      sink: cpusAllowed(sink.pid),
      target: targetCpus ?? cpusAllowed('self'),
    };
    log(`CPUs: target on ${placement.target}; load generator, sink and harness on ${placement.load}`);
    let genai: GenAiSetup | undefined;
    if (opts.costRounds > 0 || opts.stormIds > 0) {
      genai = probeGenAi(dir);
      log(
        `GenAI pipelines: llm_cost with ${genai.builtinCatalogue ? 'the built-in catalogue' : 'one configured price (the built-in catalogue does not load)'}, metrics/genai exported by ${genai.metricsExporter}`,
      );
      for (const n of genai.notes) log(`  ${n}`);
    }
    const ctx: Ctx = { dir, sink, load, targetCpus, genai };

    const results: RoundResult[] = [];
    const main: Scenario = {
      variant: 'main',
      pipeline: 'passthrough',
      compression: 'none',
      warmupMs: opts.warmupMs,
      equalMs: opts.equalMs,
      full: true,
    };
    const mainRounds = opts.onlyRedaction ? 0 : opts.rounds;
    for (let round = 1; round <= mainRounds; round++) {
      for (const kind of ['ours', 'collector'] as const) {
        log(`round ${round}/${opts.rounds}: ${TARGET_LABEL[kind]}`);
        const r = await measure(kind, round, ctx, main);
        results.push(r);
        const sat = r.saturation;
        log(
          `  ${cpuUsPerSpan(r.equal).toFixed(2)} µs CPU/span at ${opts.equalRate} spans/s` +
            (sat
              ? `; saturated ${Math.round(throughput(sat))} spans/s at ${((100 * sat.cpuSeconds) / sat.wallSeconds).toFixed(0)} % of a core`
              : '') +
            `; other processes ${r.equal.otherCpuUtilisation.toFixed(2)} cores` +
            `${r.problems.length ? `; PROBLEMS: ${r.problems.join('; ')}` : ''}`,
        );
      }
    }
    const gzip: Scenario = {
      variant: 'gzip',
      pipeline: 'passthrough',
      compression: 'gzip',
      warmupMs: opts.gzipWarmupMs,
      equalMs: opts.gzipEqualMs,
      full: false,
    };
    for (let round = 1; round <= opts.gzipRounds; round++) {
      for (const kind of ['ours', 'collector'] as const) {
        log(`gzip round ${round}/${opts.gzipRounds}: ${TARGET_LABEL[kind]}`);
        const r = await measure(kind, round, ctx, gzip);
        results.push(r);
        log(
          `  ${cpuUsPerSpan(r.equal).toFixed(2)} µs CPU/span at ${opts.equalRate} spans/s; ` +
            `other processes ${r.equal.otherCpuUtilisation.toFixed(2)} cores` +
            `${r.problems.length ? `; PROBLEMS: ${r.problems.join('; ')}` : ''}`,
        );
      }
    }
    // Cost + metrics: the same equal load through four targets per round, interleaved.
    let calibration: Calibration | undefined;
    if (opts.costRounds > 0 && genai) {
      log("timing the cost pipelines' steps in-process (bench/calibrate.ts)");
      calibration = calibrate(payloadPath, genai, targetCpus);
      if (calibration)
        log(
          `  µs/span in-process: decode ${calibration.decodeUs.toFixed(2)}, walk ${calibration.walkUs.toFixed(2)}, ` +
            `encode ${calibration.encodeUs.toFixed(2)}, llm_cost ${calibration.costUs.toFixed(2)}, ` +
            `llm_metrics ${calibration.metricsUs.toFixed(2)}, encode priced ${calibration.encodePricedUs.toFixed(2)}`,
        );
    }
    const costTargets: readonly (readonly [TargetKind, PipelineKind])[] = [
      ['ours', 'passthrough'],
      ['ours', 'reencode'],
      ['ours', 'cost_metrics'],
      ['collector', 'passthrough'],
    ];
    for (let round = 1; round <= opts.costRounds; round++) {
      for (const [kind, pipeline] of costTargets) {
        log(`cost round ${round}/${opts.costRounds}: ${TARGET_LABEL[kind]}, ${PIPELINE_LABEL[pipeline]}`);
        const r = await measure(kind, round, ctx, {
          variant: 'cost',
          pipeline,
          compression: 'none',
          warmupMs: opts.costWarmupMs,
          equalMs: opts.costEqualMs,
          full: false,
        });
        results.push(r);
        log(
          `  ${cpuUsPerSpan(r.equal).toFixed(2)} µs CPU/span at ${opts.equalRate} spans/s; ` +
            `priced ${r.sampled.pricedSpans}/${r.sampled.llmSpans} sampled LLM spans; ` +
            `other processes ${r.equal.otherCpuUtilisation.toFixed(2)} cores` +
            `${r.problems.length ? `; PROBLEMS: ${r.problems.join('; ')}` : ''}`,
        );
      }
    }
    let stormResult: StormResult | undefined;
    let stormBodyBytes = 0;
    if (opts.stormIds > 0) {
      const stormBodies = await buildPayload({
        requests: opts.bodies,
        spansPerRequest: opts.spansPerRequest,
        userIdPlaceholder: USER_ID_PLACEHOLDER,
      });
      stormBodyBytes = Math.round(stormBodies.reduce((n, b) => n + b.length, 0) / stormBodies.length);
      const stormPath = join(dir, 'payload-storm.bin');
      writePayloadFile(stormPath, stormBodies);
      const stormLoad = await LoadGenerator.start(stormPath, USER_ID_PLACEHOLDER);
      const stopStormLoad = track(() => stormLoad.stop());
      try {
        log(
          `cardinality storm: ${opts.stormIds.toLocaleString('en-US')} distinct user.id values at ${opts.stormRate} spans/s`,
        );
        stormResult = await storm(ctx, stormLoad);
        const s = stormResult.samples;
        log(
          `  RSS ${((s[0]?.rssBytes ?? 0) / 2 ** 20).toFixed(0)} → ${((s[s.length - 1]?.rssBytes ?? 0) / 2 ** 20).toFixed(0)} MiB; ` +
            `series ${Object.entries(stormResult.series)
              .map(([k, v]) => `${k}=${v}`)
              .join(', ')}` +
            `${stormResult.problems.length ? `; PROBLEMS: ${stormResult.problems.join('; ')}` : ''}`,
        );
      } finally {
        await stopStormLoad();
      }
    }
    let redaction: RedactionRun | undefined;
    if (opts.redactionRounds > 0) {
      const t0 = Date.now();
      const redBodies = await buildPayload({
        requests: opts.bodies,
        spansPerRequest: opts.redactionSpans,
        redactionContent: true,
      });
      const redPath = join(dir, 'payload-redaction.bin');
      writePayloadFile(redPath, redBodies);
      const contentBytesPerChatSpan = contentPerChatSpan(redBodies);
      const redLoad = await LoadGenerator.start(redPath);
      const stopRedLoad = track(() => redLoad.stop());
      const rounds: RedactionRound[] = [];
      try {
        for (let round = 1; round <= opts.redactionRounds; round++) {
          for (const kind of ['ours', 'collector'] as const) {
            log(`redaction round ${round}/${opts.redactionRounds}: ${TARGET_LABEL[kind]}`);
            const r = await measureRedaction(kind, round, { ...ctx, load: redLoad });
            rounds.push(r);
            const sat = r.saturation;
            log(
              `  ${Math.round(sat.spansDelivered / sat.cpuSeconds)} spans/s per core, ${Math.round(throughput(sat))} spans/s at ${((100 * sat.cpuSeconds) / sat.wallSeconds).toFixed(0)} % of a core; ` +
                `sample: ${r.sampledSpans} spans, ${r.sampledMaskedSpans} masked, ${r.sampledPlanted} planted left; ` +
                `other processes ${sat.otherCpuUtilisation.toFixed(2)} cores` +
                `${r.problems.length ? `; PROBLEMS: ${r.problems.join('; ')}` : ''}`,
            );
          }
        }
      } finally {
        await stopRedLoad();
      }
      log(
        `redaction: in-process latency of large prompts (bench/redaction-latency.ts, ${opts.redactionIterations} iterations)`,
      );
      const latency = redactionLatency(targetCpus);
      redaction = {
        date: new Date(t0),
        durationSeconds: (Date.now() - t0) / 1000,
        machine: { ...machine(), nproc: cpus },
        placement,
        versions: runVersions(collector),
        options: {
          rounds: opts.redactionRounds,
          warmupSeconds: opts.redactionWarmupMs / 1000,
          saturateSeconds: opts.redactionSaturateMs / 1000,
          concurrency: opts.concurrency,
          spansPerRequest: opts.redactionSpans,
          bodies: opts.bodies,
          requestBytes: Math.round(redBodies.reduce((n, b) => n + b.length, 0) / redBodies.length),
          contentBytesPerChatSpan,
          iterations: opts.redactionIterations,
        },
        rules: { ours: OURS_REDACTION, collector: COLLECTOR_REDACTION },
        rounds,
        latency,
        latencyCpus: targetCpus,
      };
      if (latency?.plantedLeft) log(`redaction latency: ${latency.plantedLeft} planted values left`);
    }
    let profile: ProfileSummary | undefined;
    let costProfile: ProfileSummary | undefined;
    if (opts.profile) {
      log('profiling the llmobs processor (an extra run with --cpu-prof, not in the numbers)');
      profile = await profileOurs(ctx, 'passthrough');
      if (opts.costRounds > 0) {
        log('profiling the llmobs processor with llm_cost + llm_metrics (an extra run, not in the numbers)');
        costProfile = await profileOurs(ctx, 'cost_metrics');
      }
    }
    const m = machine();
    const run: BenchRun = {
      date: started,
      durationSeconds: (Date.now() - started.getTime()) / 1000,
      machine: { ...m, nproc: cpus },
      placement,
      versions: runVersions(collector),
      options: {
        rounds: opts.rounds,
        warmupSeconds: opts.warmupMs / 1000,
        equalSeconds: opts.equalMs / 1000,
        equalRate: opts.equalRate,
        saturateSeconds: opts.saturateMs / 1000,
        concurrency: opts.concurrency,
        latencySeconds: opts.latencyMs / 1000,
        rate: opts.rate,
        spansPerRequest: opts.spansPerRequest,
        bodies: opts.bodies,
        requestBytes: Math.round(bodies.reduce((n, b) => n + b.length, 0) / bodies.length),
        gzipRounds: opts.gzipRounds,
        gzipWarmupSeconds: opts.gzipWarmupMs / 1000,
        gzipEqualSeconds: opts.gzipEqualMs / 1000,
        costRounds: opts.costRounds,
        costWarmupSeconds: opts.costWarmupMs / 1000,
        costEqualSeconds: opts.costEqualMs / 1000,
        stormBodyBytes,
      },
      genai,
      calibration,
      results,
      storm: stormResult,
      profile,
      costProfile,
    };
    // The raw results, for a look at every reading (kept with the run's folder under LLMOBS_KEEP_TMP=1).
    writeFileSync(join(dir, 'results.json'), JSON.stringify({ ...run, redaction }, null, 1));
    if (!opts.onlyRedaction) {
      const md = renderResults(run);
      if (a['no-write']) process.stdout.write(`${md}\n`);
      else {
        writeResults(a.out as string, md);
        log(`wrote the results into ${a.out}`);
      }
    }
    if (redaction) {
      const md = renderRedaction(redaction);
      if (a['no-write']) process.stdout.write(`${md}\n`);
      else {
        writeBlock(a.out as string, md, REDACTION_BEGIN, REDACTION_END);
        log(`wrote the redaction results into ${a.out}`);
      }
    }
    const invalid = [...results, ...(stormResult ? [stormResult] : []), ...(redaction?.rounds ?? [])].filter(
      (r) => r.problems.length > 0,
    );
    if (invalid.length > 0) {
      log(`${invalid.length} run(s) had problems (see the report); the numbers are not trustworthy`);
      return 1;
    }
    return 0;
  } finally {
    for (const stop of stops.reverse()) await stop();
    scope.removeWorkDir();
  }
}

process.exitCode = await main();
