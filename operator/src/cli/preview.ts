#!/usr/bin/env node
// llmobs preview: what the pod webhook would inject into a pod or workload manifest, and why.
import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { KubeConfig, type V1Container, type V1EnvVar, type V1Pod } from '@kubernetes/client-node';
import type { Operation as PatchOperation } from 'fast-json-patch';
import * as yaml from 'js-yaml';
import { type Desired, desiredState, type ImageSettings, injectionConfig } from '../controller/desired.ts';
import type { LLMObservability } from '../manifests/resources.ts';
import { type AdmissionRequest, applyResponse, decodePatch } from '../webhook/admission.ts';
import {
  type ConfigSource,
  defaultWebhookSettings,
  type EffectiveInjectionConfig,
  type NamespaceMeta,
  type WebhookSettings,
} from '../webhook/podmutation/config.ts';
import { admitPod } from '../webhook/podmutation/handler.ts';
import { clusterContext, offlineContext, type PreviewContext } from './context.ts';
import { type PodTarget, podsOf } from './manifest.ts';

export const USAGE = `usage: llmobs preview -f MANIFEST.yaml (--resources FILE.yaml | --kubeconfig FILE) [flags]
  -f, --filename FILE            a Pod or a workload (Deployment, StatefulSet, DaemonSet, Job, CronJob,
                                 ReplicaSet: its pod template); several documents are previewed one by one
  --resources FILE               offline: the Namespace, LLMObservability and LLMObservabilityPolicy objects
  --kubeconfig FILE              read them from this cluster instead
  --namespace NS                 namespace of the pod (default: the manifest's, else default)
  --namespace-labels k=v,...     namespace labels to assume (over the Namespace's), for policy selection
  --operator-namespace NS        the operator's namespace, never injected (default llmobs-system)
  --excluded-namespaces A,B      never injected, as the operator's flag (kube-system always)
  --processor-image REF          sidecar image (default: the operator's)
  --instrumentation-image-python REF, --instrumentation-image-nodejs REF  bundle images (default: the operator's)
  -o, --output text|json|patch   text (default), the full result as JSON, or the JSON Patch only
exit status: 0 when the preview ran (injected or not), 1 on unreadable input, 2 on usage errors`;

export interface CliIo {
  readonly stdout: (text: string) => void;
  readonly stderr: (text: string) => void;
  readonly readFile: (path: string) => Promise<string>;
  /** The cluster context for --kubeconfig (tests replace it). */
  readonly cluster: (kubeconfig: string) => PreviewContext;
}

const DEFAULT_IO: CliIo = {
  stdout: (t) => process.stdout.write(t),
  stderr: (t) => process.stderr.write(t),
  readFile: (p) => readFile(p, 'utf8'),
  cluster: (file) => {
    const kc = new KubeConfig();
    kc.loadFromFile(file);
    return clusterContext(kc);
  },
};

/** The defaults of the operator's flags (operator/src/main.ts). */
const DEFAULT_IMAGES: ImageSettings = {
  processorImage: 'ghcr.io/llmobs/processor:0.1.0',
  languageImages: {
    python: 'ghcr.io/llmobs/autoinstrumentation-python:0.1.0',
    nodejs: 'ghcr.io/llmobs/autoinstrumentation-nodejs:0.1.0',
  },
};

/** The effective settings of the resource that applied: the resource after its policies. */
export interface EffectiveSummary {
  readonly resource: string;
  readonly mode: 'gateway' | 'sidecar';
  readonly endpoint: string;
  readonly contentCapture: {
    /** spec.contentCapture (default none). */
    readonly requested: string;
    /** After the policies' floors. */
    readonly afterPolicies: string;
    /** What pods are told to record (after the processor's capabilities, fail closed). */
    readonly injected: string;
    readonly note?: string;
  };
  readonly samplingRatio: number;
  readonly languages: readonly string[];
  readonly exporters: readonly { readonly name: string; readonly signals: readonly string[] }[];
  /** Names of the policies selecting the namespace. */
  readonly policies: readonly string[];
  /** What the policies changed or refused. */
  readonly violations: readonly string[];
  readonly configHash: string;
}

