import type {
  V1ConfigMap,
  V1Deployment,
  V1EnvVar,
  V1OwnerReference,
  V1ResourceRequirements,
  V1Secret,
  V1Service,
} from '@kubernetes/client-node';
import * as yaml from 'js-yaml';
import { ANNOTATION, API_VERSION, KIND } from '../api/v1alpha1/constants.ts';
import type { RenderedProcessorConfig } from './processor-config.ts';
import { CATALOGUE_DIR, CATALOGUE_FILE_NAME, HMAC_KEY_DIR, PROCESSOR_PORTS } from './processor-config.ts';
import type { LLMObservability } from './resources.ts';
import { processorPodSecurityContext, processorSecurityContext } from './security.ts';

export const CONFIG_FILE = 'config.yaml';
export const CONFIG_DIR = '/etc/llmobs';
/** Port name (≤ 15 characters) of the span-derived metrics Prometheus scrapes; 8888 `metrics` is self-telemetry. */
export const GENAI_METRICS_PORT_NAME = 'genai-metrics';
/** Port name of the llm_feedback receiver (spec.quality.feedback). */
export const FEEDBACK_PORT_NAME = 'feedback';

export interface GatewayParams {
  readonly owner: LLMObservability;
  readonly rendered: RenderedProcessorConfig;
  readonly configHash: string;
  readonly image: string;
  readonly replicas: number;
  readonly resources?: V1ResourceRequirements;
  /** Secret with the redaction HMAC key (action hash), mounted at HMAC_KEY_DIR. */
  readonly hmacSecretName?: string;
}

/** Name shared by the gateway's ConfigMap, Deployment and Service. */
export function gatewayName(owner: LLMObservability): string {
  return `llmobs-processor-${owner.metadata.name}`.slice(0, 63).replace(/-+$/, '');
}

/** Where instrumented pods of this resource send OTLP/HTTP in gateway mode. */
export function gatewayEndpoint(owner: LLMObservability): string {
  return `http://${gatewayName(owner)}.${owner.metadata.namespace}.svc:${PROCESSOR_PORTS.http}`;
}

/** Where applications post user feedback in gateway mode (spec.quality.feedback). */
export function gatewayFeedbackEndpoint(owner: LLMObservability): string {
  return `http://${gatewayName(owner)}.${owner.metadata.namespace}.svc:${PROCESSOR_PORTS.feedback}/v1/feedback`;
}

export function gatewayLabels(owner: LLMObservability): Record<string, string> {
  return {
    'app.kubernetes.io/name': 'llmobs-processor',
    'app.kubernetes.io/instance': owner.metadata.name,
    'app.kubernetes.io/component': 'gateway',
    'app.kubernetes.io/managed-by': 'llmobs-operator',
  };
}

function ownerRef(owner: LLMObservability): V1OwnerReference {
  return {
    apiVersion: API_VERSION,
    kind: KIND,
    name: owner.metadata.name,
    uid: owner.metadata.uid ?? '',
    controller: true,
    blockOwnerDeletion: true,
  };
}

function meta(p: GatewayParams) {
  return {
    name: gatewayName(p.owner),
    namespace: p.owner.metadata.namespace,
    labels: gatewayLabels(p.owner),
    ownerReferences: [ownerRef(p.owner)],
  };
}

export function gatewayConfigMap(p: GatewayParams): V1ConfigMap {
  return {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { ...meta(p), annotations: { [ANNOTATION.configHash]: p.configHash } },
    data: { [CONFIG_FILE]: yaml.dump(p.rendered.config, { lineWidth: -1, noRefs: true }) },
  };
}

export function gatewayService(p: GatewayParams): V1Service {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: meta(p),
    spec: {
      selector: gatewayLabels(p.owner),
      ports: [
        {
          name: 'otlp-grpc',
          port: PROCESSOR_PORTS.grpc,
          targetPort: 'otlp-grpc',
          protocol: 'TCP',
          appProtocol: 'grpc',
        },
        {
          name: 'otlp-http',
          port: PROCESSOR_PORTS.http,
          targetPort: 'otlp-http',
          protocol: 'TCP',
          appProtocol: 'http',
        },
        // For a ServiceMonitor or a scrape config to find the derived metrics behind one name.
        ...(p.rendered.prometheus
          ? [
              {
                name: GENAI_METRICS_PORT_NAME,
                port: PROCESSOR_PORTS.genaiMetrics,
                targetPort: GENAI_METRICS_PORT_NAME,
                protocol: 'TCP',
                appProtocol: 'http',
              },
            ]
          : []),
        ...(p.rendered.feedback
          ? [
              {
                name: FEEDBACK_PORT_NAME,
                port: PROCESSOR_PORTS.feedback,
                targetPort: FEEDBACK_PORT_NAME,
                protocol: 'TCP',
                appProtocol: 'http',
              },
            ]
          : []),
      ],
    },
  };
}

