import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as yaml from 'js-yaml';
import { repoRoot } from '../../test/harness/cache.ts';
import { freePorts } from '../../test/harness/ports.ts';
import { httpOk, ManagedProcess } from '../../test/harness/process.ts';
import { parseExposition, sumSamples } from '../../test/harness/prometheus.ts';
import { goTool } from '../../test/harness/tools.ts';
import { processName } from '../proc-stats.ts';
import type { GenAiSetup, TargetKind } from '../targets.ts';
import { type Pipeline, type Ports, pipelineConfig } from './configs.ts';

export interface PipelineTarget {
  readonly kind: TargetKind;
  readonly pipeline: Pipeline;
  readonly pid: number;
  /** OTLP/HTTP traces URL. */
  readonly tracesUrl: string;
  /** OTLP/gRPC `host:port`. */
  readonly grpcTarget: string;
  readonly metricsUrl: string;
  readonly configPath: string;
  readonly process: ManagedProcess;
  /** Spans the pipeline decided not to keep so far (tail sampling) and whether it holds any undecided. */
  settle(): Promise<Settle>;
  stop(): Promise<void>;
}

export interface StartOptions {
  readonly kind: TargetKind;
  readonly pipeline: Pipeline;
  readonly dir: string;
  readonly name: string;
  readonly sinkUrl: string;
  readonly genai: GenAiSetup;
  /** `taskset -c` list, or undefined to leave the target unpinned. */
  readonly cpus: string | undefined;
  /** For `ours`: write a V8 CPU profile into this folder when the process exits. */
  readonly cpuProfileDir?: string;
}

/** Where a target's sampling stands: whether it holds nothing undecided or unexported, and spans it dropped by decision. */
export interface Settle {
  readonly settled: boolean;
  readonly sampledOut: number;
}

/**
 * Read from each target's own metrics. llm_sampling: `llmobs_sampling_spans_total{decision="drop"}`,
 * settled when `llmobs_sampling_buffered_traces` is 0. tail_sampling counts traces, not spans, so its
 * spans sampled out are the spans that entered it (the `transform` processor's outgoing items) minus
 * those its exporter took (sent, failed, refused by the queue); settled when every trace received has
 * a decision (`global_count_traces_sampled` = `new_trace_id_received`) and the exporter queue is empty.
 */
async function settle(kind: TargetKind, metricsUrl: string): Promise<Settle> {
  const res = await fetch(metricsUrl, { signal: AbortSignal.timeout(5_000) });
  const samples = parseExposition(await res.text());
  const sum = (name: string, labels: Record<string, string> = {}) =>
    sumSamples(samples, `${name}_total`, labels) ?? sumSamples(samples, name, labels) ?? 0;
  if (kind === 'ours')
    return {
      settled: sum('llmobs_sampling_buffered_traces') === 0,
      sampledOut: sum('llmobs_sampling_spans_total', { decision: 'drop' }),
    };
  const exporter = { exporter: 'otlp_http' };
  const taken =
    sum('otelcol_exporter_sent_spans', exporter) +
    sum('otelcol_exporter_send_failed_spans', exporter) +
    sum('otelcol_exporter_enqueue_failed_spans', exporter);
  const decided = sum('otelcol_processor_tail_sampling_global_count_traces_sampled');
  const received = sum('otelcol_processor_tail_sampling_new_trace_id_received');
  return {
    settled: decided === received && sum('otelcol_exporter_queue_size', exporter) === 0,
    sampledOut:
      sum('otelcol_processor_outgoing_items', { processor: 'transform', otel_signal: 'traces' }) - taken,
  };
}

export async function startPipelineTarget(o: StartOptions): Promise<PipelineTarget> {
  const otelcol = o.kind === 'collector' ? await goTool('otelcol') : undefined;
  for (let attempt = 1; ; attempt++) {
    const [grpc, http, health, metrics, prometheus] = (await freePorts(5)) as [
      number,
      number,
      number,
      number,
      number,
    ];
    const ports: Ports = { grpc, http, health, metrics, prometheus };
    const configPath = join(o.dir, `${o.name}.yaml`);
    const config = pipelineConfig(o.kind, o.pipeline, o.sinkUrl, ports, o.genai);
    writeFileSync(configPath, yaml.dump(config, { noRefs: true, lineWidth: -1 }));
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
    const [cmd, ...args] = o.cpus ? ['taskset', '-c', o.cpus, ...command] : command;
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
    if (processName(pid) === 'taskset') throw new Error(`${o.name}: taskset did not exec its command`);
    const metricsUrl = `http://127.0.0.1:${metrics}/metrics`;
    return {
      kind: o.kind,
      pipeline: o.pipeline,
      pid,
      tracesUrl: `http://127.0.0.1:${http}/v1/traces`,
      grpcTarget: `127.0.0.1:${grpc}`,
      metricsUrl,
      configPath,
      process: proc,
      settle: () =>
        o.pipeline === 'full'
          ? settle(o.kind, metricsUrl)
          : Promise.resolve({ settled: true, sampledOut: 0 }),
      stop: () => proc.stop(20_000),
    };
  }
}
