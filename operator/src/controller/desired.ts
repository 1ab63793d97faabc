import type { V1EnvVar, V1ResourceRequirements } from '@kubernetes/client-node';
import { type EffectiveConfig, effectiveConfig, policiesFor } from '../manifests/effective.ts';
import { gatewayEndpoint, gatewayName, memoryLimitMib } from '../manifests/gateway.ts';
import { configHash } from '../manifests/hash.ts';
import { type RenderedProcessorConfig, renderProcessorConfig } from '../manifests/processor-config.ts';
import type { LLMObservability, LLMObservabilityPolicy } from '../manifests/resources.ts';
import type { EffectiveInjectionConfig, Language } from '../webhook/podmutation/config.ts';

/** Everything derived from one resource and its policies; the reconciler and the webhook both use it. */
export interface Desired {
  readonly policies: readonly LLMObservabilityPolicy[];
  readonly eff: EffectiveConfig;
  readonly rendered: RenderedProcessorConfig;
  readonly resources: V1ResourceRequirements | undefined;
  /** What pods carry in llmobs.dev/config-hash and status.configHash: equal means up to date. */
  readonly hash: string;
}

export function desiredState(
  cr: LLMObservability,
  allPolicies: readonly LLMObservabilityPolicy[],
  namespaceLabels: Readonly<Record<string, string>>,
): Desired {
  const policies = policiesFor(allPolicies, namespaceLabels);
  const eff = effectiveConfig(cr, policies);
  const resources = cr.spec?.processor?.resources as V1ResourceRequirements | undefined;
  const rendered = renderProcessorConfig(eff, { memoryLimitMib: memoryLimitMib(resources) });
  const hash = configHash({
    processor: rendered.config,
    capture: eff.injectedContentCapture,
    sampling: eff.samplingRatio,
    languages: cr.spec?.languages ?? [],
    env: cr.spec?.env ?? [],
    resourceAttributes: cr.spec?.resourceAttributes ?? {},
    mode: eff.mode,
  });
  return { policies, eff, rendered, resources, hash };
}

export interface ImageSettings {
  readonly processorImage: string;
  readonly languageImages: Readonly<Partial<Record<Language, string>>>;
}

/** What the pod webhook injects for this resource. */
export function injectionConfig(
  cr: LLMObservability,
  d: Desired,
  images: ImageSettings,
): EffectiveInjectionConfig {
  const secretEnv: V1EnvVar[] = d.rendered.secretEnv.map((s) => ({
    name: s.name,
    valueFrom: { secretKeyRef: { name: s.secretName, key: s.key } },
  }));
  return {
    appliedBy: `${cr.metadata.namespace}/${cr.metadata.name}`,
    configHash: d.hash,
    mode: d.eff.mode,
    endpoint: gatewayEndpoint(cr),
    protocol: 'http/protobuf',
    contentCapture: d.eff.injectedContentCapture,
    samplingRatio: d.eff.samplingRatio,
    languages: cr.spec?.languages ?? [],
    images: images.languageImages,
    env: (cr.spec?.env ?? []).map((e) => ({ name: e.name, value: e.value ?? '' })),
    resourceAttributes: Object.fromEntries(
      Object.entries(cr.spec?.resourceAttributes ?? {}).filter(
        (kv): kv is [string, string] => kv[1] !== undefined,
      ),
    ),
    ...(d.eff.mode === 'sidecar'
      ? {
          sidecar: {
            image: cr.spec?.processor?.image ?? images.processorImage,
            configMapName: gatewayName(cr),
            env: secretEnv,
            ...(d.resources ? { resources: d.resources } : {}),
          },
        }
      : {}),
  };
}
