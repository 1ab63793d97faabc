// The instrumentation bundles of images/autoinstrumentation-{python,nodejs}, built by their build.sh (what the
// Dockerfiles run) and used exactly as an injected pod uses them: the webhook's own mutator chain mutates a
// Deployment's pod, the init container's `cp -r` copies the bundle into a stand-in for the emptyDir, and a
// plain openai app with no OpenTelemetry code runs with only the env the container got (downward-API values
// filled in, `$(VAR)` expanded, the mount path swapped for the local folder). A `chat` GenAI span must reach a
// local llmobs processor. Builds are cached under ~/.cache/llmobs/bundles keyed by a hash of their inputs
// (./bundles.ts, which `make demo` runs its sample apps on too).
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import type { V1Container, V1EnvVar, V1Pod } from '@kubernetes/client-node';
import type { Language } from '../../operator/src/webhook/podmutation/config.ts';
import { BUNDLE_SOURCE, MOUNT_PATH, NAMES } from '../../operator/src/webhook/podmutation/constants.ts';
import { DEFAULT_MUTATORS } from '../../operator/src/webhook/podmutation/handler.ts';
import { type MutationContext, runChain } from '../../operator/src/webhook/podmutation/mutator.ts';
import { deploymentPod, injectionConfig, settings } from '../../operator/src/webhook/podmutation/testdata.ts';
import { repoRoot } from '../harness/cache.ts';
import { processorConfig, type RunningProcessor, startProcessor } from '../harness/llmobs-processor.ts';
import { type MockLlm, startMockLlm } from '../mock-llm/server.ts';
import { buildBundle, PYTHON, pythonAppDeps } from './bundles.ts';

const run = promisify(execFile);
/** The app's own dependencies folder, as its image would set PYTHONPATH; the webhook prefixes the bundle. */
const APP_DEPS = '/app/deps';

/** What the kubelet would resolve for the downward-API variables the webhook adds. */
const FIELDS: Readonly<Record<string, string>> = {
  'metadata.name': 'chat-api-7d9f8b6c5d-x2x4q',
  'metadata.uid': '6f1d3c2a-0000-4000-8000-00000000beef',
  'spec.nodeName': 'node-1',
};

/** A container's env as the kubelet hands it to the process: fieldRefs filled in, `$(VAR)` expanded. */
function resolvedEnv(c: V1Container): Record<string, string> {
  const out: Record<string, string> = {};
  for (const e of c.env ?? []) {
    let value: string;
    if (e.valueFrom) {
      const field = e.valueFrom.fieldRef?.fieldPath;
      const v = field === undefined ? undefined : FIELDS[field];
      if (v === undefined) throw new Error(`${e.name}: unexpected valueFrom ${JSON.stringify(e.valueFrom)}`);
      value = v;
    } else value = e.value ?? '';
    out[e.name] = value.replace(/\$\(([A-Za-z_][A-Za-z0-9_]*)\)/g, (m, n: string) => out[n] ?? m);
  }
  return out;
}

interface Injected {
  /** The app container's env as its process sees it, mount paths swapped for `mount`. */
  readonly env: Record<string, string>;
  /** The raw value the webhook gave the hook variable (PYTHONPATH / NODE_OPTIONS). */
  readonly hook: string;
}

/**
 * Runs the webhook's mutator chain on a Deployment's pod with `ownEnv` and does what the pod would: the
 * init container's command, with BUNDLE_SOURCE and the mount path swapped for `bundle` and `mount`.
 */
async function inject(
  lang: Language,
  opts: {
    endpoint: string;
    service: string;
    ownEnv: V1EnvVar[];
    bundle: string;
    mount: string;
    hook?: 'require';
  },
): Promise<Injected> {
  const pod: V1Pod = deploymentPod({
    annotations: { 'resource.opentelemetry.io/service.name': opts.service },
  });
  const app = pod.spec?.containers[0];
  assert.ok(app);
  app.env = opts.ownEnv;
  const ctx: MutationContext = {
    namespace: 'team-a',
    config: injectionConfig({
      languages: [lang],
      endpoint: opts.endpoint,
      samplingRatio: 1,
      ...(opts.hook ? { nodejsHook: opts.hook } : {}),
    }),
    settings,
    selection: 'bundles.it.test',
  };
  const mutated = runChain(pod, ctx, DEFAULT_MUTATORS);
  const init = mutated.spec?.initContainers?.find((c) => c.name === NAMES.initContainer[lang]);
  assert.deepEqual(init?.command, ['cp', '-r', `${BUNDLE_SOURCE}/.`, MOUNT_PATH[lang]]);
  const [cmd, ...args] = (init?.command ?? []).map((a) =>
    a.replace(BUNDLE_SOURCE, opts.bundle).replace(MOUNT_PATH[lang], opts.mount),
  );
  assert.ok(cmd);
  await run(cmd, args);
  const container = mutated.spec?.containers.find((c) => c.name === 'app');
  assert.ok(container);
  const raw = resolvedEnv(container);
  const variable = lang === 'python' ? 'PYTHONPATH' : 'NODE_OPTIONS';
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(raw)) env[k] = v.split(MOUNT_PATH[lang]).join(opts.mount);
  return { env, hook: raw[variable] ?? '' };
}

