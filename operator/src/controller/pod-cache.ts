import type { V1Pod } from '@kubernetes/client-node';
import { ANNOTATION } from '../api/v1alpha1/constants.ts';
import type { LLMObservability } from '../manifests/resources.ts';
import { selectorMatches } from '../manifests/selector.ts';
import { byAgeThenName } from '../webhook/podmutation/selection.ts';

const PREFIX = 'llmobs.dev/';

/**
 * What the operator keeps of a pod in its pod informer (its `transform`):
 * - of a pod the webhook instrumented (`llmobs.dev/applied-by`), what a resource's status counts and
 *   spec.rollout reads (rollout.ts `rolloutPod`);
 * - of a running pod the webhook never handled (no `llmobs.dev/injection-status`: it was down, or the
 *   pod predates the resource) or failed on, its name and labels, so a resource whose selector matches
 *   it reports it in status.uninstrumentedPods (the webhook fails open; this is where that shows);
 * - of every other pod (skipped on purpose, finished), nothing.
 * Kept pods lose what nothing reads (spec, most of status, managedFields, foreign annotations), so the
 * operator's memory follows the pods that matter to it, not the cluster's.
 */
export function podView(pod: V1Pod): V1Pod | undefined {
  return instrumentedPodView(pod) ?? uninstrumentedPodView(pod);
}

/** The view of a pod the webhook should have instrumented and did not; undefined for any other. */
export function uninstrumentedPodView(pod: V1Pod): V1Pod | undefined {
  const m = pod.metadata;
  const annotations = m?.annotations ?? {};
  const outcome = annotations[ANNOTATION.injectionStatus];
  if (annotations[ANNOTATION.appliedBy] !== undefined || (outcome !== undefined && outcome !== 'error'))
    return undefined;
  if (pod.status?.phase === 'Succeeded' || pod.status?.phase === 'Failed') return undefined;
  const kept: Record<string, string> = {};
  for (const k of [ANNOTATION.inject, ANNOTATION.injectionStatus, ANNOTATION.injectionReason]) {
    const v = annotations[k];
    if (v !== undefined) kept[k] = v;
  }
  return { ...identity(pod), metadata: { ...identityMetadata(m), annotations: kept } };
}

/** What every cached view keeps: the kind, and (identityMetadata) name, namespace, uid, resourceVersion, labels. */
function identity(pod: V1Pod): Pick<V1Pod, 'apiVersion' | 'kind'> {
  return { apiVersion: pod.apiVersion ?? 'v1', kind: pod.kind ?? 'Pod' };
}

function identityMetadata(m: V1Pod['metadata']): NonNullable<V1Pod['metadata']> {
  return {
    ...(m?.name !== undefined ? { name: m.name } : {}),
    ...(m?.namespace !== undefined ? { namespace: m.namespace } : {}),
    ...(m?.uid !== undefined ? { uid: m.uid } : {}),
    ...(m?.resourceVersion !== undefined ? { resourceVersion: m.resourceVersion } : {}),
    ...(m?.labels !== undefined ? { labels: m.labels } : {}),
  };
}

/**
 * Whether a cached pod counts as uninstrumented (for the resource selecting it): it did not opt out and
 * carries no instrumentation (see `uninstrumentedPodView`).
 */
export function isUninstrumented(pod: V1Pod): boolean {
  const annotations = pod.metadata?.annotations ?? {};
  if (annotations[ANNOTATION.appliedBy] !== undefined) return false;
  if (annotations[ANNOTATION.inject] === 'false') return false;
  const outcome = annotations[ANNOTATION.injectionStatus];
  return outcome === undefined || outcome === 'error';
}

/**
 * How many of a namespace's `pods` count as uninstrumented for resource `name`: each missed pod counts
 * for the resource the webhook would have picked for it — the oldest (then first by name) of
 * `resources` whose selector matches it.
 */
export function uninstrumentedFor(
  name: string,
  resources: readonly LLMObservability[],
  pods: readonly V1Pod[],
): number {
  const ordered = [...resources].sort(byAgeThenName);
  let n = 0;
  for (const p of pods) {
    if (!isUninstrumented(p)) continue;
    const labels = p.metadata?.labels ?? {};
    if (ordered.find((r) => selectorMatches(r.spec?.selector, labels))?.metadata.name === name) n++;
  }
  return n;
}

/** The view of a pod the webhook instrumented; undefined for any other. */
export function instrumentedPodView(pod: V1Pod): V1Pod | undefined {
  const m = pod.metadata;
  const annotations = m?.annotations ?? {};
  if (annotations[ANNOTATION.appliedBy] === undefined) return undefined;
  return {
    ...identity(pod),
    metadata: {
      ...identityMetadata(m),
      ...(m?.creationTimestamp !== undefined ? { creationTimestamp: m.creationTimestamp } : {}),
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
