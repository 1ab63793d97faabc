import type { V1EnvVar, V1ResourceRequirements } from '@kubernetes/client-node';
import type { LabelSelector } from '../../manifests/resources.ts';

export type Language = 'python' | 'nodejs';
export const LANGUAGES: readonly Language[] = ['python', 'nodejs'];
export type ContentCapture = 'none' | 'redacted' | 'full';
export type OtlpProtocol = 'http/protobuf' | 'grpc';
export type ProcessorMode = 'gateway' | 'sidecar';

/** The processor container added to each instrumented pod in sidecar mode. */
export interface SidecarSpec {
  readonly image: string;
  /** ConfigMap holding the rendered processor config (the reconciler applies it in both modes). */
  readonly configMapName: string;
  /** Folder the ConfigMap is mounted at; default /etc/llmobs. */
  readonly configDir?: string;
  /** Key of the ConfigMap and file name under configDir; default config.yaml. */
  readonly configFile?: string;
  /** E.g. exporter headers as secretKeyRef variables the rendered config reads. */
  readonly env?: readonly V1EnvVar[];
  readonly resources?: V1ResourceRequirements;
  /** health_check port of the rendered config, probed for liveness; default 13133. */
  readonly healthPort?: number;
}

/**
 * Everything the webhook needs to instrument a pod for one LLMObservability, already resolved by the
 * controller (resource + policies + the processor's capabilities). The webhook never reads the
 * resource itself for anything but its selector, so what is injected is exactly what was computed.
 */
export interface EffectiveInjectionConfig {
  /** namespace/name of the LLMObservability; written to llmobs.dev/applied-by. */
  readonly appliedBy: string;
  /** Hash of the injected and processor configuration; written to llmobs.dev/config-hash. */
  readonly configHash: string;
  readonly mode: ProcessorMode;
  /** Gateway mode: OTLP endpoint of the gateway Service. Sidecar mode ignores it (http://localhost:4318). */
  readonly endpoint: string;
  /** Gateway mode only; sidecar mode always uses http/protobuf to localhost. */
  readonly protocol: OtlpProtocol;
  /** What pods are told to record, after policies and the processor's capabilities (fail closed). */
  readonly contentCapture: ContentCapture;
  /** 0..1, OTEL_TRACES_SAMPLER_ARG of parentbased_traceidratio. */
  readonly samplingRatio: number;
  /** Runtimes auto-instrumented with an init container; empty injects the environment only. */
  readonly languages: readonly Language[];
  /** Bundle image per language in `languages`. */
  readonly images: Readonly<Partial<Record<Language, string>>>;
  /** How the Node.js bundle is loaded through NODE_OPTIONS; default `import` (ESM-first, Node >= 18.19). */
  readonly nodejsHook?: 'import' | 'require';
  /** Extra variables (spec.env); never override a variable the container sets. */
  readonly env: readonly { readonly name: string; readonly value: string }[];
  /** Extra resource attributes (spec.resourceAttributes). */
  readonly resourceAttributes: Readonly<Record<string, string>>;
  /** Required in sidecar mode. */
  readonly sidecar?: SidecarSpec;
}

/** The slice of an LLMObservability that selection reads (manifests' LLMObservability fits). */
export interface SelectableResource {
  readonly metadata: {
    readonly name: string;
    readonly namespace?: string;
    readonly creationTimestamp?: string | Date;
  };
  readonly spec?: { readonly selector?: LabelSelector };
}

export interface InjectionSource {
  readonly resource: SelectableResource;
  readonly config: EffectiveInjectionConfig;
}

/**
 * Where the webhook gets the LLMObservability resources of a namespace with their effective injection
 * config. The controller implements it from its informer caches; it should answer from memory, since
 * it is called on every pod admission. Throwing fails the admission open with status `error`.
 */
export interface ConfigSource {
  forNamespace(namespace: string): readonly InjectionSource[] | Promise<readonly InjectionSource[]>;
}

/** A ConfigSource over a fixed map, for tests and for wiring before the controller's cache syncs. */
export class InMemoryConfigSource implements ConfigSource {
  readonly #byNamespace = new Map<string, InjectionSource[]>();

  constructor(sources: readonly InjectionSource[] = []) {
    for (const s of sources) this.set(s);
  }

  /** Adds or replaces the source of resource namespace/name. */
  set(source: InjectionSource): void {
    const ns = source.resource.metadata.namespace ?? '';
    const list = (this.#byNamespace.get(ns) ?? []).filter(
      (s) => s.resource.metadata.name !== source.resource.metadata.name,
    );
    list.push(source);
    this.#byNamespace.set(ns, list);
  }

