import { CoreV1Api, type KubeConfig, type V1Pod } from '@kubernetes/client-node';

export interface ObjectReference {
  readonly apiVersion: string;
  readonly kind: string;
  readonly name: string;
  readonly namespace: string;
  readonly uid?: string;
}

export interface AdmissionEvent {
  readonly regarding: ObjectReference;
  readonly type: 'Normal' | 'Warning';
  /** A reason code (CamelCase). */
  readonly reason: string;
  readonly message: string;
}

/**
 * Where admission outcomes are reported as Kubernetes Events. record() must never throw or reject in a
 * way that matters: the server does not wait for it, and a lost Event never fails an admission.
 */
export interface EventRecorder {
  record(event: AdmissionEvent): Promise<void>;
}

/**
 * What an Event about a pod at admission is attached to. A pod being created has no uid yet and, when
 * made from generateName, no name either: such events go to its controller (the ReplicaSet, Job...),
 * where `kubectl describe` of the workload shows them.
 */
export function eventSubject(pod: V1Pod, namespace: string): ObjectReference {
  const name = pod.metadata?.name;
  if (name) return { apiVersion: 'v1', kind: 'Pod', name, namespace };
  const refs = pod.metadata?.ownerReferences ?? [];
  const owner = refs.find((r) => r.controller) ?? refs[0];
  if (owner)
    return { apiVersion: owner.apiVersion, kind: owner.kind, name: owner.name, namespace, uid: owner.uid };
  return { apiVersion: 'v1', kind: 'Pod', name: pod.metadata?.generateName ?? 'unknown', namespace };
}

/** core/v1 Events through client-node. */
export class KubeEventRecorder implements EventRecorder {
  readonly #core: CoreV1Api;
  readonly #component: string;
  readonly #instance: string;

  constructor(kc: KubeConfig, opts: { component?: string; instance?: string } = {}) {
    this.#core = kc.makeApiClient(CoreV1Api);
    this.#component = opts.component ?? 'llmobs-webhook';
    this.#instance = opts.instance ?? process.env.HOSTNAME ?? 'llmobs-webhook';
  }

  async record(e: AdmissionEvent): Promise<void> {
    const now = new Date();
    await this.#core.createNamespacedEvent({
      namespace: e.regarding.namespace,
      body: {
        metadata: {
          generateName: `${e.regarding.name.replace(/-+$/, '')}.`,
          namespace: e.regarding.namespace,
        },
        involvedObject: { ...e.regarding },
        type: e.type,
        reason: e.reason,
        message: e.message.slice(0, 1024),
        source: { component: this.#component },
        reportingComponent: this.#component,
        reportingInstance: this.#instance,
        action: 'Admit',
        firstTimestamp: now,
        lastTimestamp: now,
        count: 1,
      },
    });
  }
}

/** Keeps events in memory, for tests. */
export class MemoryEventRecorder implements EventRecorder {
  readonly events: AdmissionEvent[] = [];

  async record(e: AdmissionEvent): Promise<void> {
    this.events.push(e);
  }
}