interface FoundSpan {
  readonly name: string;
  readonly attributes: Readonly<Record<string, string>>;
  readonly resource: Readonly<Record<string, string>>;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function list(v: unknown): unknown[] {
  return Array.isArray(v) ? v : [];
}

/** OTLP key-values (as the debug exporter logs them) flattened to strings. */
function attributesOf(kvs: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  for (const kv of list(kvs)) {
    if (!isRecord(kv) || typeof kv.key !== 'string' || !isRecord(kv.value)) continue;
    const first = Object.values(kv.value)[0];
    out[kv.key] = typeof first === 'object' ? JSON.stringify(first) : String(first);
  }
  return out;
}

/** Every span the processor's debug exporter (verbosity detailed) has logged so far. */
function spansOf(p: RunningProcessor): FoundSpan[] {
  const out: FoundSpan[] = [];
  for (const line of p.logs()) {
    if (line.msg !== 'detail' || !isRecord(line.request)) continue;
    for (const rs of list(line.request.resourceSpans)) {
      if (!isRecord(rs)) continue;
      const resource = attributesOf(isRecord(rs.resource) ? rs.resource.attributes : undefined);
      for (const ss of list(rs.scopeSpans)) {
        if (!isRecord(ss)) continue;
        for (const s of list(ss.spans)) {
          if (isRecord(s))
            out.push({ name: String(s.name), attributes: attributesOf(s.attributes), resource });
        }
      }
    }
  }
  return out;
}

async function waitForChatSpan(p: RunningProcessor, service: string, timeoutMs = 20_000): Promise<FoundSpan> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const spans = spansOf(p).filter((s) => s.resource['service.name'] === service);
    const chat = spans.find((s) => s.attributes['gen_ai.operation.name'] === 'chat');
    if (chat) return chat;
    if (Date.now() > deadline) {
      throw new Error(`no chat span from ${service}; spans: ${JSON.stringify(spans.map((s) => s.name))}`);
    }
    await sleep(200);
  }
}

/** The base env of a container image (PATH, HOME) plus the container's env, and nothing of the test's. */
function processEnv(env: Readonly<Record<string, string>>, home: string): Record<string, string> {
  return { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: home, ...env };
}

function assertChatSpan(span: FoundSpan): void {
  assert.match(span.name, /^chat\b/);
  assert.equal(span.attributes['gen_ai.request.model'], 'mock-gpt');
  assert.equal(span.resource['k8s.pod.name'], FIELDS['metadata.name'], 'downward-API resource attributes');
  assert.equal(span.resource['k8s.namespace.name'], 'team-a');
}

