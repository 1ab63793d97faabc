// The sample apps of `make demo` (examples/sample-apps): applied as Deployments, admitted and mutated by
// the operator's webhook, "run" by kwok — and run for real as local processes with the env their pods
// received, cluster addresses swapped for this machine's.
import { execFile } from 'node:child_process';
import { copyFileSync, mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { CoreV1Api, CustomObjectsApi, type V1Container, type V1Pod } from '@kubernetes/client-node';
import type { LLMObservabilityStatus } from '../../../operator/src/api/v1alpha1/types.gen.ts';
import { BUNDLE_SOURCE, MOUNT_PATH, NAMES } from '../../../operator/src/webhook/podmutation/constants.ts';
import { buildBundle, PYTHON, pythonAppDeps } from '../../images/bundles.ts';
import { repoRoot } from '../cache.ts';
import type { ControlPlane } from '../control-plane.ts';
import { eventually } from '../eventually.ts';
import { kubeApply } from '../kube-apply.ts';
import { freePort } from '../ports.ts';
import { httpOk, ManagedProcess } from '../process.ts';

export const NAMESPACE = 'llm-demo';
export const RESOURCE = 'demo';
export const SAMPLES_DIR = join(repoRoot, 'examples', 'sample-apps');
/** The OpenAI-compatible server the manifests name; the demo's mock LLM answers in its place. */
export const CLUSTER_LLM_ORIGIN = 'http://mock-llm.llm-demo:8080';
export type Runtime = 'python' | 'nodejs';

/** What the pods' images would bring: the bundle images' folders and the Python app image's openai. */
export interface LocalBundles {
  readonly bundle: Readonly<Record<Runtime, string>>;
  /** The RAG app's own dependencies (its image's `pip install openai`), last on PYTHONPATH. */
  readonly pythonAppDeps: string;
}

/**
 * The real instrumentation bundles (images/autoinstrumentation-*, built by their build.sh and cached, as the
 * bundles' integration test builds them) and the RAG app's dependencies.
 */
export async function localBundles(): Promise<LocalBundles> {
  const [python, nodejs, deps] = await Promise.all([
    buildBundle('python'),
    buildBundle('nodejs'),
    pythonAppDeps(),
  ]);
  return { bundle: { python: python.dir, nodejs: nodejs.dir }, pythonAppDeps: deps.dir };
}

export interface SampleApp {
  /** The Deployment, and the service name the webhook gives its spans. */
  readonly name: string;
  readonly folder: string;
  readonly entry: string;
  readonly runtime: Runtime;
  /** The requests the demo sends it: real prompts, with personal data in them. */
  readonly requests: readonly { readonly path: string; readonly body: Readonly<Record<string, string>> }[];
  /** LLM spans one run of the requests produces. */
  readonly expectedSpans: number;
}

/** Personal data in the prompts below, exactly as sent: none of it may reach Jaeger. */
export const SENT_PII = {
  email: ['jane.doe@example.com', 'sam.lee@example.net'],
  credit_card: ['4111 1111 1111 1111', '5555 5555 5555 4444'],
} as const;

export const SAMPLE_APPS: readonly SampleApp[] = [
  {
    name: 'rag-app',
    folder: 'python-rag',
    entry: 'app.py',
    runtime: 'python',
    requests: [
      {
        path: '/ask',
        body: {
          question: `I'm ${SENT_PII.email[0]} and my card ${SENT_PII.credit_card[0]} was charged twice for one order. When do I get the money back?`,
        },
      },
      { path: '/ask', body: { question: 'How long does shipping take?' } },
    ],
    // The passages' embeddings once, then an embeddings call and a chat call per question.
    expectedSpans: 5,
  },
  {
    name: 'chat-app',
    folder: 'node-chat',
    entry: 'server.mjs',
    runtime: 'nodejs',
    requests: [
      {
        path: '/chat',
        body: {
          message: `Hi, this is ${SENT_PII.email[1]}. Please put my new card ${SENT_PII.credit_card[1]} on file.`,
        },
      },
      { path: '/chat', body: { message: 'Do you ship to Norway?' } },
    ],
    expectedSpans: 2,
  },
];

const crs = (cp: ControlPlane) => cp.kubeConfig().makeApiClient(CustomObjectsApi);

export async function resourceStatus(cp: ControlPlane): Promise<LLMObservabilityStatus | undefined> {
  const r = (await crs(cp).getNamespacedCustomObject({
    group: 'llmobs.dev',
    version: 'v1alpha1',
    namespace: NAMESPACE,
    plural: 'llmobservabilities',
    name: RESOURCE,
  })) as { status?: LLMObservabilityStatus };
  return r.status;
}

/** The app's pod as admitted (mutated) and running on kwok. */
export interface AdmittedPod {
  readonly app: SampleApp;
  readonly pod: V1Pod;
}

/**
 * Applies the namespace and the LLMObservability, waits until the operator reports it Ready (its gateway
 * running on kwok), then applies the apps' Deployments and waits until each has a Running pod the webhook
 * instrumented and the resource's status counts them all.
 */
export async function deploySampleApps(cp: ControlPlane): Promise<AdmittedPod[]> {
  await kubeApply(cp, join(SAMPLES_DIR, 'namespace.yaml'));
  await kubeApply(cp, join(SAMPLES_DIR, 'llmobservability.yaml'));
  await eventually(
    `LLMObservability ${NAMESPACE}/${RESOURCE} Ready`,
    async () =>
      (await resourceStatus(cp))?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True')
        ? true
        : undefined,
    60_000,
  );
  for (const app of SAMPLE_APPS) await kubeApply(cp, join(SAMPLES_DIR, app.folder, 'deployment.yaml'));
  const core = cp.kubeConfig().makeApiClient(CoreV1Api);
  return eventually(
    'the sample pods Running, instrumented and counted',
    async () => {
      const out: AdmittedPod[] = [];
      for (const app of SAMPLE_APPS) {
        const pods = await core.listNamespacedPod({
          namespace: NAMESPACE,
          labelSelector: `app.kubernetes.io/name=${app.name}`,
        });
        const pod = pods.items.find((p) => p.status?.phase === 'Running' && !p.metadata?.deletionTimestamp);
        if (!pod) return undefined;
        out.push({ app, pod });
      }
      const status = await resourceStatus(cp);
      return status?.instrumentedPods === out.length ? out : undefined;
    },
    60_000,
  );
}

function appContainer(pod: V1Pod): V1Container {
  const c = pod.spec?.containers.find((x) => x.name === 'app');
  if (!c) throw new Error(`pod ${pod.metadata?.name} has no container "app"`);
  return c;
}

/** A downward-API field of `pod`, as the kubelet resolves it. */
function fieldOf(pod: V1Pod, path: string): string {
  const m = /^metadata\.(labels|annotations)\['(.+)'\]$/.exec(path);
  if (m) return (m[1] === 'labels' ? pod.metadata?.labels : pod.metadata?.annotations)?.[m[2] ?? ''] ?? '';
  const fields: Record<string, string | undefined> = {
    'metadata.name': pod.metadata?.name,
    'metadata.namespace': pod.metadata?.namespace,
    'metadata.uid': pod.metadata?.uid,
    'spec.nodeName': pod.spec?.nodeName,
    'spec.serviceAccountName': pod.spec?.serviceAccountName,
    'status.podIP': pod.status?.podIP,
    'status.hostIP': pod.status?.hostIP,
  };
  if (!(path in fields)) throw new Error(`downward-API field ${path} is not supported by the demo`);
  return fields[path] ?? '';
}

/**
 * The environment the kubelet would give the pod's app container: literal values with $(VAR) references
 * to earlier variables expanded ($$ is a literal $), downward-API fields and Secret and ConfigMap keys
 * read from the apiserver.
 */
export async function containerEnv(cp: ControlPlane, pod: V1Pod): Promise<Record<string, string>> {
  const core = cp.kubeConfig().makeApiClient(CoreV1Api);
  const namespace = pod.metadata?.namespace ?? NAMESPACE;
  const c = appContainer(pod);
  if (c.envFrom?.length) throw new Error('envFrom is not supported by the demo');
  const env: Record<string, string> = {};
  for (const e of c.env ?? []) {
    let value: string;
    if (e.valueFrom?.fieldRef) value = fieldOf(pod, e.valueFrom.fieldRef.fieldPath);
    else if (e.valueFrom?.secretKeyRef) {
      const { name, key } = e.valueFrom.secretKeyRef;
      const s = await core.readNamespacedSecret({ namespace, name: name ?? '' });
      value = Buffer.from(s.data?.[key] ?? '', 'base64').toString('utf8');
    } else if (e.valueFrom?.configMapKeyRef) {
      const { name, key } = e.valueFrom.configMapKeyRef;
      value = (await core.readNamespacedConfigMap({ namespace, name: name ?? '' })).data?.[key] ?? '';
    } else if (e.valueFrom) throw new Error(`${e.name}: this valueFrom is not supported by the demo`);
    else {
      value = (e.value ?? '').replace(/\$\$|\$\(([A-Za-z_][A-Za-z0-9_]*)\)/g, (m, v: string | undefined) =>
        v === undefined ? '$' : (env[v] ?? m),
      );
    }
    env[e.name] = value;
  }
  return env;
}

export interface LocalAddresses {
  /** status.processorEndpoint, the gateway's in-cluster OTLP/HTTP URL. */
  readonly clusterProcessor: string;
  /** The local processor's OTLP/HTTP URL. */
  readonly localProcessor: string;
  /** The mock LLM's base URL (…/v1). */
  readonly llmUrl: string;
}

/**
 * The pod's env made to run here: the gateway's and the LLM's in-cluster addresses replaced by the local
 * processor's and mock LLM's, the bundles' mount paths by the local folders `mounts` (filled as the init
 * containers fill their emptyDirs), and the app told to listen on a free loopback port. Returns the names of
 * the variables that changed.
 */
export function localize(
  env: Readonly<Record<string, string>>,
  to: LocalAddresses,
  mounts: Readonly<Partial<Record<Runtime, string>>>,
  port: number,
): { env: Record<string, string>; changed: string[] } {
  const rewrites: [string, string][] = [
    [to.clusterProcessor.replace(/\/+$/, ''), to.localProcessor.replace(/\/+$/, '')],
    [CLUSTER_LLM_ORIGIN, new URL(to.llmUrl).origin],
    ...Object.entries(mounts).map(([runtime, path]): [string, string] => [
      MOUNT_PATH[runtime as Runtime],
      path,
    ]),
  ];
  const out: Record<string, string> = {};
  const changed: string[] = [];
  for (const [k, v] of Object.entries(env)) {
    let local = v;
    for (const [from, replacement] of rewrites) if (from !== '') local = local.split(from).join(replacement);
    out[k] = local;
    if (local !== v) changed.push(k);
  }
  out.HOST = '127.0.0.1';
  out.PORT = String(port);
  changed.push('HOST', 'PORT');
  return { env: out, changed };
}

export interface RunningApp {
  readonly app: SampleApp;
  readonly url: string;
  readonly process: ManagedProcess;
  readonly changed: readonly string[];
  readonly envCount: number;
}

/**
 * Does what the pod's init container does: its own command, the bundle image's folder and the emptyDir's
 * mount path swapped for `bundle` and a fresh folder under `dir`, which it returns.
 */
async function runInitContainer(pod: V1Pod, runtime: Runtime, bundle: string, dir: string): Promise<string> {
  const init = pod.spec?.initContainers?.find((c) => c.name === NAMES.initContainer[runtime]);
  if (!init?.command?.length)
    throw new Error(`pod ${pod.metadata?.name} has no init container for ${runtime}`);
  const mount = join(dir, `${pod.metadata?.name ?? runtime}-${runtime}-bundle`);
  mkdirSync(mount, { recursive: true });
  const [cmd, ...args] = init.command.map((a) =>
    a.replace(BUNDLE_SOURCE, bundle).replace(MOUNT_PATH[runtime], mount),
  );
  await promisify(execFile)(cmd ?? '', args);
  return mount;
}

/**
 * Starts the app as a local process with `env` (plus PATH and HOME, which an image would set) on the real
 * instrumentation bundle, copied by the pod's init container command, and waits for /healthz. Python runs
 * under PYTHON with the app's openai last on PYTHONPATH (its image's site-packages); Node.js runs a copy of
 * the app next to a node_modules holding the repository's openai SDK, as an image built from the app's
 * Dockerfile would lay it out. Each bundle loads its OpenTelemetry packages from its own folder only.
 */
export async function startApp(
  app: SampleApp,
  pod: V1Pod,
  to: LocalAddresses,
  bundles: LocalBundles,
  cp: ControlPlane,
  dir: string,
): Promise<RunningApp> {
  const port = await freePort();
  const podEnv = await containerEnv(cp, pod);
  const mount = await runInitContainer(pod, app.runtime, bundles.bundle[app.runtime], dir);
  const { env, changed } = localize(podEnv, to, { [app.runtime]: mount }, port);
  const base: Record<string, string> = {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: process.env.HOME ?? dir,
  };
  const source = join(SAMPLES_DIR, app.folder);
  let command: string;
  let cwd: string;
  if (app.runtime === 'python') {
    command = PYTHON;
    cwd = source;
    env.PYTHONPATH = [env.PYTHONPATH, bundles.pythonAppDeps].filter(Boolean).join(':');
    // Keeps the sample app's folder in the repository and the shared dependency cache free of __pycache__.
    base.PYTHONDONTWRITEBYTECODE = '1';
  } else {
    command = process.execPath;
    cwd = join(dir, app.name);
    mkdirSync(cwd, { recursive: true });
    copyFileSync(join(source, app.entry), join(cwd, app.entry));
    symlinkSync(join(repoRoot, 'test', 'node_modules'), join(cwd, 'node_modules'));
  }
  // What the process gets, for a look or a rerun by hand: `env -i $(cat <app>.env) …`.
  writeFileSync(
    join(dir, `${app.name}.env`),
    Object.entries({ ...base, ...env })
      .map(([k, v]) => `${k}=${v}\n`)
      .join(''),
  );
  const proc = ManagedProcess.start({
    name: app.name,
    logDir: dir,
    command,
    args: [app.entry],
    cwd,
    env: { ...base, ...env },
  });
  const url = `http://127.0.0.1:${port}`;
  await proc.waitUntil(() => httpOk(`${url}/healthz`), `${app.name} /healthz`, 30_000);
  return { app, url, process: proc, changed, envCount: Object.keys(podEnv).length };
}

/** Sends the app its requests, one after another; each must succeed. */
export async function sendTraffic(app: RunningApp): Promise<void> {
  for (const r of app.app.requests) {
    const res = await fetch(`${app.url}${r.path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(r.body),
      signal: AbortSignal.timeout(30_000),
    });
    const text = await res.text();
    if (!res.ok) {
      throw new Error(
        `${app.app.name} POST ${r.path}: HTTP ${res.status}: ${text}\n${app.process.logFile}:\n${app.process.tail()}`,
      );
    }
  }
}
