// Issue #8: the llmobs processor and the reference OpenTelemetry Collector side by side on four
// pipelines (pass-through; redaction; redaction + cost + metrics; the full pipeline with tail
// sampling), alternating targets in every round, fed realistic RAG traces from a seeded generator;
// then the full pipeline as span content and batch size double; then a CPU profile of ours. Writes
// docs/benchmarks.md between the bench:pipeline markers.
//   node bench/pipeline.bench.ts [--rounds 2] [--protocol grpc] [--no-series] [--no-write] ...  (--help)
import { mkdirSync, mkdtempSync, readdirSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { repoRoot, versions } from '../test/harness/cache.ts';
import { numberIn } from './cli-options.ts';
import { type ProfileSummary, summarizeProfile } from './cpuprofile-summary.ts';
import { writePayloadFile } from './payload.ts';
import { PIPELINE_PROCESSORS, PIPELINE_TITLE, PIPELINES, type Pipeline } from './pipeline/configs.ts';
import { DEFAULT_SIZE_MIX, generate, parseSizeMix, type SizeMix } from './pipeline/generator.ts';
import type { Protocol } from './pipeline/loadgen.ts';
import { PipelineLoadGenerator } from './pipeline/loadgen-client.ts';
import { type MeasureContext, measureTarget, type TargetRun } from './pipeline/measure.ts';
import {
  P99_ADDED_TARGET_MS,
  PER_CORE_TARGET,
  PIPELINE_BEGIN,
  PIPELINE_END,
  type PipelineReport,
  renderPipeline,
  type SeriesPoint,
  summarize,
} from './pipeline/report.ts';
import { cpusAllowed, machine } from './proc-stats.ts';
import { writeBlock } from './report.ts';
import { RunScope } from './run-scope.ts';
import { collectorVersion, pinSelf, probeGenAi, startSink } from './targets.ts';

const USAGE = `usage: node bench/pipeline.bench.ts [options]
  --rounds N              rounds; each runs every pipeline on both targets, alternating which goes first (default 2)
  --pipelines LIST        comma-separated subset of ${PIPELINES.join(',')} (default all)
  --warmup SECONDS        closed-loop warm-up per target, not measured (default 3)
  --saturate SECONDS      closed loop with --concurrency in flight: spans/s per core (default 5)
  --latency SECONDS       open loop at half the target's own saturated throughput (default 5)
  --concurrency N         requests in flight in the closed loop (default 4)
  --protocol http|grpc    OTLP/HTTP or OTLP/gRPC from the load generator (default http)
  --spans N               spans per request, at least (whole traces; default 100)
  --bodies N              distinct generated requests cycled through (default 12)
  --seed N                the generator's seed (default 1)
  --size-mix LIST         content KiB:weight per span, e.g. 0.5:40,1:20,256:0.4 (default: see generator.ts)
  --pii-share X           share of content strings with planted PII (default 0.2)
  --error-share X         share of traces with a failed tool call (default 0.02)
  --series-sizes LIST     content KiB per span for the doubling series (default 1,2,4,8,16,32)
  --series-batches LIST   spans per request for the doubling series (default 50,100,200,400)
  --series-content KIB    content per span in the batch series (default 2)
  --series-warmup SECONDS (default 2)   --series-saturate SECONDS (default 3)
  --no-series             skip the doubling series
  --no-profile            skip the profiled run of the llmobs processor's full pipeline
  --out PATH              the document to rewrite (default docs/benchmarks.md)
  --no-write              print the report instead of rewriting the document
LLMOBS_KEEP_TMP=1 keeps the run's folder (configs, logs, payloads, profile).`;

const { values: a } = parseArgs({
  options: {
    rounds: { type: 'string', default: '2' },
    pipelines: { type: 'string', default: PIPELINES.join(',') },
    warmup: { type: 'string', default: '3' },
    saturate: { type: 'string', default: '5' },
    latency: { type: 'string', default: '5' },
    concurrency: { type: 'string', default: '4' },
    protocol: { type: 'string', default: 'http' },
    spans: { type: 'string', default: '100' },
    bodies: { type: 'string', default: '12' },
    seed: { type: 'string', default: '1' },
    'size-mix': { type: 'string' },
    'pii-share': { type: 'string', default: '0.2' },
    'error-share': { type: 'string', default: '0.02' },
    'series-sizes': { type: 'string', default: '1,2,4,8,16,32' },
    'series-batches': { type: 'string', default: '50,100,200,400' },
    'series-content': { type: 'string', default: '2' },
    'series-warmup': { type: 'string', default: '2' },
    'series-saturate': { type: 'string', default: '3' },
    'no-series': { type: 'boolean', default: false },
    'no-profile': { type: 'boolean', default: false },
    out: { type: 'string', default: join(repoRoot, 'docs', 'benchmarks.md') },
    'no-write': { type: 'boolean', default: false },
    help: { type: 'boolean', default: false },
  },
});
if (a.help) {
  process.stdout.write(`${USAGE}\n`);
  process.exit(0);
}

const num = (name: string, v: string | undefined, min: number, max: number) =>
  numberIn(USAGE, name, v, min, max);
const list = (name: string, v: string | undefined, min: number, max: number) =>
  (v ?? '').split(',').map((x) => num(name, x, min, max));

const protocol = a.protocol as Protocol;
if (protocol !== 'http' && protocol !== 'grpc') {
  process.stderr.write(`--protocol must be http or grpc\n`);
  process.exit(2);
}
const pipelines = (a.pipelines ?? '').split(',') as Pipeline[];
for (const p of pipelines)
  if (!PIPELINES.includes(p)) {
    process.stderr.write(`unknown pipeline ${p} (known: ${PIPELINES.join(', ')})\n`);
    process.exit(2);
  }
const opts = {
  rounds: num('rounds', a.rounds, 1, 20),
  warmupMs: num('warmup', a.warmup, 0, 600) * 1000,
  saturateMs: num('saturate', a.saturate, 1, 600) * 1000,
  latencyMs: num('latency', a.latency, 0, 600) * 1000,
  concurrency: num('concurrency', a.concurrency, 1, 256),
  spans: num('spans', a.spans, 1, 100_000),
  bodies: num('bodies', a.bodies, 1, 1000),
  seed: num('seed', a.seed, 0, 2 ** 31),
  sizeMix: a['size-mix'] ? parseSizeMix(a['size-mix']) : DEFAULT_SIZE_MIX,
  piiShare: num('pii-share', a['pii-share'], 0, 1),
  errorShare: num('error-share', a['error-share'], 0, 1),
  seriesSizes: a['no-series'] ? [] : list('series-sizes', a['series-sizes'], 0.125, 1024),
  seriesBatches: a['no-series'] ? [] : list('series-batches', a['series-batches'], 1, 100_000),
  seriesContent: num('series-content', a['series-content'], 0.125, 1024),
  seriesWarmupMs: num('series-warmup', a['series-warmup'], 0, 600) * 1000,
  seriesSaturateMs: num('series-saturate', a['series-saturate'], 1, 600) * 1000,
};

const log = (msg: string) => process.stderr.write(`bench: ${msg}\n`);

const scope = new RunScope(log);
const track = scope.track;
scope.stopOnSignals();

/** Generates a payload into `dir` and starts a load generator on it. */
async function loadFor(
  dir: string,
  name: string,
  spans: number,
  sizeMix: SizeMix | number,
): Promise<{ load: PipelineLoadGenerator; bytesPerSpan: number; describe: string }> {
  const g = generate({
    seed: opts.seed,
    requests: opts.bodies,
    spansPerRequest: spans,
    sizeMix,
    piiShare: opts.piiShare,
    errorShare: opts.errorShare,
  });
  const path = join(dir, `${name}.bin`);
  writePayloadFile(path, g.bodies);
  const load = await PipelineLoadGenerator.start(path);
  track(() => load.stop());
  const bytes = g.bodies.reduce((n, b) => n + b.length, 0);
  const traces = g.tracesPerBody.reduce((n, t) => n + t, 0);
  const describe =
    `${opts.bodies} requests of ${(g.spans / opts.bodies).toFixed(1)} spans (${traces} RAG traces: root, retrieval, rerank, tool, 1–3 chat calls), ` +
    `${n0(bytes / opts.bodies)} bytes per request and ${n0(bytes / g.spans)} per span on average; ` +
    `${n0(g.contentBytes / g.spans)} bytes of content per span; ${g.piiContents} of ${g.contents} content strings with planted PII ` +
    `(${(100 * opts.piiShare).toFixed(0)} % asked); seed ${opts.seed}; every send gets fresh trace ids.`;
  return { load, bytesPerSpan: bytes / g.spans, describe };
}

const n0 = (x: number) => Math.round(x).toLocaleString('en-US');

async function profileFull(ctx: MeasureContext): Promise<ProfileSummary | undefined> {
  const profDir = join(ctx.dir, 'cpuprofile-full');
  mkdirSync(profDir, { recursive: true });
  await measureTarget({ ...ctx, latencyMs: 0 }, 'ours', 'full', 0, 'ours-full-profiled', profDir);
  const file = readdirSync(profDir).find((f) => f.endsWith('.cpuprofile'));
  return file ? summarizeProfile(join(profDir, file), 15) : undefined;
}

async function main(): Promise<number> {
  if (process.platform !== 'linux') throw new Error('the benchmark reads /proc and needs Linux');
  const started = Date.now();
  const cpus = availableParallelism() >= 2 ? '1' : undefined;
  const collector = await collectorVersion();
  if (cpus) pinSelf('0');
  const dir = mkdtempSync(join(tmpdir(), 'llmobs-bench-pipeline-'));
  scope.workDir = dir;
  try {
    const genai = probeGenAi(dir);
    const sink = await startSink(dir);
    track(() => sink.stop());
    const main = await loadFor(dir, 'payload', opts.spans, opts.sizeMix);
    log(`payload: ${main.describe}`);
    const ctx: MeasureContext = {
      dir,
      sink,
      load: main.load,
      cpus,
      genai,
      protocol,
      concurrency: opts.concurrency,
      warmupMs: opts.warmupMs,
      saturateMs: opts.saturateMs,
      latencyMs: opts.latencyMs,
      track,
    };
    const placement = cpus
      ? `the target alone on CPU ${cpus} (\`taskset -c\`); the load generator (${cpusAllowed(main.load.pid)}), the sink and the harness on CPU 0.`
      : 'one CPU: nothing pinned.';

    const runs: TargetRun[] = [];
    for (let round = 1; round <= opts.rounds; round++)
      for (const pipeline of pipelines) {
        const order = round % 2 === 1 ? (['ours', 'collector'] as const) : (['collector', 'ours'] as const);
        for (const kind of order) {
          log(`round ${round}/${opts.rounds}: ${PIPELINE_TITLE[pipeline]}, ${kind}`);
          const r = await measureTarget(ctx, kind, pipeline, round, `${kind}-${pipeline}-r${round}`);
          runs.push(r);
          const s = summarize([r]);
          log(
            `  ${n0(s.perCore)} spans/s per core; p50/p99 ${s.p50.toFixed(2)}/${s.p99.toFixed(2)} ms at ${n0(s.latencyRate)} spans/s; peak RSS ${n0(r.peakRssBytes / 2 ** 20)} MiB; sampled out ${n0(r.sampledOut)}` +
              (r.problems.length > 0 ? `; PROBLEMS: ${r.problems.join('; ')}` : ''),
          );
        }
      }

    const series: SeriesPoint[] = [];
    const seriesCtx = {
      ...ctx,
      warmupMs: opts.seriesWarmupMs,
      saturateMs: opts.seriesSaturateMs,
      latencyMs: 0,
    };
    const points = [
      ...opts.seriesSizes.map((v) => ({ axis: 'content' as const, value: v, spans: 100, size: v * 1024 })),
      ...opts.seriesBatches.map((v) => ({
        axis: 'batch' as const,
        value: v,
        spans: v,
        size: opts.seriesContent * 1024,
      })),
    ];
    for (const pt of points) {
      const l = await loadFor(dir, `series-${pt.axis}-${pt.value}`, pt.spans, pt.size);
      const pr: TargetRun[] = [];
      for (const kind of ['ours', 'collector'] as const) {
        log(`series ${pt.axis} ${pt.value}: ${kind}`);
        pr.push(
          await measureTarget(
            { ...seriesCtx, load: l.load },
            kind,
            'full',
            1,
            `series-${pt.axis}-${pt.value}-${kind}`,
          ),
        );
      }
      await l.load.stop();
      series.push({ axis: pt.axis, value: pt.value, runs: pr, bytesPerSpan: l.bytesPerSpan });
      log(`  ${pr.map((x) => `${x.kind} ${n0(summarize([x]).perCore)}`).join(', ')} spans/s per core`);
    }

    let profile: ProfileSummary | undefined;
    if (!a['no-profile'] && pipelines.includes('full')) {
      log('profiled run of the llmobs processor, full pipeline');
      profile = await profileFull({ ...ctx, latencyMs: 0 });
    }

    const m = machine();
    const v = versions();
    const report: PipelineReport = {
      date: new Date(started).toISOString().replace(/\.\d+Z$/, 'Z'),
      machine: `${m.cpus} CPUs, ${m.model}, ${m.memTotalGiB.toFixed(0)} GiB RAM, Linux ${m.kernel}.`,
      placement,
      versions: `Node ${process.version}; ${collector} (ocb, test/harness/tools/otelcol-builder.yaml, OTELCOL_VERSION=${v.OTELCOL_VERSION}).`,
      run: `${opts.rounds} rounds (odd rounds the llmobs processor first, even rounds the Collector first), every target started afresh: ${opts.warmupMs / 1000} s warm-up, ${opts.saturateMs / 1000} s saturated (closed loop, ${opts.concurrency} requests in flight), ${opts.latencyMs / 1000} s open loop at half the target's own saturated throughput; OTLP/${protocol === 'grpc' ? 'gRPC' : 'HTTP'} in, OTLP/HTTP out uncompressed.`,
      payload: main.describe,
      genaiNotes: [
        `llm_cost ${genai.builtinCatalogue ? 'prices from the built-in catalogue' : 'uses one configured price'}; metrics/genai exported by ${genai.metricsExporter}`,
        ...genai.notes,
      ],
      runs,
      series,
      seriesBatchContentKiB: opts.seriesContent,
      seriesSizesBatch: 100,
      profile,
      profileNote: `One more run of the llmobs processor, full pipeline, under \`node --cpu-prof\` (${(opts.warmupMs + opts.saturateMs) / 1000} s closed loop plus start-up and drain; profiling slows it, so this run is not in the numbers above). Processors: ${PIPELINE_PROCESSORS.full.ours}.`,
      elapsedSeconds: (Date.now() - started) / 1000,
    };
    const md = renderPipeline(report);
    if (a['no-write']) process.stdout.write(`${md}\n`);
    else {
      writeBlock(a.out as string, md, PIPELINE_BEGIN, PIPELINE_END);
      log(`wrote ${a.out}`);
    }
    const failed = [...runs, ...series.flatMap((p) => p.runs)].some((r) => r.problems.length > 0);
    const full = summarize(runs.filter((r) => r.kind === 'ours' && r.pipeline === 'full'));
    const ref = summarize(runs.filter((r) => r.kind === 'collector' && r.pipeline === 'full'));
    log(
      `full pipeline: ${(full.perCore / ref.perCore).toFixed(2)}× the Collector's spans/s per core (target ≥ ${PER_CORE_TARGET}); p99 ${full.p99.toFixed(2)} ms (added target < ${P99_ADDED_TARGET_MS} ms)`,
    );
    return failed ? 1 : 0;
  } finally {
    await scope.stopAll();
    scope.removeWorkDir();
  }
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`bench: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  },
);