describe('instrumentation bundles (images/autoinstrumentation-*)', { timeout: 900_000 }, () => {
  let llm: MockLlm;
  let processor: RunningProcessor;
  let work: string;

  before(async () => {
    work = mkdtempSync(join(tmpdir(), 'llmobs-bundles-'));
    llm = await startMockLlm();
    processor = await startProcessor({
      config: processorConfig({ exporters: { debug: { verbosity: 'detailed' } } }),
      name: 'bundles-processor',
      watch: false,
    });
  });

  after(async () => {
    await processor?.stop();
    await llm?.close();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  test('python: the bundle alone instruments a plain openai app under the system python3', async (t) => {
    const [bundle, deps] = await Promise.all([buildBundle('python'), pythonAppDeps()]);
    t.diagnostic(`python bundle ${bundle.cached ? 'cached' : 'built'} in ${bundle.ms} ms: ${bundle.dir}`);
    t.diagnostic(`python app deps ${deps.cached ? 'cached' : 'built'} in ${deps.ms} ms`);
    const sitecustomize = join(
      'opentelemetry',
      'instrumentation',
      'auto_instrumentation',
      'sitecustomize.py',
    );
    assert.equal(
      readFileSync(join(bundle.dir, sitecustomize), 'utf8'),
      readFileSync(join(repoRoot, 'images', 'autoinstrumentation-python', 'sitecustomize.py'), 'utf8'),
      'build.sh replaces the stock sitecustomize.py with the bundle one',
    );
    // The interpreter itself has no OpenTelemetry: whatever instruments the app comes from the bundle.
    await assert.rejects(run(PYTHON, ['-c', 'import opentelemetry']), 'system python3 has no opentelemetry');

    const mount = mkdtempSync(join(work, 'python-'));
    const service = 'bundle-python';
    const { env, hook } = await inject('python', {
      endpoint: processor.otlpHttpEndpoint,
      service,
      ownEnv: [
        { name: 'PYTHONPATH', value: APP_DEPS },
        { name: 'LLM_BASE_URL', value: llm.url },
      ],
      bundle: bundle.dir,
      mount,
    });
    assert.equal(
      hook,
      `${MOUNT_PATH.python}/opentelemetry/instrumentation/auto_instrumentation:${MOUNT_PATH.python}:${APP_DEPS}`,
    );
    env.PYTHONPATH = (env.PYTHONPATH ?? '').replace(APP_DEPS, deps.dir);
    const { stdout } = await run(PYTHON, [join(import.meta.dirname, 'plain_chat.py')], {
      env: processEnv(env, work),
      cwd: work,
      timeout: 60_000,
    });
    assert.equal(JSON.parse(stdout.trim().split('\n').pop() ?? '').model, 'mock-gpt');
    const span = await waitForChatSpan(processor, service);
    assertChatSpan(span);
    assert.equal(span.resource['telemetry.auto.version'], 'llmobs-bundle', 'configured by the bundle');
  });

  for (const hook of ['import', 'require'] as const) {
    test(`nodejs (--${hook}): the bundle alone instruments a plain openai app`, async (t) => {
      const bundle = await buildBundle('nodejs');
      t.diagnostic(`nodejs bundle ${bundle.cached ? 'cached' : 'built'} in ${bundle.ms} ms: ${bundle.dir}`);
      const mount = mkdtempSync(join(work, 'nodejs-'));
      const service = `bundle-nodejs-${hook}`;
      const { env, hook: flag } = await inject('nodejs', {
        endpoint: processor.otlpHttpEndpoint,
        service,
        ownEnv: [{ name: 'LLM_BASE_URL', value: llm.url }],
        bundle: bundle.dir,
        mount,
        ...(hook === 'require' ? { hook } : {}),
      });
      assert.equal(
        flag,
        hook === 'import'
          ? `--import ${MOUNT_PATH.nodejs}/autoinstrumentation.mjs`
          : `--require ${MOUNT_PATH.nodejs}/autoinstrumentation.js`,
      );
      // The app resolves openai from the repository (test/node_modules), the bundle its SDK from its own copy.
      const script = join(import.meta.dirname, hook === 'import' ? 'plain-chat.mjs' : 'plain-chat.cjs');
      const child = spawn(process.execPath, [script], { env: processEnv(env, work), cwd: work });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d: Buffer) => {
        stdout += d.toString();
      });
      child.stderr.on('data', (d: Buffer) => {
        stderr += d.toString();
      });
      const exited = new Promise<number | string | null>((resolve) =>
        child.on('exit', (code, signal) => resolve(code ?? signal)),
      );
      try {
        const deadline = Date.now() + 60_000;
        while (!stdout.includes('\n')) {
          if (child.exitCode !== null || Date.now() > deadline) {
            throw new Error(`app printed nothing (exit ${child.exitCode}); stderr:\n${stderr}`);
          }
          await sleep(50);
        }
        assert.equal(JSON.parse(stdout.trim()).model, 'mock-gpt');
        // A pod being stopped: the bundle's SIGTERM handler flushes the span and exits 0.
        child.kill('SIGTERM');
        assert.equal(await exited, 0, `exit after SIGTERM; stderr:\n${stderr}`);
      } finally {
        if (child.exitCode === null) child.kill('SIGKILL');
      }
      assertChatSpan(await waitForChatSpan(processor, service, 5_000));
    });
  }
});
