import { collectorConfig } from '../../test/harness/collector.ts';
import type { TargetPorts } from '../target-process.ts';
import {
  COLLECTOR_REDACTION,
  type GenAiSetup,
  genAiProcessors,
  OURS_REDACTION,
  type TargetKind,
} from '../targets.ts';

/** The four pipelines of issue #8, each run by both targets. */
export type Pipeline = 'passthrough' | 'redaction' | 'redaction_cost_metrics' | 'full';
export const PIPELINES: readonly Pipeline[] = ['passthrough', 'redaction', 'redaction_cost_metrics', 'full'];

export const PIPELINE_TITLE: Readonly<Record<Pipeline, string>> = {
  passthrough: 'pass-through',
  redaction: 'redaction only',
  redaction_cost_metrics: 'redaction + cost + metrics',
  full: 'full pipeline with sampling',
};

/** What each target runs, for the report's method table. */
export const PIPELINE_PROCESSORS: Readonly<Record<Pipeline, Readonly<Record<TargetKind, string>>>> = {
  passthrough: { ours: '(none)', collector: '(none)' },
  redaction: { ours: '`llm_redaction`', collector: '`redaction`' },
  redaction_cost_metrics: {
    ours: '`llm_redaction`, `llm_cost`, `llm_metrics`',
    collector: '`redaction`, `transform` (cost attributes; no metrics)',
  },
  full: {
    ours: '`llm_redaction`, `llm_cost`, `llm_metrics`, `llm_sampling`',
    collector: '`redaction`, `transform`, `tail_sampling`',
  },
};

/** The exporter's sending queue, bounded in bytes on both targets: the memory the RSS target is judged against. */
export const QUEUE_BYTES = 64 * 1024 * 1024;
/** llm_sampling's bound on held spans (its default); the Collector's tail_sampling bounds traces, not bytes. */
export const SAMPLING_BUFFER_BYTES = 64 * 1024 * 1024;
/** Kept share of the traces no policy keeps, on both targets. */
export const SAMPLING_PERCENTAGE = 10;
/** Both decide a trace this long after its spans arrive (a trace comes whole in one request). */
const DECISION_WAIT = '1s';
/** Large enough for the biggest request of the doubling series (64 KiB spans × 100 ≈ 7 MB). */
const MAX_BODY_MIB = 64;

/**
 * The Collector's stand-in for `llm_cost`: OTTL that writes the same attributes (gpt-4o-mini's list
 * price, USD per token) on the chat spans. There is no contrib processor that derives metrics from
 * spans without a connector, so `llm_metrics` has no counterpart.
 */
export const COLLECTOR_COST_TRANSFORM = {
  error_mode: 'ignore',
  trace_statements: [
    {
      context: 'span',
      conditions: ['attributes["gen_ai.request.model"] == "gpt-4o-mini"'],
      statements: [
        'set(attributes["gen_ai.usage.cost.amount"], Double(attributes["gen_ai.usage.input_tokens"]) * 0.00000015 + Double(attributes["gen_ai.usage.output_tokens"]) * 0.0000006)',
        'set(attributes["gen_ai.usage.cost.currency"], "USD")',
      ],
    },
  ],
};

/** tail_sampling with the policies llm_sampling runs below: errors, then the probabilistic rest. */
export const COLLECTOR_TAIL_SAMPLING = {
  decision_wait: DECISION_WAIT,
  num_traces: 50_000,
  policies: [
    { name: 'errors', type: 'status_code', status_code: { status_codes: ['ERROR'] } },
    { name: 'rest', type: 'probabilistic', probabilistic: { sampling_percentage: SAMPLING_PERCENTAGE } },
  ],
};

const OFF = { enabled: false };

/** llm_sampling with only the policies the Collector can express here switched on. */
export const OURS_SAMPLING = {
  decision_wait: DECISION_WAIT,
  root_grace: DECISION_WAIT,
  max_buffered_bytes: SAMPLING_BUFFER_BYTES,
  policies: {
    errors: { enabled: true },
    guardrail: OFF,
    validation: OFF,
    latency: OFF,
    cost: OFF,
    low_score: OFF,
    feedback: OFF,
    probabilistic: { sampling_percentage: SAMPLING_PERCENTAGE },
  },
};

export type Ports = TargetPorts;

/** Bytes the pipeline may hold by configuration: the exporter queue, plus llm_sampling's buffer. */
export function configuredBytes(kind: TargetKind, pipeline: Pipeline): number {
  return QUEUE_BYTES + (kind === 'ours' && pipeline === 'full' ? SAMPLING_BUFFER_BYTES : 0);
}

function processors(kind: TargetKind, pipeline: Pipeline, genai: GenAiSetup): Record<string, unknown> {
  if (pipeline === 'passthrough') return {};
  if (kind === 'collector') {
    if (pipeline === 'redaction') return { redaction: COLLECTOR_REDACTION };
    return {
      redaction: COLLECTOR_REDACTION,
      transform: COLLECTOR_COST_TRANSFORM,
      ...(pipeline === 'full' ? { tail_sampling: COLLECTOR_TAIL_SAMPLING } : {}),
    };
  }
  if (pipeline === 'redaction') return { llm_redaction: OURS_REDACTION };
  return {
    llm_redaction: OURS_REDACTION,
    ...genAiProcessors(genai, false),
    ...(pipeline === 'full' ? { llm_sampling: OURS_SAMPLING } : {}),
  };
}

/** The config file of `kind` running `pipeline`: OTLP in (HTTP and gRPC), the processors, OTLP/HTTP out to the sink. */
export function pipelineConfig(
  kind: TargetKind,
  pipeline: Pipeline,
  sinkUrl: string,
  ports: Ports,
  genai: GenAiSetup,
): Record<string, unknown> {
  const queue = kind === 'ours' ? { queue_size: QUEUE_BYTES } : { sizer: 'bytes', queue_size: QUEUE_BYTES };
  const otlpHttp = { otlp_http: { endpoint: sinkUrl, compression: 'none', sending_queue: queue } };
  const procs = processors(kind, pipeline, genai);
  const withMetrics = kind === 'ours' && (pipeline === 'redaction_cost_metrics' || pipeline === 'full');
  const metricsExporter =
    genai.metricsExporter === 'prometheus'
      ? { prometheus: { endpoint: `127.0.0.1:${ports.prometheus}` } }
      : { debug: { verbosity: 'basic' } };
  const config = collectorConfig(
    {
      fileSink: false,
      selfMetrics: { level: 'normal' },
      logLevel: 'info',
      processors: procs,
      exporters: withMetrics ? { ...otlpHttp, ...metricsExporter } : otlpHttp,
      ...(withMetrics
        ? {
            pipelines: {
              traces: { processors: Object.keys(procs), exporters: ['otlp_http'] },
              'metrics/genai': { receivers: [], exporters: [genai.metricsExporter] },
            },
          }
        : {}),
    },
    ports,
    undefined,
  );
  const protocols = (config.receivers as { otlp: { protocols: Record<string, Record<string, unknown>> } })
    .otlp.protocols;
  protocols.grpc = { ...protocols.grpc, max_recv_msg_size_mib: MAX_BODY_MIB };
  protocols.http = { ...protocols.http, max_request_body_size: MAX_BODY_MIB * 1024 * 1024 };
  return config;
}
