import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as yaml from 'js-yaml';
import { repoRoot } from '../test/harness/cache.ts';
import { collectorConfig } from '../test/harness/collector.ts';
import { freePorts } from '../test/harness/ports.ts';
import { httpOk, ManagedProcess } from '../test/harness/process.ts';
import { goTool } from '../test/harness/tools.ts';
import { processName } from './proc-stats.ts';

/** The two processes compared; `ours` is the llmobs processor, `collector` the reference Collector. */
export type TargetKind = 'ours' | 'collector';

export const TARGET_LABEL: Readonly<Record<TargetKind, string>> = {
  ours: 'llmobs processor',
  collector: 'OpenTelemetry Collector',
};

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
  ports: { grpc: number; http: number; health: number; metrics: number },
): Record<string, unknown> {
  return collectorConfig(
    {
      fileSink: false,
      exporters: { otlp_http: { endpoint: sinkUrl, compression } },
      selfMetrics: { level: 'normal' },
      logLevel: 'info',
    },
    ports,
    undefined,
  );
}

export interface StartTargetOptions {
  readonly kind: TargetKind;
  readonly dir: string;
  readonly name: string;
  readonly sinkUrl: string;
  readonly compression: 'none' | 'gzip';
  readonly placement: Placement;
  /** For `ours`: write a V8 CPU profile into this folder when the process exits. */
  readonly cpuProfileDir?: string;
}

export async function startTarget(o: StartTargetOptions): Promise<RunningTarget> {
  const otelcol = o.kind === 'collector' ? await goTool('otelcol') : undefined;
  for (let attempt = 1; ; attempt++) {
    const [grpc, http, health, metrics] = (await freePorts(4)) as [number, number, number, number];
    const configPath = join(o.dir, `${o.name}.yaml`);
    writeFileSync(
      configPath,
      yaml.dump(pipelineConfig(o.sinkUrl, o.compression, { grpc, http, health, metrics }), {
        noRefs: true,
        lineWidth: -1,
      }),
    );
    const command = otelcol
      ? [otelcol, `--config=${configPath}`]
      : [
          process.execPath,
          ...(o.cpuProfileDir ? ['--cpu-prof', `--cpu-prof-dir=${o.cpuProfileDir}`] : []),
          join(repoRoot, 'processors', 'src', 'main.ts'),
          '--config',
          configPath,
          '--no-watch',
        ];
    // taskset execs its command, so the child's pid is the target's own (checked below).
    const [cmd, ...args] = o.placement.targetCpus
      ? ['taskset', '-c', o.placement.targetCpus, ...command]
      : command;
    const proc = ManagedProcess.start({ name: o.name, logDir: o.dir, command: cmd as string, args });
    try {
      await proc.waitUntil(
        () => httpOk(`http://127.0.0.1:${health}/`),
        'health_check to report ready',
        30_000,
      );
    } catch (err) {
      await proc.stop();
      if (attempt < 3 && /address already in use|EADDRINUSE/.test(proc.tail(20))) continue;
      throw err;
    }
    const pid = proc.pid;
    if (pid === undefined) throw new Error(`${o.name} has no pid`);
    const comm = processName(pid);
    if (comm === 'taskset') throw new Error(`${o.name}: taskset did not exec its command`);
    return {
      kind: o.kind,
      pid,
      tracesUrl: `http://127.0.0.1:${http}/v1/traces`,
      configPath,
      process: proc,
      stop: () => proc.stop(20_000),
    };
  }
}

export interface RunningSink {
  readonly pid: number;
  readonly url: string;
  stats(): Promise<{ requests: number; spans: number; bytes: number; malformed: number }>;
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
    return (await res.json()) as { requests: number; spans: number; bytes: number; malformed: number };
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
