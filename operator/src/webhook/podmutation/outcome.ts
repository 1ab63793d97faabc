import type { V1Pod } from '@kubernetes/client-node';
import { LANGUAGES } from './config.ts';
import { NAMES, POD_ANNOTATION, REASON, type Reason, STATUS, type Status } from './constants.ts';
import { conflictsOf, type PodMutator, targetContainers, withAnnotations } from './mutator.ts';

const MAX_REASON = 1024;

export function reasonText(code: Reason, message: string): string {
  const text = message === '' ? code : `${code}: ${message}`;
  return text.length <= MAX_REASON ? text : `${text.slice(0, MAX_REASON - 3)}...`;
}

/** The pod with its outcome annotations (status and reason), nothing else changed. */
export function withOutcome(pod: V1Pod, status: Status, code: Reason, message: string): V1Pod {
  return withAnnotations(pod, {
    [POD_ANNOTATION.injectionStatus]: status,
    [POD_ANNOTATION.injectionReason]: reasonText(code, message),
  });
}

/** What the chain did, read back from the pod: the reason code and message of an injected pod. */
export function describeInjection(pod: V1Pod, selection: string): { code: Reason; message: string } {
  const containers = targetContainers(pod).map((c) => c.name);
  const inits = new Set((pod.spec?.initContainers ?? []).map((c) => c.name));
  const langs = LANGUAGES.filter((l) => inits.has(NAMES.initContainer[l]));
  const sidecar = inits.has(NAMES.sidecar)
    ? 'sidecar (native)'
    : (pod.spec?.containers ?? []).some((c) => c.name === NAMES.sidecar)
      ? 'sidecar'
      : 'gateway';
  const conflicts = conflictsOf(pod);
  const parts = [
    selection,
    `containers ${containers.join(',')}`,
    `auto-instrumentation ${langs.length > 0 ? langs.join(',') : 'none'}`,
    `processor ${sidecar}`,
  ];
  if (conflicts.length > 0) parts.push(`${conflicts.length} conflict(s), see ${POD_ANNOTATION.conflicts}`);
  return {
    code: conflicts.length > 0 ? REASON.injectedWithConflicts : REASON.injected,
    message: parts.join('; '),
  };
}

/**
 * Last in the chain: marks the pod injected (the idempotency marker), with the reason, the config hash
 * and the LLMObservability that applied it (the controller counts up-to-date and outdated pods by these).
 */
export const outcomeMutator: PodMutator = {
  name: 'outcome',
  mutate(pod, ctx) {
    const { code, message } = describeInjection(pod, ctx.selection);
    return withAnnotations(withOutcome(pod, STATUS.injected, code, message), {
      [POD_ANNOTATION.configHash]: ctx.config.configHash,
      [POD_ANNOTATION.appliedBy]: ctx.config.appliedBy,
    });
  },
};
