import type { V1Container, V1EnvVar, V1Pod } from '@kubernetes/client-node';
import { DOWNWARD_ENV, GENAI_SEMCONV_OPT_IN, POD_ANNOTATION, SIDECAR_ENDPOINT } from './constants.ts';
import { contentCaptureEnv } from './content-capture.ts';
import {
  addConflict,
  type MutationContext,
  type PodMutator,
  runtimeOf,
  targetContainers,
} from './mutator.ts';
import { serviceNameOf, workloadOf } from './workload.ts';

export const OTEL_RESOURCE_ATTRIBUTES = 'OTEL_RESOURCE_ATTRIBUTES';
export const OTEL_SERVICE_NAME = 'OTEL_SERVICE_NAME';
export const OTEL_SEMCONV_STABILITY_OPT_IN = 'OTEL_SEMCONV_STABILITY_OPT_IN';
const SIGNAL_ENDPOINTS = [
  'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT',
  'OTEL_EXPORTER_OTLP_METRICS_ENDPOINT',
  'OTEL_EXPORTER_OTLP_LOGS_ENDPOINT',
];

type Desired = { readonly name: string } & ({ readonly value: string } | { readonly fieldPath: string });

function describeDesired(d: Desired): string {
  return 'value' in d ? d.value : `fieldRef ${d.fieldPath}`;
}

function same(existing: V1EnvVar, d: Desired): boolean {
  if ('value' in d) return existing.valueFrom === undefined && (existing.value ?? '') === d.value;
  return existing.valueFrom?.fieldRef?.fieldPath === d.fieldPath;
}

function toEnv(d: Desired): V1EnvVar {
  return 'value' in d
    ? { name: d.name, value: d.value }
    : { name: d.name, valueFrom: { fieldRef: { fieldPath: d.fieldPath } } };
}

/** Percent-encodes a resource attribute value as the SDKs decode it (W3C Baggage style). */
function encodeValue(v: string): string {
  return encodeURIComponent(v);
}

const ATTRIBUTE_KEY = /^[A-Za-z0-9_.\-/]+$/;

/** Keys of a literal OTEL_RESOURCE_ATTRIBUTES value. */
function attributeKeys(value: string): Set<string> {
  const keys = new Set<string>();
  for (const pair of value.split(',')) {
    const i = pair.indexOf('=');
    if (i > 0) keys.add(pair.slice(0, i).trim());
  }
  return keys;
}

/**
 * Sets the llmobs environment of one container, in place on the caller's copy. Never overwrites a
 * variable the container sets: a different value is kept and reported (except OTEL_SERVICE_NAME and
 * the downward-API helpers, where the container's own choice is simply the better one). Returns the
 * conflict notes.
 */
