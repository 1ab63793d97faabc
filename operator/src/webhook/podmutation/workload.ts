import type { V1Pod } from '@kubernetes/client-node';
import { POD_ANNOTATION } from './constants.ts';

/** The workload a pod belongs to, read from its controller owner reference without any API call. */
export interface Workload {
  /** k8s.<kind>.name resource attributes (semantic conventions), e.g. k8s.deployment.name. */
  readonly attributes: Readonly<Record<string, string>>;
  /** The name the service is known by: the Deployment rather than its ReplicaSet, and so on. */
  readonly name: string | undefined;
}

/** A Job a CronJob created is named <cronjob>-<scheduled time in minutes since the epoch>. */
const CRONJOB_JOB = /^(.+)-(\d{8,})$/;

export function workloadOf(pod: V1Pod): Workload {
  const refs = pod.metadata?.ownerReferences ?? [];
  const owner = refs.find((r) => r.controller) ?? refs[0];
  if (!owner) return { attributes: {}, name: undefined };
  switch (owner.kind) {
    case 'ReplicaSet': {
      // The Deployment controller names ReplicaSets <deployment>-<pod-template-hash> and labels their pods
      // with the hash; a ReplicaSet without that suffix was not made by a Deployment.
      const hash = pod.metadata?.labels?.['pod-template-hash'];
      if (hash && owner.name.endsWith(`-${hash}`) && owner.name.length > hash.length + 1) {
        const deployment = owner.name.slice(0, -(hash.length + 1));
        return {
          attributes: { 'k8s.replicaset.name': owner.name, 'k8s.deployment.name': deployment },
          name: deployment,
        };
      }
      return { attributes: { 'k8s.replicaset.name': owner.name }, name: owner.name };
    }
    case 'StatefulSet':
      return { attributes: { 'k8s.statefulset.name': owner.name }, name: owner.name };
    case 'DaemonSet':
      return { attributes: { 'k8s.daemonset.name': owner.name }, name: owner.name };
    case 'Job': {
      // Without an API call the CronJob is only guessed from the name, so it names the service (stable
      // across runs) but is not claimed as a k8s.cronjob.name attribute.
      const m = CRONJOB_JOB.exec(owner.name);
      return { attributes: { 'k8s.job.name': owner.name }, name: m?.[1] ?? owner.name };
    }
    case 'CronJob':
      return { attributes: { 'k8s.cronjob.name': owner.name }, name: owner.name };
    default:
      return { attributes: {}, name: owner.name };
  }
}

/**
 * OTEL_SERVICE_NAME for a container, after the semantic conventions' Kubernetes precedence: the
 * resource.opentelemetry.io/service.name annotation, then the workload, then the pod, then the container.
 */
export function serviceNameOf(pod: V1Pod, containerName: string): string {
  const annotated = pod.metadata?.annotations?.[`${POD_ANNOTATION.resourcePrefix}service.name`];
  if (annotated) return annotated;
  const workload = workloadOf(pod).name;
  if (workload) return workload;
  if (pod.metadata?.name) return pod.metadata.name;
  const generated = pod.metadata?.generateName?.replace(/-+$/, '');
  if (generated) return generated;
  return containerName;
}
