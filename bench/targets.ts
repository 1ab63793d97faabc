import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as yaml from 'js-yaml';
import { repoRoot } from '../test/harness/cache.ts';
import { collectorConfig } from '../test/harness/collector.ts';
import { freePorts } from '../test/harness/ports.ts';
import { ManagedProcess } from '../test/harness/process.ts';
import { goTool } from '../test/harness/tools.ts';
import type { SinkStats } from './sink.ts';
import { launchTarget } from './target-process.ts';

/** The two processes compared; `ours` is the llmobs processor, `collector` the reference Collector. */
export type TargetKind = 'ours' | 'collector';

export const TARGET_LABEL: Readonly<Record<TargetKind, string>> = {
  ours: 'llmobs processor',
  collector: 'OpenTelemetry Collector',
};

/**
 * What the target's traces pipeline does. The Collector runs `passthrough` only; the others are the
 * llmobs processor's own processors (see docs/benchmarks.md, "Cost and metrics").
 */
export type PipelineKind = 'passthrough' | 'reencode' | 'cost_metrics' | 'storm' | 'redaction';

export const PIPELINE_LABEL: Readonly<Record<PipelineKind, string>> = {
  passthrough: 'pass-through',
  reencode: 'llm_redaction, no entities, all keys allowed (re-encodes)',
  cost_metrics: 'llm_cost + llm_metrics',
  storm: 'llm_cost + llm_metrics by user.id',
  redaction: 'redaction of emails, card and phone numbers',
};

/** The entities both targets redact in the redaction comparison (docs/benchmarks.md, "Redaction"). */
export const REDACTION_ENTITIES = ['email', 'credit_card', 'phone_number'] as const;

/** The llmobs processor's side of the redaction comparison: built-in detectors, everything else default. */
export const OURS_REDACTION = { entities: [...REDACTION_ENTITIES] };

/**
 * The Collector's side: contrib's `redaction` processor keeping every key and masking what these RE2
 * regexes match (in every string attribute value: resource, span, event...) with `****`. The card
 * regex is 13–19 digits, optionally grouped by single spaces or dashes: RE2 cannot check Luhn, so it
 * also masks digit runs that are not card numbers (none are in the payload).
 */
export const COLLECTOR_REDACTION = {
  allow_all_keys: true,
  blocked_values: [
    '[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\\.[A-Za-z0-9-]+)*\\.[A-Za-z]{2,}',
    '\\b(?:\\d[ -]?){12,18}\\d\\b',
    '\\(\\d{3}\\) ?\\d{3}-\\d{4}|\\+\\d{1,3}(?:[ -]\\d{1,4}){2,5}',
  ],
  summary: 'silent',
};

/** How this working tree's processor can run the GenAI pipelines; decided once per run by {@link probeGenAi}. */
export interface GenAiSetup {
  /** The exporter of the `metrics/genai` pipeline: `prometheus` when registered, else `debug` (basic). */
  readonly metricsExporter: 'prometheus' | 'debug';
  /** True: `llm_cost: {}` prices from the built-in catalogue. False: it cannot load, so FALLBACK_PRICES. */
  readonly builtinCatalogue: boolean;
  /** Why a fallback was taken (the validator's first complaint), for the report. */
  readonly notes: readonly string[];
}

/** OpenAI's list price of gpt-4o-mini, USD per million tokens: the one price used when the catalogue cannot load. */
export const FALLBACK_PRICES = {
  builtin_catalogue: false,
  prices: [{ model: 'gpt-4o-mini', provider: 'openai', input: 0.15, cache_read: 0.075, output: 0.6 }],
} as const;

/**
 * Pipeline (b): the cheapest data-changing processor this distribution has. `llm_redaction` declares
 * that it changes data, so the exporter must encode the request again instead of forwarding the bytes
 * received; with no entity selected no detector runs, and with every key allowed no attribute value is
 * looked at: what is left is a walk over the keys, span and event names (timed by calibrate.ts).
 */
export const REENCODE_REDACTION = { entities: [], allowed_keys: ['*'] };

/** Series per metric that llm_metrics keeps before folding new ones into the overflow series. */
export const MAX_SERIES_PER_METRIC = 2000;
const FLUSH_INTERVAL = '15s';
export const FLUSH_INTERVAL_MS = 15_000;

export interface Placement {
  /** `taskset -c` list for the target, or undefined to leave it unpinned. */
  readonly targetCpus: string | undefined;
}

export interface RunningTarget {
  readonly kind: TargetKind;
  readonly pid: number;
  /** OTLP/HTTP traces URL of the target's receiver. */
  readonly tracesUrl: string;
  readonly configPath: string;
  /** The target's own metrics (`service.telemetry.metrics`), Prometheus text format. */
  readonly metricsUrl: string;
  readonly process: ManagedProcess;
  stop(): Promise<void>;
}