export interface Changes {
  readonly annotations: Readonly<Record<string, string>>;
  readonly labels: Readonly<Record<string, string>>;
  readonly containers: readonly {
    readonly name: string;
    readonly envAdded: readonly string[];
    readonly envChanged: readonly string[];
    readonly volumeMountsAdded: readonly string[];
  }[];
  readonly initContainersAdded: readonly string[];
  readonly containersAdded: readonly string[];
  readonly volumesAdded: readonly string[];
}

export interface Preview {
  readonly source: string;
  readonly namespace: string;
  /** injected / skipped / error (written on the pod) or ignored (left untouched). */
  readonly outcome: string;
  readonly reason: string;
  /** Why, in the webhook's own words (llmobs.dev/injection-reason, or why the pod is not ours). */
  readonly message: string;
  readonly appliedBy?: string;
  readonly warnings: readonly string[];
  readonly effective?: EffectiveSummary;
  readonly changes: Changes;
  readonly patch: readonly PatchOperation[];
  readonly pod: V1Pod;
}

export interface PreviewOptions {
  readonly settings: WebhookSettings;
  readonly images: ImageSettings;
  /** Labels assumed on the namespace, over the ones read. */
  readonly namespaceLabels: Readonly<Record<string, string>>;
}

function envText(e: V1EnvVar): string {
  if (e.value !== undefined) return `${e.name}=${e.value}`;
  const from = e.valueFrom;
  if (from?.fieldRef) return `${e.name} from field ${from.fieldRef.fieldPath}`;
  if (from?.secretKeyRef) return `${e.name} from secret ${from.secretKeyRef.name}/${from.secretKeyRef.key}`;
  if (from?.configMapKeyRef)
    return `${e.name} from configmap ${from.configMapKeyRef.name}/${from.configMapKeyRef.key}`;
  return `${e.name} (valueFrom)`;
}

function describeContainer(c: V1Container): string {
  return `${c.name} (${c.image ?? 'no image'}${c.restartPolicy === 'Always' ? ', native sidecar' : ''})`;
}

function addedOrChanged(
  before: Readonly<Record<string, string>> | undefined,
  after: Readonly<Record<string, string>> | undefined,
): Record<string, string> {
  return Object.fromEntries(Object.entries(after ?? {}).filter(([k, v]) => before?.[k] !== v));
}

/** What the mutated pod has that the admitted one has not. */
export function changesOf(original: V1Pod, mutated: V1Pod): Changes {
  const names = (list: readonly { name: string }[] | undefined) => new Set((list ?? []).map((x) => x.name));
  const origContainers = new Map((original.spec?.containers ?? []).map((c) => [c.name, c]));
  const containers: Changes['containers'][number][] = [];
  for (const c of mutated.spec?.containers ?? []) {
    const o = origContainers.get(c.name);
    if (!o) continue;
    const oldEnv = new Map((o.env ?? []).map((e) => [e.name, e]));
    const envAdded = (c.env ?? []).filter((e) => !oldEnv.has(e.name)).map(envText);
    const envChanged = (c.env ?? [])
      .filter((e) => oldEnv.has(e.name) && JSON.stringify(oldEnv.get(e.name)) !== JSON.stringify(e))
      .map((e) => {
        const was = oldEnv.get(e.name);
        return `${envText(e)} (was ${was ? envText(was).slice(e.name.length + 1) || '(empty)' : ''})`;
      });
    const oldMounts = new Set((o.volumeMounts ?? []).map((m) => m.mountPath));
    const volumeMountsAdded = (c.volumeMounts ?? [])
      .filter((m) => !oldMounts.has(m.mountPath))
      .map((m) => `${m.name} at ${m.mountPath}`);
    if (envAdded.length + envChanged.length + volumeMountsAdded.length > 0) {
      containers.push({ name: c.name, envAdded, envChanged, volumeMountsAdded });
    }
  }
  const oldInit = names(original.spec?.initContainers);
  const oldApp = names(original.spec?.containers);
  const oldVolumes = names(original.spec?.volumes);
  return {
    annotations: addedOrChanged(original.metadata?.annotations, mutated.metadata?.annotations),
    labels: addedOrChanged(original.metadata?.labels, mutated.metadata?.labels),
    containers,
    initContainersAdded: (mutated.spec?.initContainers ?? [])
      .filter((c) => !oldInit.has(c.name))
      .map(describeContainer),
    containersAdded: (mutated.spec?.containers ?? [])
      .filter((c) => !oldApp.has(c.name))
      .map(describeContainer),
    volumesAdded: (mutated.spec?.volumes ?? []).filter((v) => !oldVolumes.has(v.name)).map((v) => v.name),
  };
}

