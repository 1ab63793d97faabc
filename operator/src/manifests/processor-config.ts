import type {
  ConfigMapKeyRef,
  EffectiveCardinality,
  EffectiveConfig,
  EffectiveCost,
  EffectiveEvaluation,
  EffectiveExporter,
  EffectiveMetrics,
  EffectiveTailSampling,
  PriceSpec,
  Signal,
} from './effective.ts';

/** An environment variable the processor container gets from a Secret, referenced from its config. */
export interface SecretEnv {
  readonly name: string;
  readonly secretName: string;
  readonly key: string;
}

export interface RenderedProcessorConfig {
  /** The Collector-shaped config (receivers / processors / exporters / service). */
  readonly config: Record<string, unknown>;
  /** Secret-backed variables the config refers to as ${env:NAME}; values never enter the ConfigMap. */
  readonly secretEnv: readonly SecretEnv[];
  /** The price catalogue ConfigMap the config reads at CATALOGUE_FILE (gateway mode); the gateway mounts it. */
  readonly catalogue?: ConfigMapKeyRef;
  /** Whether the config serves the span-derived metrics for Prometheus on PROCESSOR_PORTS.genaiMetrics. */
  readonly prometheus: boolean;
  /** Whether the config serves the llm_feedback receiver on PROCESSOR_PORTS.feedback. */
  readonly feedback: boolean;
}

/**
 * 8888 is the processor's own telemetry; 8889 (the Collector prometheus exporter's default) serves the
 * GenAI metrics derived from spans.
 */
export const PROCESSOR_PORTS = {
  grpc: 4317,
  http: 4318,
  metrics: 8888,
  genaiMetrics: 8889,
  health: 13133,
  feedback: 4320,
} as const;

/** The environment variable the processor reads the judge's API key from (spec.quality.evaluation.judge.apiKeySecretRef). */
export const JUDGE_API_KEY_ENV = 'LLMOBS_JUDGE_API_KEY';

/** The receiver-less metrics pipeline llm_metrics feeds with the metrics it derives from spans. */
export const GENAI_METRICS_PIPELINE = 'metrics/genai';

/** Where the gateway mounts its HMAC key Secret (redaction action `hash`). */
export const HMAC_KEY_DIR = '/etc/llmobs/hmac';
export const HMAC_KEY_FILE = `${HMAC_KEY_DIR}/key`;

/** Where the gateway mounts the key of spec.cost.catalogueConfigMap, whatever the key is called. */
export const CATALOGUE_DIR = '/etc/llmobs/catalogue';
export const CATALOGUE_FILE_NAME = 'catalogue.yaml';
export const CATALOGUE_FILE = `${CATALOGUE_DIR}/${CATALOGUE_FILE_NAME}`;

function envName(exporter: string, header: string): string {
  return `LLMOBS_${exporter}_${header}`.toUpperCase().replace(/[^A-Z0-9_]/g, '_');
}

/** A string from the resource, safe from the processor's `${env:VAR}` expansion (`$$` is a literal `$`). */
function literal(text: string): string {
  // A replacer function: in a replacement string, `$$` itself means one `$`.
  return text.replaceAll('$', () => '$$');
}

/** `name`, or `name_2`, `name_3`, ... when another Secret key already uses it. */
function uniqueEnvName(name: string, taken: ReadonlySet<string>): string {
  let candidate = name;
  for (let i = 2; taken.has(candidate); i++) candidate = `${name}_${i}`;
  return candidate;
}

/** Durations as the CRD spells them (Go syntax: 1m30s, 2.5s, 500ms) → milliseconds. */
function durationMs(text: string): number {
  const unit: Readonly<Record<string, number>> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
  let total = 0;
  for (const m of text.matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h)/g))
    total += Number(m[1]) * (unit[m[2] ?? ''] ?? 0);
  return total;
}

/** llm_sampling's own root_grace default: a trace is decided this long after its root span at the latest. */
const ROOT_GRACE = '5s';

function renderTailSampling(t: EffectiveTailSampling): Record<string, unknown> {
  return {
    decision_wait: t.decisionWait,
    // llm_sampling refuses a root_grace longer than decision_wait; a shorter wait caps the grace too.
    ...(durationMs(t.decisionWait) < durationMs(ROOT_GRACE) ? { root_grace: t.decisionWait } : {}),
    // Only what the resource sets; errors, guardrail, validation, low_score and feedback keep their defaults.
    policies: {
      latency: { threshold: t.latencyThreshold },
      cost: { threshold: t.costThreshold },
      probabilistic: { sampling_percentage: t.keepPercentage },
    },
  };
}

