// The namespace gateway of `make demo`: the processor config the operator rendered into the gateway's
// ConfigMap, run as a local process with this machine's addresses in place of the cluster's.
import { CoreV1Api } from '@kubernetes/client-node';
import * as yaml from 'js-yaml';
import type { ControlPlane } from '../control-plane.ts';
import type { Jaeger } from '../jaeger.ts';
import { port, type RunningProcessor, startProcessor } from '../llmobs-processor.ts';
import { NAMESPACE, RESOURCE } from './apps.ts';

/** The gateway's Deployment, Service and ConfigMap (operator/src/manifests/gateway.ts). */
export const GATEWAY = `llmobs-processor-${RESOURCE}`;

interface RenderedConfig {
  receivers?: { otlp?: { protocols?: Record<string, { endpoint?: string }> } };
  extensions?: { health_check?: { endpoint?: string } };
  exporters?: Record<string, Record<string, unknown>>;
  processors?: Record<string, Record<string, unknown>>;
  service?: { telemetry?: { metrics?: { address?: string } } };
}

export interface Gateway {
  readonly processor: RunningProcessor;
  /** Where the derived GenAI metrics are served for Prometheus (the gateway's port 8889 in the cluster). */
  readonly genaiMetricsUrl: string | undefined;
  /** The rendered config's exporters and what each was pointed at here. */
  readonly exporters: readonly { readonly id: string; readonly cluster: string; readonly local: string }[];
}

/**
 * Reads the rendered config from the gateway's ConfigMap and runs it: every listener on a free loopback
 * port, every OTLP exporter at the local Jaeger (the resource names Jaeger's in-cluster Service), and the
 * derived metrics flushed every second instead of every 15 s so the demo need not wait.
 */
export async function startGateway(cp: ControlPlane, jaeger: Jaeger): Promise<Gateway> {
  const cm = await cp
    .kubeConfig()
    .makeApiClient(CoreV1Api)
    .readNamespacedConfigMap({ namespace: NAMESPACE, name: GATEWAY });
  const config = yaml.load(cm.data?.['config.yaml'] ?? '') as RenderedConfig;
  if (!config?.receivers?.otlp)
    throw new Error(`ConfigMap ${NAMESPACE}/${GATEWAY} holds no processor config`);
  config.receivers.otlp.protocols = {
    http: { endpoint: `127.0.0.1:${port('http')}` },
    grpc: { endpoint: `127.0.0.1:${port('grpc')}` },
  };
  config.extensions = { ...config.extensions, health_check: { endpoint: `127.0.0.1:${port('health')}` } };
  config.service = { ...config.service, telemetry: { metrics: { address: `127.0.0.1:${port('metrics')}` } } };
  const clusterEndpoints: [string, string][] = [];
  for (const [id, e] of Object.entries(config.exporters ?? {})) {
    const cluster = String(e.endpoint ?? '');
    if (id.startsWith('otlp_http/')) e.endpoint = jaeger.otlpHttpEndpoint;
    else if (id.startsWith('otlp_grpc/')) {
      e.endpoint = jaeger.otlpGrpcEndpoint;
      e.tls = { insecure: true };
    } else if (id === 'prometheus') e.endpoint = `127.0.0.1:${port('prom')}`;
    else continue;
    clusterEndpoints.push([id, cluster]);
  }
  const metrics = config.processors?.llm_metrics;
  if (metrics) metrics.flush_interval = '1s';
  // Nothing a demo sends is worth a long drain on the way out (Ctrl-C stops Jaeger at the same moment).
  const processor = await startProcessor({ config: yaml.dump(config), name: GATEWAY, shutdownTimeout: '2s' });
  const prom = processor.ports.prom;
  const running = (yaml.load(processor.configText) as RenderedConfig).exporters ?? {};
  const exporters = clusterEndpoints.map(([id, cluster]) => ({
    id,
    cluster,
    local: String(running[id]?.endpoint ?? ''),
  }));
  return {
    processor,
    genaiMetricsUrl: prom === undefined ? undefined : `http://127.0.0.1:${prom}/metrics`,
    exporters,
  };
}
