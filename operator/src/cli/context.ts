import { CoreV1Api, CustomObjectsApi, type KubeConfig, VersionApi } from '@kubernetes/client-node';
import {
  API_VERSION,
  GROUP,
  KIND,
  PLURAL,
  POLICY_KIND,
  POLICY_PLURAL,
  VERSION,
} from '../api/v1alpha1/constants.ts';
import type { LLMObservability, LLMObservabilityPolicy } from '../manifests/resources.ts';
import { readNamespaceMeta } from '../webhook/namespaces.ts';
import { type NamespaceMeta, supportsNativeSidecars } from '../webhook/podmutation/config.ts';
import { isObject } from './manifest.ts';

/** What the webhook would read at admission: the namespace, its LLMObservability resources, the policies. */
export interface PreviewContext {
  /** Where the context comes from, for the report (a file or the kubeconfig's cluster). */
  readonly origin: string;
  /** Undefined when the namespace is unknown (the webhook then sees no annotations and no labels). */
  namespace(name: string): Promise<NamespaceMeta | undefined>;
  resources(namespace: string): Promise<LLMObservability[]>;
  policies(): Promise<LLMObservabilityPolicy[]>;
  /** Whether the cluster runs native sidecars; undefined when unknown (offline). */
  nativeSidecars(): Promise<boolean | undefined>;
}

function named<T extends { metadata?: unknown }>(o: T): boolean {
  return isObject(o.metadata) && typeof o.metadata.name === 'string' && o.metadata.name !== '';
}

/**
 * A context from YAML documents (Namespace, LLMObservability, LLMObservabilityPolicy; `List`s of them);
 * other kinds are ignored. LLMObservability documents without a namespace belong to `defaultNamespace`.
 */
export function offlineContext(
  origin: string,
  docs: readonly unknown[],
  defaultNamespace: string,
): PreviewContext {
  const namespaces = new Map<string, NamespaceMeta>();
  const crs: LLMObservability[] = [];
  const policies: LLMObservabilityPolicy[] = [];
  const visit = (doc: unknown): void => {
    if (!isObject(doc) || !named(doc)) {
      if (isObject(doc) && doc.kind === 'List' && Array.isArray(doc.items)) doc.items.forEach(visit);
      return;
    }
    const meta = doc.metadata as {
      name: string;
      namespace?: string;
      labels?: Record<string, string>;
      annotations?: Record<string, string>;
    };
    if (doc.kind === 'Namespace') {
      namespaces.set(meta.name, {
        ...(meta.labels ? { labels: meta.labels } : {}),
        ...(meta.annotations ? { annotations: meta.annotations } : {}),
      });
    } else if (doc.kind === KIND && doc.apiVersion === API_VERSION) {
      const cr = doc as unknown as LLMObservability;
      crs.push({ ...cr, metadata: { ...cr.metadata, namespace: meta.namespace ?? defaultNamespace } });
    } else if (doc.kind === POLICY_KIND && doc.apiVersion === API_VERSION) {
      policies.push(doc as unknown as LLMObservabilityPolicy);
    }
  };
  docs.forEach(visit);
  return {
    origin,
    namespace: async (name) => namespaces.get(name),
    resources: async (ns) => crs.filter((c) => c.metadata.namespace === ns),
    policies: async () => [...policies],
    nativeSidecars: async () => undefined,
  };
}

function itemsOf<T>(list: unknown): T[] {
  return isObject(list) && Array.isArray(list.items) ? (list.items as T[]) : [];
}

/** A context read from the cluster of a kubeconfig, with the operator's client (one read each, no watch). */
export function clusterContext(kc: KubeConfig): PreviewContext {
  const core = kc.makeApiClient(CoreV1Api);
  const custom = kc.makeApiClient(CustomObjectsApi);
  return {
    origin: `cluster ${kc.getCurrentCluster()?.server ?? kc.getCurrentContext()}`,
    namespace: (name) => readNamespaceMeta(core, name),
    async resources(namespace) {
      const list: unknown = await custom.listNamespacedCustomObject({
        group: GROUP,
        version: VERSION,
        namespace,
        plural: PLURAL,
      });
      return itemsOf<LLMObservability>(list);
    },
    async policies() {
      const list: unknown = await custom.listClusterCustomObject({
        group: GROUP,
        version: VERSION,
        plural: POLICY_PLURAL,
      });
      return itemsOf<LLMObservabilityPolicy>(list);
    },
    async nativeSidecars() {
      return supportsNativeSidecars(await kc.makeApiClient(VersionApi).getCode());
    },
  };
}
