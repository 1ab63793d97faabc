// `make bench`: the llmobs processor side by side with the reference OpenTelemetry Collector, same
// machine, same payload, same pass-through pipeline (OTLP/HTTP in → otlp_http exporter → counting sink),
// alternating targets for a few rounds, then the results section of docs/benchmarks.md is rewritten.
//   node bench/passthrough.bench.ts [--rounds 3] [--equal 10] [--no-write] ...   (--help for all)
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { repoRoot, versions } from '../test/harness/cache.ts';
import { type ProfileSummary, summarizeProfile } from './cpuprofile-summary.ts';
import type { LoadResult } from './loadgen.ts';
import { LoadGenerator } from './loadgen-client.ts';
import { buildPayload, writePayloadFile } from './payload.ts';
import { cpuSeconds, cpusAllowed, cpuTimes, machine, memory, resetPeakRss } from './proc-stats.ts';
import {
  type BenchRun,
  cpuUsPerSpan,
  type PhaseResult,
  type RoundResult,
  renderResults,
  throughput,
  writeResults,
} from './report.ts';
import {
  collectorVersion,
  pinSelf,
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
  --no-profile           skip the extra profiled run of the llmobs processor
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

function positive(name: string, v: string | undefined, max: number): number {
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0 || n > max) {
    process.stderr.write(`--${name} must be a number in (0, ${max}], got ${v}\n${USAGE}\n`);
    process.exit(2);
  }
  return n;
}
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
  gzipRounds: a['gzip-rounds'] === '0' ? 0 : Math.round(positive('gzip-rounds', a['gzip-rounds'], 10)),
  gzipWarmupMs: positive('gzip-warmup', a['gzip-warmup'], 60) * 1000,
  gzipEqualMs: positive('gzip-equal', a['gzip-equal'], 120) * 1000,
  profile: !a['no-profile'],
};
const DRAIN_TIMEOUT_MS = 30_000;

const log = (msg: string) => process.stderr.write(`bench: ${msg}\n`);

/** Stops of every process this benchmark has running, for an orderly exit on SIGINT or SIGTERM. */
const running = new Set<() => Promise<void>>();
/** The run's folder (configs, logs, payload), removed at the end unless LLMOBS_KEEP_TMP is set. */
let workDir: string | undefined;
function removeWorkDir(): void {
  if (workDir && !process.env.LLMOBS_KEEP_TMP) rmSync(workDir, { recursive: true, force: true });
  else if (workDir) log(`kept ${workDir}`);
}
function track(stop: () => Promise<void>): () => Promise<void> {
  const once = async () => {
    running.delete(once);
    await stop();
  };
  running.add(once);
  return once;
}
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    log(`${signal}, stopping every process it started`);
    const timer = setTimeout(() => process.exit(130), 25_000);
    // Newest first: the target drains into the sink before the sink goes.
    void (async () => {
      for (const stop of [...running].reverse()) await stop().catch(() => {});
      removeWorkDir();
      clearTimeout(timer);
      process.exit(130);
    })();
  });
}

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

/** What a target run does: the full set of phases, or (for the gzip variant) the equal-load phase only. */
interface Scenario {
  readonly compression: 'none' | 'gzip';
  readonly warmupMs: number;
  readonly equalMs: number;
  readonly full: boolean;
}

async function measure(kind: TargetKind, round: number, ctx: Ctx, sc: Scenario): Promise<RoundResult> {
  const { sink, load } = ctx;
  const problems: string[] = [];
  const base = await sink.stats();
  const target = await startTarget({
    kind,
    dir: ctx.dir,
    name: `${kind}-${sc.compression}-r${round}`,
    sinkUrl: ctx.sink.url,
    compression: sc.compression,
    placement: { targetCpus: ctx.targetCpus },
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
      compression: sc.compression,
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
async function profileOurs(ctx: Ctx): Promise<ProfileSummary | undefined> {
  const profDir = join(ctx.dir, 'cpuprofile');
  mkdirSync(profDir, { recursive: true });
  const target = await startTarget({
    kind: 'ours',
    dir: ctx.dir,
    name: 'ours-profiled',
    sinkUrl: ctx.sink.url,
    compression: 'none',
    placement: { targetCpus: ctx.targetCpus },
    cpuProfileDir: profDir,
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
  workDir = dir;
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
    const ctx = { dir, sink, load, targetCpus };

    const results: RoundResult[] = [];
    const main: Scenario = {
      compression: 'none',
      warmupMs: opts.warmupMs,
      equalMs: opts.equalMs,
      full: true,
    };
    for (let round = 1; round <= opts.rounds; round++) {
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
    let profile: ProfileSummary | undefined;
    if (opts.profile) {
      log('profiling the llmobs processor (an extra run with --cpu-prof, not in the numbers)');
      profile = await profileOurs(ctx);
    }
    const m = machine();
    const run: BenchRun = {
      date: started,
      durationSeconds: (Date.now() - started.getTime()) / 1000,
      machine: { ...m, nproc: cpus },
      placement,
      versions: {
        node: process.version,
        collector: `${collector} (built with ocb from test/harness/tools/otelcol-builder.yaml; OTELCOL_VERSION=${versions().OTELCOL_VERSION})`,
        llmobs: gitCommit(),
      },
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
      },
      results,
      profile,
    };
    const md = renderResults(run);
    if (a['no-write']) process.stdout.write(`${md}\n`);
    else {
      writeResults(a.out as string, md);
      log(`wrote the results into ${a.out}`);
    }
    const invalid = results.filter((r) => r.problems.length > 0);
    if (invalid.length > 0) {
      log(`${invalid.length} run(s) had problems (see the report); the numbers are not trustworthy`);
      return 1;
    }
    return 0;
  } finally {
    for (const stop of stops.reverse()) await stop();
    removeWorkDir();
  }
}

process.exitCode = await main();
