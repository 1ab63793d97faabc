import type { V1PodSecurityContext, V1SecurityContext } from '@kubernetes/client-node';

/**
 * The user and group the processor runs as wherever the operator runs it: numeric, so the kubelet can check
 * runAsNonRoot without reading the image, and the same as the chart's operator (65532, distroless "nonroot").
 */
export const PROCESSOR_UID = 65532;

/**
 * The processor container's security context: the "restricted" Pod Security Standard, a read-only root
 * filesystem (the processor writes no file: config, keys and catalogue are read-only mounts, everything
 * else is in memory) and nothing it could escalate with. Set on the container, so it holds in any pod.
 */
export function processorSecurityContext(): V1SecurityContext {
  return {
    runAsNonRoot: true,
    runAsUser: PROCESSOR_UID,
    runAsGroup: PROCESSOR_UID,
    allowPrivilegeEscalation: false,
    privileged: false,
    readOnlyRootFilesystem: true,
    capabilities: { drop: ['ALL'] },
    seccompProfile: { type: 'RuntimeDefault' },
  };
}

/**
 * The gateway pod's: the same user, and fsGroup so Secret volumes mounted 0440 (the HMAC key) belong to a
 * group the processor is in.
 */
export function processorPodSecurityContext(): V1PodSecurityContext {
  return {
    runAsNonRoot: true,
    runAsUser: PROCESSOR_UID,
    runAsGroup: PROCESSOR_UID,
    fsGroup: PROCESSOR_UID,
    seccompProfile: { type: 'RuntimeDefault' },
  };
}