function renderEvaluation(
  ev: Extract<EffectiveEvaluation, { enabled: true }>,
  apiKeyEnv: string | undefined,
  metrics: boolean,
): Record<string, unknown> {
  const j = ev.judge;
  return {
    judge: {
      endpoint: literal(j.endpoint),
      model: literal(j.model),
      ...(apiKeyEnv ? { api_key: `\${env:${apiKeyEnv}}` } : {}),
      ...(j.timeout !== undefined ? { timeout: j.timeout } : {}),
      ...(ev.judgePrice ? { price: { input: ev.judgePrice.input, output: ev.judgePrice.output } } : {}),
    },
    rubrics: ev.rubrics.map((r) => ({
      name: r.name,
      question: literal(r.question),
      needs_documents: r.needsDocuments ?? false,
    })),
    sampling_percentage: ev.samplingPercentage,
    budget: {
      max_requests_per_minute: ev.maxRequestsPerMinute,
      ...(ev.maxCostPerHour !== undefined ? { max_cost_per_hour: ev.maxCostPerHour } : {}),
    },
    // Verdict counts and the judge's cost join the derived metrics (and their cardinality bounds).
    ...(metrics ? { metrics_pipelines: [GENAI_METRICS_PIPELINE] } : {}),
  };
}

function exporterId(e: EffectiveExporter): string {
  return `${(e.protocol ?? 'http/protobuf') === 'grpc' ? 'otlp_grpc' : 'otlp_http'}/${e.name}`;
}

/** CR price fields (per million tokens, or per hour) → llm_cost price keys. */
const PRICE_KEYS = [
  ['inputPerMillion', 'input'],
  ['outputPerMillion', 'output'],
  ['cacheReadPerMillion', 'cache_read'],
  ['cacheWritePerMillion', 'cache_write_5m'],
  ['cacheWrite1hPerMillion', 'cache_write_1h'],
  ['reasoningPerMillion', 'reasoning'],
  ['perHour', 'per_hour'],
] as const satisfies readonly (readonly [keyof PriceSpec, string])[];

function renderPrice(p: PriceSpec): Record<string, unknown> {
  const out: Record<string, unknown> = { model: p.model };
  // The processor wants a provider name or none; an empty one means "any provider" in the CRD.
  if (p.provider) out.provider = p.provider;
  if (p.aliases && p.aliases.length > 0) out.aliases = [...p.aliases];
  for (const [from, to] of PRICE_KEYS) if (p[from] !== undefined) out[to] = p[from];
  return out;
}

function renderCost(cost: EffectiveCost, catalogueFile: string | undefined): Record<string, unknown> {
  return {
    currency: cost.currency,
    // The built-in catalogue is in USD; the processor refuses it next to any other currency, and
    // converting would invent exchange rates. Non-USD prices come from prices and the catalogue file.
    builtin_catalogue: cost.currency === 'USD',
    ...(catalogueFile ? { catalogue_files: [catalogueFile] } : {}),
    ...(cost.prices.length > 0 ? { prices: cost.prices.map(renderPrice) } : {}),
    ...(cost.modelAliases.length > 0
      ? { model_aliases: Object.fromEntries(cost.modelAliases.map((a) => [a.from, a.to])) }
      : {}),
  };
}

function valueCaps(c: EffectiveCardinality): Record<string, unknown> {
  return c.attributeValueCaps.length > 0
    ? { attribute_value_caps: c.attributeValueCaps.map((v) => ({ key: v.key, max_values: v.maxValues })) }
    : {};
}

function renderCardinality(c: EffectiveCardinality): Record<string, unknown> {
  return {
    max_series_per_metric: c.maxSeriesPerMetric,
    ...valueCaps(c),
    ...(c.excludeAttributes.length > 0 ? { exclude_attributes: [...c.excludeAttributes] } : {}),
  };
}

function renderMetrics(m: EffectiveMetrics, c: EffectiveCardinality): Record<string, unknown> {
  return {
    metrics_pipelines: [GENAI_METRICS_PIPELINE],
    ...(m.dimensions.length > 0
      ? {
          dimensions: m.dimensions.map((d) => ({
            name: d.name,
            ...(d.default !== undefined ? { default: d.default } : {}),
          })),
        }
      : {}),
    // The same bounds at the source: they hold the aggregator's memory, before cardinality_limit
    // bounds what leaves the pipeline.
    cardinality: { max_series_per_metric: c.maxSeriesPerMetric, ...valueCaps(c) },
  };
}

