import type { V1Pod } from '@kubernetes/client-node';
import { ANNOTATION } from '../api/v1alpha1/constants.ts';

const PREFIX = 'llmobs.dev/';

/**
 * What the operator keeps of a pod in its pod informer (its `transform`). Only pods the webhook
 * instrumented (`llmobs.dev/applied-by`) matter to the controller: they are counted in a resource's
 * status and read by spec.rollout (rollout.ts `rolloutPod`). Every other pod is left out of the cache,
 * and the pods kept lose what neither reads (spec, most of status, managedFields, foreign annotations),
 * so the operator's memory follows the instrumented pods, not the cluster's.
 */
export function instrumentedPodView(pod: V1Pod): V1Pod | undefined {
  const m = pod.metadata;
  const annotations = m?.annotations ?? {};
  if (annotations[ANNOTATION.appliedBy] === undefined) return undefined;
  return {
    apiVersion: pod.apiVersion ?? 'v1',
    kind: pod.kind ?? 'Pod',
    metadata: {
      ...(m?.name !== undefined ? { name: m.name } : {}),
      ...(m?.namespace !== undefined ? { namespace: m.namespace } : {}),
      ...(m?.uid !== undefined ? { uid: m.uid } : {}),
      ...(m?.resourceVersion !== undefined ? { resourceVersion: m.resourceVersion } : {}),
      ...(m?.creationTimestamp !== undefined ? { creationTimestamp: m.creationTimestamp } : {}),
      ...(m?.labels !== undefined ? { labels: m.labels } : {}),
      annotations: Object.fromEntries(Object.entries(annotations).filter(([k]) => k.startsWith(PREFIX))),
      ...(m?.ownerReferences !== undefined
        ? {
            ownerReferences: m.ownerReferences.map((o) => ({
              apiVersion: o.apiVersion,
              kind: o.kind,
              name: o.name,
              uid: o.uid,
              ...(o.controller !== undefined ? { controller: o.controller } : {}),
            })),
          }
        : {}),
    },
    status: {
      containerStatuses: (pod.status?.containerStatuses ?? []).map((c) => ({
        name: c.name,
        image: '',
        imageID: '',
        ready: c.ready,
        restartCount: c.restartCount,
        ...(c.state?.waiting?.reason ? { state: { waiting: { reason: c.state.waiting.reason } } } : {}),
      })),
    },
  };
}
