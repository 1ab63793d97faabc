import type { ManagedProcess } from '../../test/harness/process.ts';
import { parseExposition, sumSamples } from '../../test/harness/prometheus.ts';
import { launchTarget } from '../target-process.ts';
import type { GenAiSetup, TargetKind } from '../targets.ts';
import { type Pipeline, pipelineConfig } from './configs.ts';

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
  const t = await launchTarget({
    kind: o.kind,
    dir: o.dir,
    name: o.name,
    cpus: o.cpus,
    ...(o.cpuProfileDir ? { cpuProfileDir: o.cpuProfileDir } : {}),
    config: (ports) => pipelineConfig(o.kind, o.pipeline, o.sinkUrl, ports, o.genai),
  });
  const metricsUrl = `http://127.0.0.1:${t.ports.metrics}/metrics`;
  return {
    kind: o.kind,
    pipeline: o.pipeline,
    pid: t.pid,
    tracesUrl: `http://127.0.0.1:${t.ports.http}/v1/traces`,
    grpcTarget: `127.0.0.1:${t.ports.grpc}`,
    metricsUrl,
    configPath: t.configPath,
    process: t.process,
    settle: () =>
      o.pipeline === 'full' ? settle(o.kind, metricsUrl) : Promise.resolve({ settled: true, sampledOut: 0 }),
    stop: () => t.process.stop(20_000),
  };
}