function summarize(cr: LLMObservability, d: Desired, config: EffectiveInjectionConfig): EffectiveSummary {
  return {
    resource: config.appliedBy,
    mode: config.mode,
    endpoint: config.mode === 'sidecar' ? 'http://localhost:4318 (sidecar)' : config.endpoint,
    contentCapture: {
      requested: cr.spec?.contentCapture ?? 'none',
      afterPolicies: d.eff.contentCapture,
      injected: config.contentCapture,
      ...(d.eff.captureNote ? { note: d.eff.captureNote } : {}),
    },
    samplingRatio: config.samplingRatio,
    languages: [...config.languages],
    exporters: d.eff.exporters.map((e) => ({ name: e.name, signals: [...e.signals] })),
    policies: d.policies.map((p) => p.metadata.name),
    violations: d.eff.violations.map((v) => v.message),
    configHash: config.configHash,
  };
}

/**
 * Previews one pod: builds the webhook's inputs exactly as the operator does (desiredState +
 * injectionConfig per LLMObservability of the namespace, with the policies selecting its labels) and runs
 * the webhook's own admission (admitPod: exclusions, selection precedence, the mutator chain) on a dry-run
 * CREATE of the pod.
 */
export async function previewPod(
  target: PodTarget,
  namespace: string,
  ctx: PreviewContext,
  opts: PreviewOptions,
): Promise<Preview> {
  const [nsMeta, crs, policies] = await Promise.all([
    ctx.namespace(namespace),
    ctx.resources(namespace),
    ctx.policies(),
  ]);
  const labels = { ...nsMeta?.labels, ...opts.namespaceLabels };
  const meta: NamespaceMeta | undefined =
    nsMeta || Object.keys(opts.namespaceLabels).length > 0 ? { ...nsMeta, labels } : undefined;
  const desired = new Map<string, { cr: LLMObservability; d: Desired; config: EffectiveInjectionConfig }>();
  for (const cr of crs) {
    const d = desiredState(cr, policies, labels);
    desired.set(cr.metadata.name, { cr, d, config: injectionConfig(cr, d, opts.images) });
  }
  const configSource: ConfigSource = {
    forNamespace: (ns) =>
      ns === namespace ? [...desired.values()].map((x) => ({ resource: x.cr, config: x.config })) : [],
  };
  const pod: V1Pod = { ...target.pod, metadata: { ...target.pod.metadata, namespace } };
  const request: AdmissionRequest = {
    uid: 'llmobs-preview',
    kind: { group: '', version: 'v1', kind: 'Pod' },
    resource: { group: '', version: 'v1', resource: 'pods' },
    namespace,
    operation: 'CREATE',
    object: pod,
    dryRun: true,
  };
  const a = await admitPod(request, {
    configSource,
    namespaces: { get: (ns) => (ns === namespace ? meta : undefined) },
    settings: opts.settings,
  });
  const mutated = applyResponse(pod, a.response);
  const applied = a.appliedBy ? desired.get(a.appliedBy.split('/')[1] ?? '') : undefined;
  return {
    source: target.source,
    namespace,
    outcome: a.outcome,
    reason: a.reason,
    message: a.message,
    ...(a.appliedBy ? { appliedBy: a.appliedBy } : {}),
    warnings: [...(a.response.warnings ?? [])],
    ...(applied ? { effective: summarize(applied.cr, applied.d, applied.config) } : {}),
    changes: changesOf(pod, mutated),
    patch: decodePatch(a.response),
    pod: mutated,
  };
}

