import type { EffectiveConfig, ExporterSpec } from './effective.ts';

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
}

export const PROCESSOR_PORTS = { grpc: 4317, http: 4318, metrics: 8888, health: 13133 } as const;

/** Where the gateway mounts its HMAC key Secret (redaction action `hash`). */
export const HMAC_KEY_DIR = '/etc/llmobs/hmac';
export const HMAC_KEY_FILE = `${HMAC_KEY_DIR}/key`;

function envName(exporter: string, header: string): string {
  return `LLMOBS_${exporter}_${header}`.toUpperCase().replace(/[^A-Z0-9_]/g, '_');
}

function exporterId(e: ExporterSpec): string {
  return `${(e.protocol ?? 'http/protobuf') === 'grpc' ? 'otlp_grpc' : 'otlp_http'}/${e.name}`;
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
  const exporters: Record<string, unknown> = {};
  for (const e of eff.exporters) {
    const headers: Record<string, string> = {};
    for (const h of e.headers ?? []) {
      if (h.secretKeyRef) {
        const name = envName(e.name, h.name);
        secretEnv.push({ name, secretName: h.secretKeyRef.name, key: h.secretKeyRef.key });
        headers[h.name] = `\${env:${name}}`;
      } else {
        // A literal `$` must not be read as an env reference by the processor.
        headers[h.name] = (h.value ?? '').replaceAll('$', '$$');
      }
    }
    const id = exporterId(e);
    exporters[id] = id.startsWith('otlp_grpc')
      ? { endpoint: e.endpoint, tls: { insecure: e.insecure ?? false }, headers }
      : { endpoint: e.endpoint, headers };
  }
  const exporterIds = Object.keys(exporters);
  // An LLMObservability with no usable exporter still gets a processor that accepts and logs, so pods
  // are never pointed at something that refuses them; status says why nothing is exported.
  if (exporterIds.length === 0) {
    exporters.debug = { verbosity: 'basic' };
    exporterIds.push('debug');
  }
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
  const processors = ['memory_limiter', 'llm_redaction'];
  const pipeline = { receivers: ['otlp'], processors, exporters: exporterIds };
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
      },
      processors: {
        memory_limiter: {
          check_interval: '1s',
          limit_mib: opts.memoryLimitMib,
          spike_limit_mib: Math.max(1, Math.floor(opts.memoryLimitMib / 5)),
        },
        llm_redaction: redaction,
      },
      exporters,
      service: {
        extensions: ['health_check'],
        telemetry: { metrics: { address: `0.0.0.0:${PROCESSOR_PORTS.metrics}` } },
        pipelines: { traces: pipeline, metrics: pipeline, logs: pipeline },
      },
    },
    secretEnv,
  };
}