function injectContainer(c: V1Container, pod: V1Pod, ctx: MutationContext): string[] {
  const notes: string[] = [];
  const env: V1EnvVar[] = [...(c.env ?? [])];
  const find = (name: string) => env.find((e) => e.name === name);
  const conflict = (name: string, wanted: string, what = 'kept') => {
    const e = find(name);
    const origin = e?.valueFrom ? 'from valueFrom' : 'by the container';
    notes.push(`${c.name}: ${name} set ${origin}, ${what} (llmobs: ${wanted})`);
  };

  /** All of a group or none of it: a user-set member that differs keeps the whole group the user's. */
  const setGroup = (group: readonly Desired[], report: boolean) => {
    const differing = group.filter((d) => {
      const e = find(d.name);
      return e !== undefined && !same(e, d);
    });
    if (differing.length > 0) {
      if (report) for (const d of differing) conflict(d.name, describeDesired(d));
      return;
    }
    for (const d of group) if (!find(d.name)) env.push(toEnv(d));
  };

  const { config } = ctx;
  setGroup([{ name: DOWNWARD_ENV.podName, fieldPath: 'metadata.name' }], false);
  setGroup([{ name: DOWNWARD_ENV.podUid, fieldPath: 'metadata.uid' }], false);
  setGroup([{ name: DOWNWARD_ENV.nodeName, fieldPath: 'spec.nodeName' }], false);

  const userAttrs = find(OTEL_RESOURCE_ATTRIBUTES);
  const userAttrKeys =
    userAttrs && userAttrs.valueFrom === undefined ? attributeKeys(userAttrs.value ?? '') : new Set<string>();
  // OTEL_SERVICE_NAME wins over service.name in OTEL_RESOURCE_ATTRIBUTES, so a user's service.name there
  // must not be shadowed.
  if (!userAttrKeys.has('service.name')) {
    setGroup([{ name: OTEL_SERVICE_NAME, value: serviceNameOf(pod, c.name) }], false);
  }

  const sidecar = config.mode === 'sidecar';
  const endpoint = sidecar ? SIDECAR_ENDPOINT : config.endpoint;
  const protocol = sidecar ? 'http/protobuf' : config.protocol;
  setGroup(
    [
      { name: 'OTEL_EXPORTER_OTLP_ENDPOINT', value: endpoint },
      { name: 'OTEL_EXPORTER_OTLP_PROTOCOL', value: protocol },
    ],
    true,
  );
  for (const name of SIGNAL_ENDPOINTS) {
    if (find(name))
      conflict(name, `${endpoint} for every signal`, 'so that signal bypasses the llmobs processor');
  }

  setGroup(
    [
      { name: 'OTEL_TRACES_SAMPLER', value: 'parentbased_traceidratio' },
      { name: 'OTEL_TRACES_SAMPLER_ARG', value: String(config.samplingRatio) },
    ],
    true,
  );

  const optIn = find(OTEL_SEMCONV_STABILITY_OPT_IN);
  if (!optIn) env.push({ name: OTEL_SEMCONV_STABILITY_OPT_IN, value: GENAI_SEMCONV_OPT_IN });
  else if (optIn.valueFrom) conflict(OTEL_SEMCONV_STABILITY_OPT_IN, GENAI_SEMCONV_OPT_IN);
  else {
    const list = (optIn.value ?? '').split(',').map((s) => s.trim());
    // A list: adding the GenAI opt-in keeps every opt-in the container chose.
    if (!list.includes(GENAI_SEMCONV_OPT_IN)) {
      optIn.value = [...list.filter((s) => s !== ''), GENAI_SEMCONV_OPT_IN].join(',');
    }
  }

  for (const d of contentCaptureEnv(config.contentCapture, runtimeOf(pod, c.name, config)))
    setGroup([d], true);
  for (const d of config.env) setGroup([d], true);

  // Resource attributes: the k8s ones, then the resource's, then the pod's resource.opentelemetry.io/*
  // annotations (later wins); keys the container already sets are left to it.
  const attrs = new Map<string, string>([
    ['k8s.namespace.name', encodeValue(ctx.namespace)],
    ['k8s.pod.name', `$(${DOWNWARD_ENV.podName})`],
    ['k8s.pod.uid', `$(${DOWNWARD_ENV.podUid})`],
    ['k8s.node.name', `$(${DOWNWARD_ENV.nodeName})`],
    ['k8s.container.name', encodeValue(c.name)],
  ]);
  const workload = workloadOf(pod).attributes;
  for (const k of Object.keys(workload).sort()) attrs.set(k, encodeValue(workload[k] ?? ''));
  for (const k of Object.keys(config.resourceAttributes).sort()) {
    attrs.set(k, encodeValue(config.resourceAttributes[k] ?? ''));
  }
  const annotations = pod.metadata?.annotations ?? {};
  for (const k of Object.keys(annotations).sort()) {
    if (!k.startsWith(POD_ANNOTATION.resourcePrefix)) continue;
    const key = k.slice(POD_ANNOTATION.resourcePrefix.length);
    if (key !== 'service.name') attrs.set(key, encodeValue(annotations[k] ?? ''));
  }
  const ours = [...attrs]
    .filter(([k]) => {
      if (ATTRIBUTE_KEY.test(k)) return true;
      notes.push(`${c.name}: resource attribute key "${k}" is not valid, dropped`);
      return false;
    })
    .filter(([k]) => !userAttrKeys.has(k))
    .map(([k, v]) => `${k}=${v}`)
    .join(',');

  const i = env.findIndex((e) => e.name === OTEL_RESOURCE_ATTRIBUTES);
  if (userAttrs?.valueFrom) {
    conflict(OTEL_RESOURCE_ATTRIBUTES, 'k8s.* attributes', 'no Kubernetes attributes added');
  } else {
    const current = (userAttrs?.value ?? '').replace(/,+$/, '');
    const merged = [current, ours].filter((s) => s !== '').join(',');
    if (i >= 0) env.splice(i, 1);
    // Last, so the $(VAR) references to the downward-API variables above it resolve.
    env.push({ name: OTEL_RESOURCE_ATTRIBUTES, value: merged });
  }

  c.env = env;
  return notes;
}

/**
 * The OpenTelemetry environment of every target container: service name, OTLP endpoint and protocol
 * (localhost in sidecar mode), Kubernetes resource attributes from the downward API, the sampler, the
 * GenAI semconv opt-in, the content-capture switches of each GenAI instrumentation family and the
 * resource's extra variables.
 */
export const envMutator: PodMutator = {
  name: 'env',
  mutate(pod, ctx) {
    const out = structuredClone(pod);
    const targets = new Set(targetContainers(pod).map((c) => c.name));
    const notes: string[] = [];
    for (const c of out.spec?.containers ?? []) {
      if (targets.has(c.name)) notes.push(...injectContainer(c, pod, ctx));
    }
    return notes.reduce(addConflict, out);
  },
};
