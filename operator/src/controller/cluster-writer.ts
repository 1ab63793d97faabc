import {
  CoreV1Api,
  CustomObjectsApi,
  type KubeConfig,
  type KubernetesObject,
  KubernetesObjectApi,
  PatchStrategy,
  setHeaderOptions,
} from '@kubernetes/client-node';
import { GROUP, PLURAL, VERSION } from '../api/v1alpha1/constants.ts';
import type { LLMObservabilityStatus } from '../api/v1alpha1/types.gen.ts';
import type { LLMObservability } from '../manifests/resources.ts';
import { isAlreadyExists, isNotFound } from '../runtime/errors.ts';
import type { ClusterWriter, EventType, WorkloadView } from './ports.ts';
import type { WorkloadKind } from './rollout.ts';

export const FIELD_MANAGER = 'llmobs-operator';
/** Field manager of rollout restarts (kubectl uses kubectl-rollout), apart from the gateway's applies. */
export const ROLLOUT_FIELD_MANAGER = 'llmobs-rollout';

/** ClusterWriter over client-node: server-side apply for owned objects, merge patches for status. */
export class KubeClusterWriter implements ClusterWriter {
  readonly #objects: KubernetesObjectApi;
  readonly #custom: CustomObjectsApi;
  readonly #core: CoreV1Api;
  readonly #component: string;

  constructor(kc: KubeConfig, component = 'llmobs-operator') {
    this.#objects = KubernetesObjectApi.makeApiClient(kc);
    this.#custom = kc.makeApiClient(CustomObjectsApi);
    this.#core = kc.makeApiClient(CoreV1Api);
    this.#component = component;
  }

  async apply(obj: KubernetesObject): Promise<void> {
    await this.#objects.patch(obj, undefined, undefined, FIELD_MANAGER, true, PatchStrategy.ServerSideApply);
  }

  async createIfAbsent(obj: KubernetesObject): Promise<void> {
    try {
      await this.#objects.create(obj, undefined, undefined, FIELD_MANAGER);
    } catch (err) {
      if (!isAlreadyExists(err)) throw err;
    }
  }

  async delete(apiVersion: string, kind: string, namespace: string, name: string): Promise<void> {
    try {
      await this.#objects.delete({ apiVersion, kind, metadata: { name, namespace } });
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
  }

  async patchStatus(namespace: string, name: string, status: LLMObservabilityStatus): Promise<void> {
    await this.#custom.patchNamespacedCustomObjectStatus(
      { group: GROUP, version: VERSION, namespace, plural: PLURAL, name, body: { status } },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
    );
  }

  async event(regarding: LLMObservability, type: EventType, reason: string, message: string): Promise<void> {
    const now = new Date();
    try {
      await this.#core.createNamespacedEvent({
        namespace: regarding.metadata.namespace ?? 'default',
        body: {
          metadata: { generateName: `${regarding.metadata.name}.`, namespace: regarding.metadata.namespace },
          involvedObject: {
            apiVersion: regarding.apiVersion,
            kind: regarding.kind,
            name: regarding.metadata.name,
            namespace: regarding.metadata.namespace,
            uid: regarding.metadata.uid,
          },
          type,
          reason,
          message: message.slice(0, 1024),
          source: { component: this.#component },
          firstTimestamp: now,
          lastTimestamp: now,
          count: 1,
        },
      });
    } catch {
      // An event that cannot be recorded must never fail a reconcile.
    }
  }

  async readWorkload(namespace: string, kind: WorkloadKind, name: string): Promise<WorkloadView | undefined> {
    try {
      const w = (await this.#objects.read({
        apiVersion: 'apps/v1',
        kind,
        metadata: { name, namespace },
      })) as {
        spec?: {
          selector?: { matchLabels?: Record<string, string> };
          template?: { metadata?: { annotations?: Record<string, string> } };
        };
      };
      return {
        selector: w.spec?.selector,
        templateAnnotations: w.spec?.template?.metadata?.annotations ?? {},
      };
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }

  async annotatePodTemplate(
    namespace: string,
    kind: WorkloadKind,
    name: string,
    annotations: Readonly<Record<string, string>>,
  ): Promise<void> {
    await this.#objects.patch(
      {
        apiVersion: 'apps/v1',
        kind,
        metadata: { name, namespace },
        spec: { template: { metadata: { annotations } } },
      } as KubernetesObject,
      undefined,
      undefined,
      ROLLOUT_FIELD_MANAGER,
      undefined,
      PatchStrategy.MergePatch,
    );
  }
}