/**
 * The one pipeline both targets run, from one config file: the OTLP receiver (gRPC and HTTP, as the
 * Collector's defaults enable) → no processors → the `otlp_http` exporter to the sink, with its
 * default sending queue and retry; health_check for readiness; self-metrics at level `normal`.
 * The config is the harness's Collector config, which the llmobs processor reads as it is.
 */
export function pipelineConfig(
  sinkUrl: string,
  compression: 'none' | 'gzip',
  ports: { grpc: number; http: number; health: number; metrics: number; prometheus: number },
  pipeline: PipelineKind = 'passthrough',
  genai?: GenAiSetup,
  kind: TargetKind = 'ours',
): Record<string, unknown> {
  const otlpHttp = { otlp_http: { endpoint: sinkUrl, compression } };
  const common = { fileSink: false, selfMetrics: { level: 'normal' }, logLevel: 'info' } as const;
  if (pipeline === 'passthrough')
    return collectorConfig({ ...common, exporters: otlpHttp }, ports, undefined);
  if (pipeline === 'reencode')
    return collectorConfig(
      { ...common, processors: { llm_redaction: REENCODE_REDACTION }, exporters: otlpHttp },
      ports,
      undefined,
    );
  if (pipeline === 'redaction')
    return collectorConfig(
      {
        ...common,
        processors: kind === 'ours' ? { llm_redaction: OURS_REDACTION } : { redaction: COLLECTOR_REDACTION },
        exporters: otlpHttp,
      },
      ports,
      undefined,
    );
  if (!genai) throw new Error(`the ${pipeline} pipeline needs the GenAI setup (probeGenAi)`);
  return collectorConfig(
    {
      ...common,
      processors: genAiProcessors(genai, pipeline === 'storm'),
      exporters: { ...otlpHttp, ...metricsExporter(genai, ports.prometheus) },
      pipelines: {
        traces: { processors: ['llm_cost', 'llm_metrics'], exporters: ['otlp_http'] },
        'metrics/genai': { receivers: [], exporters: [genai.metricsExporter] },
      },
    },
    ports,
    undefined,
  );
}

/** The `processors:` section of the GenAI pipelines; `byUser` adds the storm's user.id dimension. */
export function genAiProcessors(
  genai: Pick<GenAiSetup, 'builtinCatalogue'>,
  byUser: boolean,
): Record<string, unknown> {
  return {
    llm_cost: genai.builtinCatalogue ? {} : FALLBACK_PRICES,
    llm_metrics: {
      metrics_pipelines: ['metrics/genai'],
      flush_interval: FLUSH_INTERVAL,
      ...(byUser ? { dimensions: [{ name: 'user.id' }] } : {}),
      cardinality: { max_series_per_metric: MAX_SERIES_PER_METRIC },
    },
  };
}

function metricsExporter(genai: Pick<GenAiSetup, 'metricsExporter'>, port: number): Record<string, unknown> {
  return genai.metricsExporter === 'prometheus'
    ? { prometheus: { endpoint: `127.0.0.1:${port}` } }
    : { debug: { verbosity: 'basic' } };
}

/** `processors/src/main.ts validate` on `config`: undefined when valid, else the validator's first complaint. */
function validate(dir: string, name: string, config: Record<string, unknown>): string | undefined {
  const path = join(dir, `${name}.yaml`);
  writeFileSync(path, yaml.dump(config, { noRefs: true, lineWidth: -1 }));
  try {
    execFileSync(
      process.execPath,
      [join(repoRoot, 'processors', 'src', 'main.ts'), 'validate', '--config', path],
      { stdio: 'pipe', encoding: 'utf8', timeout: 60_000 },
    );
    return undefined;
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string; message: string };
    const text = `${e.stderr ?? ''}\n${e.stdout ?? ''}`;
    const line = text
      .split('\n')
      .map((l) => l.trim())
      .find((l) => /^(Error|exporters\.|processors\.|service\.)/.test(l) || /invalid|unknown|ENOENT/.test(l));
    return line ?? e.message.split('\n')[0] ?? 'invalid';
  }
}

/**
 * What the working tree's processor accepts, asked of its own validator: whether the built-in price
 * catalogue loads (`llm_cost: {}`), and whether a `prometheus` exporter is registered. Other engineers
 * finish both while this benchmark exists, so it takes what is there and the report says which.
 */