/**
 * Renders the processor configuration for one resource. Gateways listen on all interfaces (they are
 * reached through a Service); sidecars listen on localhost only, so nothing outside the pod can send
 * them data and raw prompts never leave it.
 */
export function renderProcessorConfig(
  eff: EffectiveConfig,
  opts: { readonly memoryLimitMib: number },
): RenderedProcessorConfig {
  const host = eff.mode === 'sidecar' ? '127.0.0.1' : '0.0.0.0';
  const secretEnv: SecretEnv[] = [];
  const evaluation = eff.quality.evaluation;
  const judgeKey = evaluation.enabled ? evaluation.judge.apiKeySecretRef : undefined;
  // The judge's variable keeps its documented name; an exporter header that would collide moves aside.
  const taken = new Set<string>(judgeKey ? [JUDGE_API_KEY_ENV] : []);
  const exporters: Record<string, unknown> = {};
  for (const e of eff.exporters) {
    const headers: Record<string, string> = {};
    for (const h of e.headers ?? []) {
      if (h.secretKeyRef) {
        const name = uniqueEnvName(envName(e.name, h.name), taken);
        taken.add(name);
        secretEnv.push({ name, secretName: h.secretKeyRef.name, key: h.secretKeyRef.key });
        headers[h.name] = `\${env:${name}}`;
      } else {
        // A literal `$` must not be read as an env reference by the processor.
        headers[h.name] = literal(h.value ?? '');
      }
    }
    const id = exporterId(e);
    exporters[id] = id.startsWith('otlp_grpc')
      ? { endpoint: e.endpoint, tls: { insecure: e.insecure ?? false }, headers }
      : { endpoint: e.endpoint, headers };
  }
  // An LLMObservability with no usable exporter (every one refused by a policy) still gets a processor
  // that accepts every signal and logs it, so pods are never pointed at something that refuses them;
  // status says why nothing is exported. Otherwise each pipeline goes to the exporters that take its
  // signal: a backend that takes traces only (Jaeger, Tempo) would answer metrics and logs with 404.
  const noExporter = eff.exporters.length === 0;
  const debug = (): string[] => {
    exporters.debug = { verbosity: 'basic' };
    return ['debug'];
  };
  const exportersOf = (signal: Signal): string[] =>
    noExporter ? debug() : eff.exporters.filter((e) => e.signals.includes(signal)).map(exporterId);
  // Traces always have a pipeline (redaction, cost and derived metrics live there): logged when no
  // exporter takes them. Metrics and logs no exporter takes have none: the receiver refuses them.
  const traceExporters = exportersOf('traces');
  if (traceExporters.length === 0) traceExporters.push(...debug());
  const metricExporters = exportersOf('metrics');
  const logExporters = exportersOf('logs');
  // Derived metrics go to the exporters that take metrics and to Prometheus; with neither, llm_metrics
  // would compute what nothing reads, so it is left out (and verdict counts with it).
  const prometheus = eff.metrics.enabled && eff.metrics.prometheus;
  const genaiExporters = [...metricExporters, ...(prometheus ? ['prometheus'] : [])];
  const derived = eff.metrics.enabled && genaiExporters.length > 0;
  // Redaction runs whatever the capture level: prompts also leak through errors, tool results and logs.
  // `hash` needs the key Secret only gateways mount; sidecars mask instead (status says so).
  const action = eff.redactionAction === 'hash' && eff.mode === 'gateway' ? 'hash' : 'mask';
  const redaction: Record<string, unknown> = {
    entities: [...eff.redactionEntities],
    action,
    ...(eff.customPatterns.length > 0
      ? { custom_patterns: eff.customPatterns.map((p) => ({ name: p.name, regex: p.regex })) }
      : {}),
    ...(action === 'hash' ? { hmac: { key_file: HMAC_KEY_FILE } } : {}),
  };
  const processors: Record<string, unknown> = {
    memory_limiter: {
      check_interval: '1s',
      limit_mib: opts.memoryLimitMib,
      spike_limit_mib: Math.max(1, Math.floor(opts.memoryLimitMib / 5)),
    },
    llm_redaction: redaction,
  };
  const front = ['memory_limiter', 'llm_redaction'];
  const traceProcessors = [...front];
  const metricProcessors = [...front];

  // Only a gateway mounts the catalogue ConfigMap (the CRD refuses it in sidecar mode).
  const catalogue = eff.cost.enabled && eff.mode === 'gateway' ? eff.cost.catalogueConfigMap : undefined;
  if (eff.cost.enabled) {
    processors.llm_cost = renderCost(eff.cost, catalogue ? CATALOGUE_FILE : undefined);
    traceProcessors.push('llm_cost');
  }
  const card = eff.cardinality;
  // Only where a metrics pipeline uses it.
  const limit = card.enabled && (metricExporters.length > 0 || derived);
  if (limit) {
    processors.cardinality_limit = renderCardinality(card);
    metricProcessors.push('cardinality_limit');
  }
  const traceReceivers = ['otlp'];
  if (eff.quality.feedback) traceReceivers.push('llm_feedback');
  const pipelines: Record<string, unknown> = {
    traces: { receivers: traceReceivers, processors: traceProcessors, exporters: traceExporters },
  };
  if (metricExporters.length > 0) {
    pipelines.metrics = { receivers: ['otlp'], processors: metricProcessors, exporters: metricExporters };
  }
  if (logExporters.length > 0) {
    pipelines.logs = { receivers: ['otlp'], processors: [...front], exporters: logExporters };
  }
  if (derived) {
    // After llm_cost, so the derived metrics carry cost; it passes spans on unchanged.
    processors.llm_metrics = renderMetrics(eff.metrics, card);
    traceProcessors.push('llm_metrics');
    if (prometheus) {
      // On 0.0.0.0 in sidecar mode too, like the self-telemetry on 8888: these are counts, durations
      // and costs per model and configured dimension, never prompt content, and Prometheus scrapes
      // them on the pod IP.
      exporters.prometheus = {
        endpoint: `0.0.0.0:${PROCESSOR_PORTS.genaiMetrics}`,
        // A gateway serves every service of the namespace: keep service.name, k8s.namespace.name, ...
        // (the few resource attributes llm_metrics keeps) as labels rather than only in target_info.
        resource_to_telemetry_conversion: { enabled: true },
      };
    }
    // Fed by llm_metrics only (no receiver), so application metrics never reach the Prometheus endpoint.
    pipelines[GENAI_METRICS_PIPELINE] = {
      receivers: [],
      processors: limit ? ['cardinality_limit'] : [],
      exporters: genaiExporters,
    };
  }
  if (evaluation.enabled) {
    // After redaction (the judge reads redacted content) and before llm_sampling, so a failed verdict
    // can keep its trace; verdict spans go down the rest of the pipeline.
    if (judgeKey) {
      secretEnv.push({ name: JUDGE_API_KEY_ENV, secretName: judgeKey.name, key: judgeKey.key });
    }
    processors.llm_evaluation = renderEvaluation(
      evaluation,
      judgeKey ? JUDGE_API_KEY_ENV : undefined,
      derived,
    );
    traceProcessors.push('llm_evaluation');
  }
  if (eff.quality.tailSampling.enabled) {
    // Last: after llm_cost (the cost policy sees prices), llm_metrics (metrics count every span) and
    // llm_evaluation (verdicts arriving within the decision window keep their trace).
    processors.llm_sampling = renderTailSampling(eff.quality.tailSampling);
    traceProcessors.push('llm_sampling');
  }
  return {
    config: {
      // Health and metrics carry no telemetry data and must answer the kubelet and Prometheus on the pod IP.
      extensions: { health_check: { endpoint: `0.0.0.0:${PROCESSOR_PORTS.health}` } },
      receivers: {
        otlp: {
          protocols: {
            grpc: { endpoint: `${host}:${PROCESSOR_PORTS.grpc}` },
            http: { endpoint: `${host}:${PROCESSOR_PORTS.http}` },
          },
        },
        // Feedback names a trace by id: like OTLP, on localhost only in a sidecar.
        ...(eff.quality.feedback
          ? { llm_feedback: { endpoint: `${host}:${PROCESSOR_PORTS.feedback}` } }
          : {}),
      },
      processors,
      exporters,
      service: {
        extensions: ['health_check'],
        telemetry: { metrics: { address: `0.0.0.0:${PROCESSOR_PORTS.metrics}` } },
        pipelines,
      },
    },
    secretEnv,
    ...(catalogue ? { catalogue } : {}),
    prometheus,
    feedback: eff.quality.feedback,
  };
}
