import type { V1Container, V1Pod } from '@kubernetes/client-node';
import { processorSecurityContext } from '../../manifests/security.ts';
import type { SidecarSpec } from './config.ts';
import { NAMES } from './constants.ts';
import type { MutationContext, PodMutator } from './mutator.ts';

export const SIDECAR_DEFAULTS = {
  configDir: '/etc/llmobs',
  configFile: 'config.yaml',
  healthPort: 13133,
  resources: { requests: { cpu: '50m', memory: '64Mi' }, limits: { memory: '256Mi' } },
} as const;

export function sidecarContainer(s: SidecarSpec, native: boolean): V1Container {
  const configDir = s.configDir ?? SIDECAR_DEFAULTS.configDir;
  return {
    name: NAMES.sidecar,
    image: s.image,
    imagePullPolicy: 'IfNotPresent',
    args: ['--config', `${configDir}/${s.configFile ?? SIDECAR_DEFAULTS.configFile}`],
    ...(s.env && s.env.length > 0 ? { env: [...s.env] } : {}),
    // No startup or readiness probe: the app must start, and stay Ready, whether or not the processor
    // does (the SDKs retry exports); liveness only restarts a hung processor.
    livenessProbe: {
      httpGet: { path: '/', port: s.healthPort ?? SIDECAR_DEFAULTS.healthPort },
      periodSeconds: 10,
      failureThreshold: 6,
    },
    resources: s.resources ?? structuredClone(SIDECAR_DEFAULTS.resources),
    securityContext: processorSecurityContext(),
    volumeMounts: [{ name: NAMES.sidecarConfigVolume, mountPath: configDir, readOnly: true }],
    ...(native ? { restartPolicy: 'Always' } : {}),
  };
}

/** Whether a pod can carry the sidecar: a plain container would keep a run-to-completion pod running. */
export function sidecarBlocker(
  pod: V1Pod,
  ctx: Pick<MutationContext, 'config' | 'settings'>,
): string | undefined {
  if (ctx.config.mode !== 'sidecar' || ctx.settings.nativeSidecars) return undefined;
  const policy = pod.spec?.restartPolicy ?? 'Always';
  return policy === 'Always'
    ? undefined
    : `the processor sidecar would keep this restartPolicy ${policy} pod from completing, and the cluster has no native sidecars`;
}

/**
 * Sidecar mode: the processor runs in the pod and the app exports to it on localhost (set by the env
 * mutator), so raw prompts never leave the pod. A native sidecar (an init container with
 * restartPolicy: Always, started before the app and stopped after it) where the cluster supports it,
 * a plain container otherwise. The processor config comes from the ConfigMap the controller renders.
 */
export const sidecarMutator: PodMutator = {
  name: 'sidecar',
  mutate(pod, ctx) {
    const s = ctx.config.sidecar;
    if (ctx.config.mode !== 'sidecar' || !s) return pod;
    const spec = pod.spec;
    if (!spec) return pod;
    const present = [...(spec.initContainers ?? []), ...spec.containers].some(
      (c) => c.name === NAMES.sidecar,
    );
    const out = structuredClone(pod);
    const outSpec = out.spec ?? spec;
    if (!present) {
      const container = sidecarContainer(s, ctx.settings.nativeSidecars);
      // Appended after the bundle init containers, so the copy is done when the processor starts.
      if (ctx.settings.nativeSidecars)
        outSpec.initContainers = [...(outSpec.initContainers ?? []), container];
      else outSpec.containers = [...outSpec.containers, container];
    }
    const volumes = outSpec.volumes ?? [];
    if (!volumes.some((v) => v.name === NAMES.sidecarConfigVolume)) {
      outSpec.volumes = [
        ...volumes,
        { name: NAMES.sidecarConfigVolume, configMap: { name: s.configMapName } },
      ];
    }
    return out;
  },
};
