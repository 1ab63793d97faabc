import type { V1Container, V1Pod } from '@kubernetes/client-node';
import type { EffectiveInjectionConfig, Language } from './config.ts';
import { BUNDLE_SOURCE, MOUNT_PATH, NAMES } from './constants.ts';
import {
  addConflict,
  languagesOf,
  type MutationContext,
  type PodMutator,
  targetContainers,
} from './mutator.ts';
import { initContainerResources, initContainerSecurityContext, tooSmall } from './resources.ts';

interface Hook {
  /** The variable that loads the bundle. */
  readonly variable: string;
  /** The value llmobs adds. */
  readonly add: (config: EffectiveInjectionConfig) => string;
  /** Whether `current` already carries what llmobs adds. */
  readonly present: (current: string, config: EffectiveInjectionConfig) => boolean;
  /** Combines the container's value with llmobs'. */
  readonly wrap: (current: string, config: EffectiveInjectionConfig) => string;
}

const PYTHON_PREFIX = `${MOUNT_PATH.python}/opentelemetry/instrumentation/auto_instrumentation:${MOUNT_PATH.python}`;

function nodeFlag(config: EffectiveInjectionConfig): string {
  return (config.nodejsHook ?? 'import') === 'import'
    ? `--import ${MOUNT_PATH.nodejs}/autoinstrumentation.mjs`
    : `--require ${MOUNT_PATH.nodejs}/autoinstrumentation.js`;
}

const HOOKS: Readonly<Record<Language, Hook>> = {
  // Prefix: the bundle's sitecustomize.py must be found first; the container's own path stays after it.
  python: {
    variable: 'PYTHONPATH',
    add: () => PYTHON_PREFIX,
    present: (current) => current === PYTHON_PREFIX || current.startsWith(`${PYTHON_PREFIX}:`),
    wrap: (current) => (current === '' ? PYTHON_PREFIX : `${PYTHON_PREFIX}:${current}`),
  },
  // Append: the container's own flags keep their order and meaning.
  nodejs: {
    variable: 'NODE_OPTIONS',
    add: nodeFlag,
    present: (current, config) => current.includes(nodeFlag(config)),
    wrap: (current, config) => (current.trim() === '' ? nodeFlag(config) : `${current} ${nodeFlag(config)}`),
  },
};

/** Hooks one container in place; returns why it could not, or undefined when hooked. */
function hookContainer(c: V1Container, lang: Language, ctx: MutationContext): string | undefined {
  const hook = HOOKS[lang];
  const small = tooSmall(c, ctx.settings.minimumContainerLimits);
  if (small) return `${c.name}: ${lang} auto-instrumentation skipped, ${small}`;
  const env = [...(c.env ?? [])];
  const existing = env.find((e) => e.name === hook.variable);
  if (existing?.valueFrom) {
    // Its value is only known when the pod starts, so it cannot be wrapped at admission.
    return `${c.name}: ${lang} auto-instrumentation skipped, ${hook.variable} comes from valueFrom`;
  }
  if (!existing) env.push({ name: hook.variable, value: hook.add(ctx.config) });
  else if (!hook.present(existing.value ?? '', ctx.config))
    existing.value = hook.wrap(existing.value ?? '', ctx.config);
  c.env = env;
  const mountPath = MOUNT_PATH[lang];
  const mounts = c.volumeMounts ?? [];
  if (!mounts.some((m) => m.mountPath === mountPath)) {
    c.volumeMounts = [...mounts, { name: NAMES.volume[lang], mountPath, readOnly: true }];
  }
  return undefined;
}

/**
 * Auto-instrumentation for one runtime: an init container copies the bundle from its image into an
 * emptyDir, each target container of that runtime mounts it and loads it through PYTHONPATH (prefix)
 * or NODE_OPTIONS (appended flag). A container whose hook variable comes from valueFrom, or that is
 * too small to carry an SDK, is skipped with a reason; when no container is hooked, nothing is added.
 */
export function autoInstrumentation(lang: Language): PodMutator {
  return {
    name: `autoinstrumentation-${lang}`,
    mutate(pod: V1Pod, ctx: MutationContext): V1Pod {
      const image = ctx.config.images[lang];
      if (!ctx.config.languages.includes(lang) || !image) return pod;
      const wanted = new Set(
        targetContainers(pod)
          .filter((c) => languagesOf(pod, c.name, ctx.config).includes(lang))
          .map((c) => c.name),
      );
      if (wanted.size === 0) return pod;

      const out = structuredClone(pod);
      const spec = out.spec ?? { containers: [] };
      out.spec = spec;
      const notes: string[] = [];
      let hooked = 0;
      for (const c of spec.containers) {
        if (!wanted.has(c.name)) continue;
        const skipped = hookContainer(c, lang, ctx);
        if (skipped) notes.push(skipped);
        else hooked++;
      }
      if (hooked > 0) {
        const volumes = spec.volumes ?? [];
        if (!volumes.some((v) => v.name === NAMES.volume[lang])) {
          spec.volumes = [
            ...volumes,
            { name: NAMES.volume[lang], emptyDir: { sizeLimit: ctx.settings.bundleVolumeSizeLimit } },
          ];
        }
        const inits = spec.initContainers ?? [];
        if (!inits.some((c) => c.name === NAMES.initContainer[lang])) {
          const apps = targetContainers(pod);
          const resources = initContainerResources(apps, ctx.settings.initContainerResources);
          const init: V1Container = {
            name: NAMES.initContainer[lang],
            image,
            imagePullPolicy: 'IfNotPresent',
            command: ['cp', '-r', `${BUNDLE_SOURCE}/.`, MOUNT_PATH[lang]],
            volumeMounts: [{ name: NAMES.volume[lang], mountPath: MOUNT_PATH[lang] }],
            securityContext: initContainerSecurityContext(apps.find((c) => wanted.has(c.name))),
            ...(resources ? { resources } : {}),
          };
          // Before the app's own init containers: those may already use the instrumented runtime.
          spec.initContainers = [init, ...inits];
        }
      }
      return notes.reduce(addConflict, out);
    },
  };
}

export const pythonMutator = autoInstrumentation('python');
export const nodejsMutator = autoInstrumentation('nodejs');