export function probeGenAi(dir: string): GenAiSetup {
  const ports = { grpc: 1, http: 2, health: 3, metrics: 4, prometheus: 5 };
  const base = { fileSink: false, selfMetrics: { level: 'normal' }, logLevel: 'info' } as const;
  const sink = { otlp_http: { endpoint: 'http://127.0.0.1:6', compression: 'none' } };
  const notes: string[] = [];
  const catalogue = validate(
    dir,
    'probe-catalogue',
    collectorConfig({ ...base, processors: { llm_cost: {} }, exporters: sink }, ports, undefined),
  );
  if (catalogue) notes.push(`\`llm_cost: {}\` is refused (${catalogue})`);
  const genai = { builtinCatalogue: catalogue === undefined, metricsExporter: 'prometheus' } as const;
  const prometheus = validate(
    dir,
    'probe-prometheus',
    collectorConfig(
      {
        ...base,
        processors: genAiProcessors(genai, false),
        exporters: { ...sink, ...metricsExporter(genai, 7) },
        pipelines: {
          traces: { processors: ['llm_cost', 'llm_metrics'], exporters: ['otlp_http'] },
          'metrics/genai': { receivers: [], exporters: ['prometheus'] },
        },
      },
      ports,
      undefined,
    ),
  );
  if (prometheus) notes.push(`the \`prometheus\` exporter is refused (${prometheus})`);
  return {
    builtinCatalogue: genai.builtinCatalogue,
    metricsExporter: prometheus ? 'debug' : 'prometheus',
    notes,
  };
}

export interface StartTargetOptions {
  readonly kind: TargetKind;
  readonly dir: string;
  readonly name: string;
  readonly sinkUrl: string;
  readonly compression: 'none' | 'gzip';
  readonly placement: Placement;
  /** The traces pipeline; `passthrough` unless told (the only one the Collector runs). */
  readonly pipeline?: PipelineKind;
  /** Needed for the cost_metrics and storm pipelines. */
  readonly genai?: GenAiSetup;
  /** For `ours`: write a V8 CPU profile into this folder when the process exits. */
  readonly cpuProfileDir?: string;
}

export async function startTarget(o: StartTargetOptions): Promise<RunningTarget> {
  const pipeline = o.pipeline ?? 'passthrough';
  if (o.kind === 'collector' && pipeline !== 'passthrough' && pipeline !== 'redaction')
    throw new Error(`the Collector runs pass-through and redaction only, not ${pipeline}`);
  const t = await launchTarget({
    kind: o.kind,
    dir: o.dir,
    name: o.name,
    cpus: o.placement.targetCpus,
    ...(o.cpuProfileDir ? { cpuProfileDir: o.cpuProfileDir } : {}),
    config: (ports) => pipelineConfig(o.sinkUrl, o.compression, ports, pipeline, o.genai, o.kind),
  });
  return {
    kind: o.kind,
    pid: t.pid,
    tracesUrl: `http://127.0.0.1:${t.ports.http}/v1/traces`,
    configPath: t.configPath,
    metricsUrl: `http://127.0.0.1:${t.ports.metrics}/metrics`,
    process: t.process,
    stop: () => t.process.stop(20_000),
  };
}

export interface RunningSink {
  readonly pid: number;
  readonly url: string;
  stats(): Promise<SinkStats>;
  stop(): Promise<void>;
}

export async function startSink(dir: string): Promise<RunningSink> {
  const [port] = (await freePorts(1)) as [number];
  const proc = ManagedProcess.start({
    name: 'sink',
    logDir: dir,
    command: process.execPath,
    args: [join(repoRoot, 'bench', 'sink.ts'), '--port', String(port)],
  });
  const url = `http://127.0.0.1:${port}`;
  const stats = async () => {
    const res = await fetch(`${url}/stats`, { signal: AbortSignal.timeout(5_000) });
    if (!res.ok) throw new Error(`sink stats: HTTP ${res.status}`);
    return (await res.json()) as SinkStats;
  };
  await proc.waitUntil(async () => (await stats()).requests >= 0, 'the sink to listen', 15_000);
  const pid = proc.pid;
  if (pid === undefined) throw new Error('sink has no pid');
  return { pid, url, stats, stop: () => proc.stop() };
}

/** Pins this process (all its threads) to `cpus`; children started afterwards inherit it. */
export function pinSelf(cpus: string): void {
  execFileSync('taskset', ['-a', '-p', '-c', cpus, String(process.pid)], { stdio: 'ignore' });
}

/** `otelcol --version`, e.g. `otelcol version 0.159.0`. */
export async function collectorVersion(): Promise<string> {
  const bin = await goTool('otelcol');
  return execFileSync(bin, ['--version'], { encoding: 'utf8' }).trim();
}