const VERDICT: Record<string, string> = {
  injected: 'would be instrumented',
  skipped: 'would NOT be instrumented (the pod is marked skipped)',
  error: 'would NOT be instrumented (the pod is marked error)',
  ignored: 'would NOT be instrumented (left untouched)',
};

export function renderText(p: Preview): string {
  const lines: string[] = [];
  lines.push(`${p.source} in namespace ${p.namespace}: ${VERDICT[p.outcome] ?? p.outcome}`);
  lines.push(`  reason: ${p.reason}`);
  lines.push(`  why: ${p.message}`);
  for (const w of p.warnings) lines.push(`  warning: ${w}`);
  const e = p.effective;
  if (e) {
    const cc = e.contentCapture;
    lines.push(`  effective settings of ${e.resource}:`);
    lines.push(`    mode: ${e.mode}, endpoint ${e.endpoint}`);
    lines.push(
      `    content capture: ${cc.injected} (requested ${cc.requested}, after policies ${cc.afterPolicies})${cc.note ? `; ${cc.note}` : ''}`,
    );
    lines.push(`    sampling ratio: ${e.samplingRatio}`);
    lines.push(
      `    languages: ${e.languages.length > 0 ? e.languages.join(', ') : '(none: environment only)'}`,
    );
    lines.push(
      `    exporters: ${e.exporters.length > 0 ? e.exporters.map((x) => `${x.name} (${x.signals.join(', ')})`).join(', ') : '(none: debug)'}`,
    );
    lines.push(`    policies: ${e.policies.length > 0 ? e.policies.join(', ') : '(none)'}`);
    for (const v of e.violations) lines.push(`    policy floor: ${v}`);
    lines.push(`    config hash: ${e.configHash}`);
  }
  const c = p.changes;
  if (p.patch.length === 0) {
    lines.push('  changes: none (the pod is admitted as it is)');
    return lines.join('\n');
  }
  lines.push('  changes:');
  for (const ct of c.containers) {
    lines.push(`    container ${ct.name}:`);
    for (const x of ct.envAdded) lines.push(`      + env ${x}`);
    for (const x of ct.envChanged) lines.push(`      ~ env ${x}`);
    for (const x of ct.volumeMountsAdded) lines.push(`      + volumeMount ${x}`);
  }
  for (const x of c.initContainersAdded) lines.push(`    + init container ${x}`);
  for (const x of c.containersAdded) lines.push(`    + container ${x}`);
  for (const x of c.volumesAdded) lines.push(`    + volume ${x}`);
  for (const [k, v] of Object.entries(c.labels)) lines.push(`    + label ${k}=${v}`);
  for (const [k, v] of Object.entries(c.annotations)) lines.push(`    + annotation ${k}=${v}`);
  lines.push(`  (${p.patch.length} JSON Patch operations; --output patch prints them)`);
  return lines.join('\n');
}

function csvLabels(value: string): Record<string, string> | string {
  const out: Record<string, string> = {};
  for (const part of value
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)) {
    const i = part.indexOf('=');
    if (i <= 0) return `--namespace-labels: "${part}" is not key=value`;
    out[part.slice(0, i)] = part.slice(i + 1);
  }
  return out;
}

function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

async function loadYaml(io: CliIo, file: string, what: string): Promise<unknown[] | string> {
  let text: string;
  try {
    text = await io.readFile(file);
  } catch (err) {
    return `cannot read ${what} ${file}: ${errorMessage(err)}`;
  }
  try {
    return yaml.loadAll(text);
  } catch (err) {
    return `${what} ${file} is not valid YAML: ${errorMessage(err)}`;
  }
}

