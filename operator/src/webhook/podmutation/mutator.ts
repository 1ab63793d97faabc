import type { V1Container, V1EnvVar, V1Pod } from '@kubernetes/client-node';
import type { EffectiveInjectionConfig, Language, WebhookSettings } from './config.ts';
import { LANGUAGES } from './config.ts';
import { NAMES, POD_ANNOTATION } from './constants.ts';

/** What every mutator may read; nothing in it changes during a chain. */
export interface MutationContext {
  /** The namespace of the admission request (the pod's metadata may not carry it yet). */
  readonly namespace: string;
  readonly config: EffectiveInjectionConfig;
  readonly settings: WebhookSettings;
  /** Why the pod was selected, for llmobs.dev/injection-reason. */
  readonly selection: string;
}

/**
 * One step of the injection. Pure: it returns a new pod and never changes its input, and it is
 * idempotent (running it on its own output changes nothing). What it could not do is recorded on the
 * pod itself, in llmobs.dev/injection-conflicts (see addConflict), so the chain stays a fold of pods.
 * Throwing fails the admission open with status error.
 */
export interface PodMutator {
  readonly name: string;
  mutate(pod: V1Pod, ctx: MutationContext): V1Pod;
}

export function runChain(pod: V1Pod, ctx: MutationContext, mutators: readonly PodMutator[]): V1Pod {
  return mutators.reduce((p, m) => m.mutate(p, ctx), pod);
}

const CONFLICT_SEPARATOR = '; ';

/** The pod with `note` appended to llmobs.dev/injection-conflicts (once). Does not change `pod`. */
export function addConflict(pod: V1Pod, note: string): V1Pod {
  const existing = conflictsOf(pod);
  if (existing.includes(note)) return pod;
  return withAnnotations(pod, { [POD_ANNOTATION.conflicts]: [...existing, note].join(CONFLICT_SEPARATOR) });
}

export function conflictsOf(pod: V1Pod): string[] {
  const v = pod.metadata?.annotations?.[POD_ANNOTATION.conflicts];
  return v ? v.split(CONFLICT_SEPARATOR).filter((s) => s !== '') : [];
}

export function withAnnotations(pod: V1Pod, add: Readonly<Record<string, string>>): V1Pod {
  return {
    ...pod,
    metadata: { ...pod.metadata, annotations: { ...pod.metadata?.annotations, ...add } },
  };
}

function csv(value: string | undefined): string[] {
  return (value ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
}

const OWN_CONTAINERS: ReadonlySet<string> = new Set([NAMES.sidecar]);

/**
 * The app containers to instrument: every container but llmobs' own, narrowed to the ones named in
 * llmobs.dev/container-names when the pod has it.
 */
export function targetContainers(pod: V1Pod): V1Container[] {
  const names = csv(pod.metadata?.annotations?.[POD_ANNOTATION.containerNames]);
  return (pod.spec?.containers ?? []).filter(
    (c) => !OWN_CONTAINERS.has(c.name) && (names.length === 0 || names.includes(c.name)),
  );
}

export function isTarget(pod: V1Pod, name: string): boolean {
  return targetContainers(pod).some((c) => c.name === name);
}

/**
 * Runtimes of a container: from llmobs.dev/container-languages ("app=python,sidecar=none") when it
 * names the container, else the resource's languages. A language the resource does not enable is
 * never returned (its image is not configured).
 */
export function languagesOf(pod: V1Pod, container: string, config: EffectiveInjectionConfig): Language[] {
  for (const entry of csv(pod.metadata?.annotations?.[POD_ANNOTATION.containerLanguages])) {
    const [name, lang] = entry.split('=').map((s) => s.trim());
    if (name !== container) continue;
    const l = LANGUAGES.find((x) => x === lang);
    return l && config.languages.includes(l) ? [l] : [];
  }
  return [...config.languages];
}

/**
 * The single runtime of a container when it is known: named in llmobs.dev/container-languages (even if
 * the resource does not auto-instrument it), or the only language of the resource.
 */
export function runtimeOf(
  pod: V1Pod,
  container: string,
  config: EffectiveInjectionConfig,
): Language | undefined {
  for (const entry of csv(pod.metadata?.annotations?.[POD_ANNOTATION.containerLanguages])) {
    const [name, lang] = entry.split('=').map((s) => s.trim());
    if (name === container) return LANGUAGES.find((x) => x === lang);
  }
  return config.languages.length === 1 ? config.languages[0] : undefined;
}

export function findEnv(c: V1Container, name: string): V1EnvVar | undefined {
  return c.env?.find((e) => e.name === name);
}