  delete(namespace: string, name: string): void {
    const list = (this.#byNamespace.get(namespace) ?? []).filter((s) => s.resource.metadata.name !== name);
    this.#byNamespace.set(namespace, list);
  }

  forNamespace(namespace: string): readonly InjectionSource[] {
    return this.#byNamespace.get(namespace) ?? [];
  }
}

export interface NamespaceMeta {
  readonly labels?: Readonly<Record<string, string>>;
  readonly annotations?: Readonly<Record<string, string>>;
}

/** Namespace labels and annotations (for the llmobs.dev/inject annotation); undefined when unknown. */
export interface NamespaceLookup {
  get(name: string): Promise<NamespaceMeta | undefined> | NamespaceMeta | undefined;
}

/** Operator-level settings (flags), the same for every pod. */
export interface WebhookSettings {
  /** Namespace the operator runs in: its pods are never mutated. */
  readonly operatorNamespace: string;
  /** Never mutated, whatever their annotations say. kube-system is always added. */
  readonly excludedNamespaces: readonly string[];
  /** Pods carrying all labels of any of these sets are never mutated (the operator's and the gateways'). */
  readonly excludedPodLabels: readonly Readonly<Record<string, string>>[];
  /** The cluster runs init containers with restartPolicy: Always as sidecars (Kubernetes >= 1.29). */
  readonly nativeSidecars: boolean;
  /** emptyDir sizeLimit of each language bundle volume. */
  readonly bundleVolumeSizeLimit: string;
  /** Defaults of the bundle init containers, lowered to fit the pod (see resources.ts). */
  readonly initContainerResources: {
    readonly requests: { readonly cpu: string; readonly memory: string };
    readonly limits: { readonly cpu: string; readonly memory: string };
  };
  /** A container whose limits are below these is not auto-instrumented (the SDK would not fit). */
  readonly minimumContainerLimits: { readonly cpu: string; readonly memory: string };
  /** Admission answers within this, with status error, before the apiserver's own timeout. */
  readonly deadlineMs: number;
}

export const KUBE_SYSTEM = 'kube-system';

/** Label the chart and the controller put on the operator's and the gateway processors' pods. */
export const PART_OF_LABEL = { key: 'app.kubernetes.io/part-of', value: 'llmobs' } as const;

export function defaultWebhookSettings(overrides: Partial<WebhookSettings> = {}): WebhookSettings {
  const s: WebhookSettings = {
    operatorNamespace: 'llmobs-system',
    excludedNamespaces: [KUBE_SYSTEM, 'kube-public', 'kube-node-lease'],
    excludedPodLabels: [
      { [PART_OF_LABEL.key]: PART_OF_LABEL.value },
      { 'app.kubernetes.io/managed-by': 'llmobs-operator' },
    ],
    nativeSidecars: true,
    bundleVolumeSizeLimit: '200Mi',
    initContainerResources: {
      requests: { cpu: '50m', memory: '64Mi' },
      limits: { cpu: '500m', memory: '256Mi' },
    },
    minimumContainerLimits: { cpu: '50m', memory: '100Mi' },
    deadlineMs: 2500,
    ...overrides,
  };
  const excluded = s.excludedNamespaces.includes(KUBE_SYSTEM)
    ? s.excludedNamespaces
    : [KUBE_SYSTEM, ...s.excludedNamespaces];
  return Object.freeze({ ...s, excludedNamespaces: excluded });
}

/** Native sidecars are on by default from Kubernetes 1.29 (beta, SidecarContainers gate). */
export function supportsNativeSidecars(version: { major: string; minor: string }): boolean {
  const major = Number.parseInt(version.major, 10);
  const minor = Number.parseInt(version.minor, 10);
  return major > 1 || (major === 1 && minor >= 29);
}

/** Every problem of a config, so the pod's error reason can say all of them. */
export function validateInjectionConfig(c: EffectiveInjectionConfig): string[] {
  const problems: string[] = [];
  if (!/^[^/]+\/[^/]+$/.test(c.appliedBy)) problems.push(`appliedBy "${c.appliedBy}" is not namespace/name`);
  if (c.configHash === '') problems.push('configHash is empty');
  if (!(c.samplingRatio >= 0 && c.samplingRatio <= 1)) {
    problems.push(`samplingRatio ${c.samplingRatio} is outside 0..1`);
  }
  if (c.mode === 'gateway' && !/^https?:\/\/[^\s]+$/.test(c.endpoint)) {
    problems.push(`endpoint "${c.endpoint}" is not an http(s) URL`);
  }
  if (c.mode === 'sidecar') {
    if (!c.sidecar) problems.push('sidecar mode without a sidecar spec');
    else {
      if (!c.sidecar.image) problems.push('sidecar image is empty');
      if (!c.sidecar.configMapName) problems.push('sidecar configMapName is empty');
    }
  }
  for (const l of c.languages) {
    if (!LANGUAGES.includes(l)) problems.push(`unknown language ${l}`);
    else if (!c.images[l]) problems.push(`no image for language ${l}`);
  }
  for (const e of c.env) {
    if (!/^[-._a-zA-Z][-._a-zA-Z0-9]*$/.test(e.name)) problems.push(`env name "${e.name}" is invalid`);
  }
  return problems;
}