export async function main(argv: readonly string[], io: CliIo = DEFAULT_IO): Promise<number> {
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({
      args: [...argv],
      options: {
        filename: { type: 'string', short: 'f' },
        resources: { type: 'string' },
        kubeconfig: { type: 'string' },
        namespace: { type: 'string', short: 'n' },
        'namespace-labels': { type: 'string', default: '' },
        'operator-namespace': { type: 'string', default: 'llmobs-system' },
        'excluded-namespaces': { type: 'string', default: '' },
        'processor-image': { type: 'string', default: DEFAULT_IMAGES.processorImage },
        'instrumentation-image-python': { type: 'string', default: DEFAULT_IMAGES.languageImages.python },
        'instrumentation-image-nodejs': { type: 'string', default: DEFAULT_IMAGES.languageImages.nodejs },
        output: { type: 'string', short: 'o', default: 'text' },
        help: { type: 'boolean', short: 'h', default: false },
      },
    }));
  } catch (err) {
    io.stderr(`${errorMessage(err)}\n${USAGE}\n`);
    return 2;
  }
  if (values.help) {
    io.stdout(`${USAGE}\n`);
    return 0;
  }
  const str = (k: string) => String(values[k] ?? '');
  const usage = (message: string) => {
    io.stderr(`llmobs preview: ${message}\n${USAGE}\n`);
    return 2;
  };
  const output = str('output');
  if (output !== 'text' && output !== 'json' && output !== 'patch') {
    return usage(`--output must be text, json or patch, got "${output}"`);
  }
  if (!values.filename) return usage('-f MANIFEST is required');
  if (Boolean(values.resources) === Boolean(values.kubeconfig)) {
    return usage('exactly one of --resources FILE and --kubeconfig FILE is required');
  }
  const namespaceLabels = csvLabels(str('namespace-labels'));
  if (typeof namespaceLabels === 'string') return usage(namespaceLabels);

  const manifest = await loadYaml(io, str('filename'), 'manifest');
  if (typeof manifest === 'string') {
    io.stderr(`llmobs preview: ${manifest}\n`);
    return 1;
  }
  const { targets, skipped } = podsOf(manifest);
  for (const s of skipped)
    io.stderr(`llmobs preview: ${str('filename')}: ${s.source} ${s.why}; not previewed\n`);
  if (targets.length === 0) {
    io.stderr(`llmobs preview: ${str('filename')} holds no Pod or workload with a pod template\n`);
    return 1;
  }

  let ctx: PreviewContext;
  if (values.resources) {
    const docs = await loadYaml(io, str('resources'), 'resources file');
    if (typeof docs === 'string') {
      io.stderr(`llmobs preview: ${docs}\n`);
      return 1;
    }
    ctx = offlineContext(str('resources'), docs, str('namespace') || 'default');
  } else {
    try {
      ctx = io.cluster(str('kubeconfig'));
    } catch (err) {
      io.stderr(`llmobs preview: cannot load kubeconfig ${str('kubeconfig')}: ${errorMessage(err)}\n`);
      return 1;
    }
  }

  const previews: Preview[] = [];
  try {
    const nativeSidecars = await ctx.nativeSidecars();
    const opts: PreviewOptions = {
      settings: defaultWebhookSettings({
        operatorNamespace: str('operator-namespace'),
        excludedNamespaces: str('excluded-namespaces').split(',').filter(Boolean),
        ...(nativeSidecars !== undefined ? { nativeSidecars } : {}),
      }),
      images: {
        processorImage: str('processor-image'),
        languageImages: {
          python: str('instrumentation-image-python'),
          nodejs: str('instrumentation-image-nodejs'),
        },
      },
      namespaceLabels,
    };
    for (const t of targets) {
      const ns = str('namespace') || t.namespace || 'default';
      previews.push(await previewPod(t, ns, ctx, opts));
    }
  } catch (err) {
    io.stderr(`llmobs preview: reading the context from ${ctx.origin} failed: ${errorMessage(err)}\n`);
    return 1;
  }

  if (output === 'json')
    io.stdout(`${JSON.stringify(previews.length === 1 ? previews[0] : previews, null, 2)}\n`);
  else if (output === 'patch') {
    const patches = previews.map((p) => p.patch);
    io.stdout(`${JSON.stringify(patches.length === 1 ? patches[0] : patches, null, 2)}\n`);
  } else io.stdout(`${previews.map(renderText).join('\n\n')}\n`);
  return 0;
}

if (import.meta.main) {
  process.exitCode = await main(process.argv.slice(2)).catch((err: unknown) => {
    process.stderr.write(
      `llmobs preview: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
    );
    return 1;
  });
}