export function gatewayDeployment(p: GatewayParams): V1Deployment {
  const env: V1EnvVar[] = p.rendered.secretEnv.map((s) => ({
    name: s.name,
    valueFrom: { secretKeyRef: { name: s.secretName, key: s.key } },
  }));
  const catalogue = p.rendered.catalogue;
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: meta(p),
    spec: {
      replicas: p.replicas,
      selector: { matchLabels: gatewayLabels(p.owner) },
      template: {
        metadata: {
          labels: gatewayLabels(p.owner),
          // A changed configuration changes the template, so the Deployment rolls.
          annotations: { [ANNOTATION.configHash]: p.configHash },
        },
        spec: {
          automountServiceAccountToken: false,
          securityContext: processorPodSecurityContext(),
          containers: [
            {
              name: 'processor',
              image: p.image,
              args: ['--config', `${CONFIG_DIR}/${CONFIG_FILE}`],
              env,
              ports: [
                { name: 'otlp-grpc', containerPort: PROCESSOR_PORTS.grpc },
                { name: 'otlp-http', containerPort: PROCESSOR_PORTS.http },
                { name: 'metrics', containerPort: PROCESSOR_PORTS.metrics },
                ...(p.rendered.prometheus
                  ? [{ name: GENAI_METRICS_PORT_NAME, containerPort: PROCESSOR_PORTS.genaiMetrics }]
                  : []),
                ...(p.rendered.feedback
                  ? [{ name: FEEDBACK_PORT_NAME, containerPort: PROCESSOR_PORTS.feedback }]
                  : []),
                { name: 'health', containerPort: PROCESSOR_PORTS.health },
              ],
              readinessProbe: { httpGet: { path: '/', port: 'health' }, periodSeconds: 5 },
              livenessProbe: {
                httpGet: { path: '/', port: 'health' },
                periodSeconds: 10,
                failureThreshold: 6,
              },
              resources: p.resources ?? {
                requests: { cpu: '100m', memory: '128Mi' },
                limits: { memory: '512Mi' },
              },
              securityContext: processorSecurityContext(),
              volumeMounts: [
                { name: 'config', mountPath: CONFIG_DIR, readOnly: true },
                ...(p.hmacSecretName ? [{ name: 'hmac', mountPath: HMAC_KEY_DIR, readOnly: true }] : []),
                ...(catalogue ? [{ name: 'catalogue', mountPath: CATALOGUE_DIR, readOnly: true }] : []),
              ],
            },
          ],
          volumes: [
            { name: 'config', configMap: { name: gatewayName(p.owner) } },
            ...(p.hmacSecretName
              ? [{ name: 'hmac', secret: { secretName: p.hmacSecretName, defaultMode: 0o440 } }]
              : []),
            // Only the catalogue's key, under the file name the rendered config reads. Not optional: a
            // missing ConfigMap holds the pod in ContainerCreating with an event naming it, rather than
            // starting a processor whose config cannot load.
            ...(catalogue
              ? [
                  {
                    name: 'catalogue',
                    configMap: {
                      name: catalogue.name,
                      items: [{ key: catalogue.key, path: CATALOGUE_FILE_NAME }],
                    },
                  },
                ]
              : []),
          ],
        },
      },
    },
  };
}

/** Memory limit (MiB) the memory_limiter should hold to: 80 % of the container's limit, 400 MiB without one. */
export function memoryLimitMib(resources: V1ResourceRequirements | undefined): number {
  const limit = resources?.limits?.memory;
  if (limit === undefined) return 400;
  const m = /^(\d+(?:\.\d+)?)(Ki|Mi|Gi|Ti|k|M|G|T)?$/.exec(String(limit));
  if (!m) return 400;
  const factor: Record<string, number> = {
    '': 1 / 2 ** 20,
    Ki: 1 / 1024,
    Mi: 1,
    Gi: 1024,
    Ti: 1024 ** 2,
    k: 1e3 / 2 ** 20,
    M: 1e6 / 2 ** 20,
    G: 1e9 / 2 ** 20,
    T: 1e12 / 2 ** 20,
  };
  return Math.max(32, Math.floor(Number(m[1]) * (factor[m[2] ?? ''] ?? 1) * 0.8));
}

/** The redaction key Secret of a gateway: created once with a random key, never rewritten, owned by the resource. */
export function hmacSecret(owner: LLMObservability, key: Buffer): V1Secret {
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: {
      name: `${gatewayName(owner)}-hmac`.slice(0, 253),
      namespace: owner.metadata.namespace,
      labels: gatewayLabels(owner),
      ownerReferences: [ownerRef(owner)],
    },
    type: 'Opaque',
    data: { key: key.toString('base64') },
  };
}
