import type { KubernetesObject } from '@kubernetes/client-node';
import type { LLMObservabilityStatus } from '../api/v1alpha1/types.gen.ts';
import type { LLMObservability, LLMObservabilityPolicy } from '../manifests/resources.ts';
import type { RolloutPod, WorkloadKind } from './rollout.ts';

/** Read access to what the informers hold; the reconciler never lists from the apiserver. */
export interface Stores {
  resource(namespace: string, name: string): LLMObservability | undefined;
  policies(): readonly LLMObservabilityPolicy[];
  namespaceLabels(namespace: string): Readonly<Record<string, string>> | undefined;
  /**
   * Pods that carry llmobs.dev/applied-by = namespace/name, with their config-hash annotation; spec.rollout
   * also reads their labels, controller, creation time and container states.
   */
  instrumentedPods(namespace: string, name: string): readonly RolloutPod[];
  /**
   * Running pods this resource selects (and would win) that carry no instrumentation: the webhook was
   * down (it fails open) or failed on them, or they predate the resource.
   */
  uninstrumentedPods(namespace: string, name: string): number;
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
  /** A workload's selector and pod template annotations (a GET, for spec.rollout); undefined if absent. */
  readWorkload(namespace: string, kind: WorkloadKind, name: string): Promise<WorkloadView | undefined>;
  /** Merges `annotations` into a workload's pod template (a restart, as kubectl rollout restart does). */
  annotatePodTemplate(
    namespace: string,
    kind: WorkloadKind,
    name: string,
    annotations: Readonly<Record<string, string>>,
  ): Promise<void>;
}

export interface WorkloadView {
  readonly selector: { readonly matchLabels?: Readonly<Record<string, string>> } | undefined;
  readonly templateAnnotations: Readonly<Record<string, string>>;
}
