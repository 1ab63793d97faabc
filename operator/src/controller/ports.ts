import type { KubernetesObject } from '@kubernetes/client-node';
import type { LLMObservabilityStatus } from '../api/v1alpha1/types.gen.ts';
import type { LLMObservability, LLMObservabilityPolicy } from '../manifests/resources.ts';

/** Read access to what the informers hold; the reconciler never lists from the apiserver. */
export interface Stores {
  resource(namespace: string, name: string): LLMObservability | undefined;
  policies(): readonly LLMObservabilityPolicy[];
  namespaceLabels(namespace: string): Readonly<Record<string, string>> | undefined;
  /** Pods that carry llmobs.dev/applied-by = namespace/name, with their config-hash annotation. */
  instrumentedPods(
    namespace: string,
    name: string,
  ): readonly { name: string; configHash: string | undefined }[];
  /** Ready replicas of a Deployment, as last observed. */
  readyReplicas(namespace: string, name: string): number | undefined;
}

export type EventType = 'Normal' | 'Warning';

/** The writes a reconcile makes. Server-side apply, so repeated applies are no-ops on the server. */
export interface ClusterWriter {
  apply(obj: KubernetesObject): Promise<void>;
  /** Creates `obj` unless it exists (its content is then left alone, e.g. a generated key). */
  createIfAbsent(obj: KubernetesObject): Promise<void>;
  /** Deletes if present; absent is success. */
  delete(apiVersion: string, kind: string, namespace: string, name: string): Promise<void>;
  patchStatus(namespace: string, name: string, status: LLMObservabilityStatus): Promise<void>;
  event(regarding: LLMObservability, type: EventType, reason: string, message: string): Promise<void>;
}
