import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { request } from 'node:https';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { connect } from 'node:tls';
import { AdmissionregistrationV1Api, type V1Pod } from '@kubernetes/client-node';
import { Registry } from 'prom-client';
import { type ControlPlane, startControlPlane } from '../../../test/harness/control-plane.ts';
import { eventually } from '../../../test/harness/eventually.ts';
import { type KubeObject, kubeApply, kubeRequest } from '../../../test/harness/kube-apply.ts';
import { type Kwok, startKwok } from '../../../test/harness/kwok.ts';
import { freePort } from '../../../test/harness/ports.ts';
import type { AdmissionReview } from './admission.ts';
import {
  type CertificateSettings,
  ensureWebhookCertificate,
  KubeSecretStore,
  type WebhookCertificate,
  WebhookCertificateManager,
} from './certs.ts';
import { INJECTIONS_TOTAL } from './metrics.ts';
import { KubeNamespaceLookup } from './namespaces.ts';
import { type ConfigSource, InMemoryConfigSource, type SelectableResource } from './podmutation/config.ts';
import { injectionConfig, settings } from './podmutation/testdata.ts';
import { publishCertificate } from './rotation.ts';
import type { WebhookServer } from './server.ts';
import { type InjectionWebhook, startInjectionWebhook } from './start.ts';
import { WEBHOOK_CONFIGURATION_NAME } from './webhook-config.ts';

const NODE = 'kwok-node-0';
const DAY = 86_400_000;
const PROCESSOR_IMAGE = 'registry.example/llmobs/processor:0.1.0';
const crds = join(import.meta.dirname, '..', '..', '..', 'crds');

function namespace(name: string, annotations?: Record<string, string>): KubeObject {
  return { apiVersion: 'v1', kind: 'Namespace', metadata: { name, ...(annotations ? { annotations } : {}) } };
}

function llmobs(ns: string, spec: Record<string, unknown> = {}): KubeObject {
  return {
    apiVersion: 'llmobs.dev/v1alpha1',
    kind: 'LLMObservability',
    metadata: { name: 'obs', namespace: ns },
    spec: { exporters: [{ name: 'tempo', endpoint: 'http://tempo.observability:4318' }], ...spec },
  };
}

/** The app pod every test creates: a Python LLM app bound to the kwok node. */
function appPod(name: string, annotations?: Record<string, string>): V1Pod {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, labels: { app: 'chat' }, ...(annotations ? { annotations } : {}) },
    spec: {
      nodeName: NODE,
      containers: [
        {
          name: 'app',
          image: 'registry.example/chat-api:2.3.1',
          env: [{ name: 'PYTHONPATH', value: '/app/src' }],
          resources: { requests: { cpu: '250m', memory: '256Mi' }, limits: { cpu: '1', memory: '512Mi' } },
          securityContext: { runAsUser: 10001, runAsNonRoot: true },
        },
      ],
    },
  };
}

function annotationsOf(pod: V1Pod): Record<string, string> {
  return Object.fromEntries(
    Object.entries(pod.metadata?.annotations ?? {}).filter(([k]) => k.startsWith('llmobs.dev/')),
  );
}

/** Env as [name, value or fieldRef path] pairs, whatever defaults the apiserver added. */
function envPairs(pod: V1Pod, container = 'app'): [string, string][] {
  const c = pod.spec?.containers.find((x) => x.name === container);
  return (c?.env ?? []).map((e) => [
    e.name,
    e.value ?? `fieldRef:${e.valueFrom?.fieldRef?.fieldPath ?? '?'}`,
  ]);
}

describe('pod injection webhook on a real kube-apiserver', () => {
  let cp: ControlPlane;
  let kwok: Kwok;
  let webhook: InjectionWebhook;
  let server: WebhookServer;
  let cert: WebhookCertificate;
  let secretSettings: CertificateSettings;
  const registry = new Registry();

  async function createPod(ns: string, body: V1Pod, opts: { dryRun?: boolean } = {}): Promise<V1Pod> {
    const res = await kubeRequest(
      cp,
      'POST',
      `/api/v1/namespaces/${ns}/pods${opts.dryRun ? '?dryRun=All' : ''}`,
      JSON.stringify(body),
    );
    assert.ok(res.status === 201 || res.status === 200, `create pod ${ns}: ${res.status} ${res.body}`);
    return JSON.parse(res.body) as V1Pod;
  }

  async function getPod(ns: string, name: string): Promise<V1Pod | undefined> {
    const res = await kubeRequest(cp, 'GET', `/api/v1/namespaces/${ns}/pods/${name}`);
    return res.status === 200 ? (JSON.parse(res.body) as V1Pod) : undefined;
  }

  async function events(
    ns: string,
  ): Promise<{ involvedObject: { kind: string; name: string }; reason: string; type: string }[]> {
    const res = await kubeRequest(cp, 'GET', `/api/v1/namespaces/${ns}/events`);
    return (JSON.parse(res.body) as { items: [] }).items;
  }

  /** Every admission the webhook server answered (not dry-run). */
  async function admissions(): Promise<number> {
    const m = await registry.getSingleMetric(INJECTIONS_TOTAL)?.get();
    return (m?.values ?? []).reduce((n, v) => n + v.value, 0);
  }

  before(async () => {
    cp = await startControlPlane({ controllerManager: true });
    kwok = await startKwok(cp);
    const kc = cp.kubeConfig();
    await kubeApply(cp, join(crds, 'llmobs.dev_llmobservabilities.yaml'));
    await kubeApply(cp, [
      namespace('llmobs-system'),
      namespace('team-a'),
      namespace('team-b'),
      namespace('quiet', { 'llmobs.dev/inject': 'false' }),
      namespace('broken'),
    ]);
    await kwok.addNode(NODE);

    // The resources as the apiserver stores them (defaults, creationTimestamp); the effective configs as
    // the controller would compute them.
    const applied = await eventually('the LLMObservability API to be served', () =>
      kubeApply(cp, [
        llmobs('team-a'),
        llmobs('team-b', { processor: { mode: 'sidecar' } }),
        llmobs('quiet'),
        llmobs('broken'),
      ]),
    );
    const [a, b, quiet] = applied as unknown as SelectableResource[];
    if (!a || !b || !quiet) throw new Error('resources not applied');
    const sources = new InMemoryConfigSource([
      { resource: a, config: injectionConfig({ appliedBy: 'team-a/obs', languages: ['python'] }) },
      {
        resource: b,
        config: injectionConfig({
          appliedBy: 'team-b/obs',
          mode: 'sidecar',
          sidecar: { image: PROCESSOR_IMAGE, configMapName: 'llmobs-processor-obs' },
        }),
      },
      { resource: quiet, config: injectionConfig({ appliedBy: 'quiet/obs' }) },
    ]);
    const configSource: ConfigSource = {
      forNamespace: (ns) => {
        if (ns === 'broken') throw new Error('effective configuration of broken/obs is not computed yet');
        return sources.forNamespace(ns);
      },
    };

    // Certificates issued 201 days ago by a 300-day CA: valid now, but due for CA rotation (a later test).
    secretSettings = {
      secretNamespace: 'llmobs-system',
      secretName: 'llmobs-webhook-tls',
      dnsNames: ['localhost'],
      ipAddresses: ['127.0.0.1'],
      caValidityDays: 300,
      certValidityDays: 90,
    };
    const port = await freePort();
    webhook = await startInjectionWebhook({
      kc,
      configSource,
      settings: { ...settings, nativeSidecars: true },
      registry,
      certificate: { ...secretSettings, certValidityDays: 365, now: () => new Date(Date.now() - 201 * DAY) },
      webhook: { url: `https://127.0.0.1:${port}` },
      port,
      host: '127.0.0.1',
      namespaces: new KubeNamespaceLookup(kc, 0),
    });
    server = webhook.server;
    const stored = await kc
      .makeApiClient(AdmissionregistrationV1Api)
      .readMutatingWebhookConfiguration({ name: WEBHOOK_CONFIGURATION_NAME });
    cert = await ensureWebhookCertificate(new KubeSecretStore(kc), {
      ...secretSettings,
      now: () => new Date(Date.now() - 201 * DAY),
    }).then((r) => r.certificate);
    assert.equal(
      Buffer.from(stored.webhooks?.[0]?.clientConfig.caBundle ?? '', 'base64').toString(),
      cert.caBundlePem,
      'startInjectionWebhook published the caBundle',
    );
    await eventually('the apiserver to call the webhook', async () => {
      const p = await createPod('team-a', appPod('probe'), { dryRun: true });
      return annotationsOf(p)['llmobs.dev/injection-status'] ? p : undefined;
    });
  });

  after(async () => {
    await webhook?.stop();
    await kwok?.stop();
    await cp?.stop();
  });

  test('a pod created through the apiserver comes back mutated exactly as expected, and kwok runs it', async () => {
    const pod = await createPod('team-a', appPod('chat-0'));
    assert.deepEqual(annotationsOf(pod), {
      'llmobs.dev/injection-status': 'injected',
      'llmobs.dev/injection-reason':
        'Injected: matched the label selector -> team-a/obs; containers app; auto-instrumentation python; processor gateway',
      'llmobs.dev/config-hash': 'c0ffee',
      'llmobs.dev/applied-by': 'team-a/obs',
    });
    assert.deepEqual(envPairs(pod), [
      [
        'PYTHONPATH',
        '/llmobs-instrumentation/python/opentelemetry/instrumentation/auto_instrumentation:/llmobs-instrumentation/python:/app/src',
      ],
      ['OTEL_RESOURCE_ATTRIBUTES_POD_NAME', 'fieldRef:metadata.name'],
      ['OTEL_RESOURCE_ATTRIBUTES_POD_UID', 'fieldRef:metadata.uid'],
      ['OTEL_RESOURCE_ATTRIBUTES_NODE_NAME', 'fieldRef:spec.nodeName'],
      ['OTEL_SERVICE_NAME', 'chat-0'],
      ['OTEL_EXPORTER_OTLP_ENDPOINT', 'http://llmobs-processor-obs.team-a.svc:4318'],
      ['OTEL_EXPORTER_OTLP_PROTOCOL', 'http/protobuf'],
      ['OTEL_TRACES_SAMPLER', 'parentbased_traceidratio'],
      ['OTEL_TRACES_SAMPLER_ARG', '0.25'],
      ['OTEL_SEMCONV_STABILITY_OPT_IN', 'gen_ai_latest_experimental'],
      ['OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT', 'NO_CONTENT'],
      ['TRACELOOP_TRACE_CONTENT', 'false'],
      ['OPENINFERENCE_HIDE_INPUTS', 'true'],
      ['OPENINFERENCE_HIDE_OUTPUTS', 'true'],
      ['OPENINFERENCE_HIDE_INPUT_MESSAGES', 'true'],
      ['OPENINFERENCE_HIDE_OUTPUT_MESSAGES', 'true'],
      ['OPENINFERENCE_HIDE_INPUT_IMAGES', 'true'],
      ['OPENINFERENCE_HIDE_INPUT_TEXT', 'true'],
      ['OPENINFERENCE_HIDE_OUTPUT_TEXT', 'true'],
      ['OPENINFERENCE_HIDE_PROMPTS', 'true'],
      ['OPENINFERENCE_HIDE_CHOICES', 'true'],
      ['OPENINFERENCE_HIDE_EMBEDDINGS_TEXT', 'true'],
      ['OPENINFERENCE_HIDE_EMBEDDINGS_VECTORS', 'true'],
      ['OPENINFERENCE_HIDE_RETRIEVAL_DOCUMENTS', 'true'],
      [
        'OTEL_RESOURCE_ATTRIBUTES',
        'k8s.namespace.name=team-a,k8s.pod.name=$(OTEL_RESOURCE_ATTRIBUTES_POD_NAME),k8s.pod.uid=$(OTEL_RESOURCE_ATTRIBUTES_POD_UID),' +
          'k8s.node.name=$(OTEL_RESOURCE_ATTRIBUTES_NODE_NAME),k8s.container.name=app',
      ],
    ]);
    const [init, ...moreInit] = pod.spec?.initContainers ?? [];
    assert.equal(moreInit.length, 0);
    assert.equal(init?.name, 'llmobs-python');
    assert.equal(init?.image, 'registry.example/llmobs/python:1.0.0');
    assert.deepEqual(init?.command, ['cp', '-r', '/autoinstrumentation/.', '/llmobs-instrumentation/python']);
    assert.deepEqual(init?.resources, {
      requests: { cpu: '50m', memory: '64Mi' },
      limits: { cpu: '500m', memory: '256Mi' },
    });
    assert.equal(init?.securityContext?.runAsUser, 10001);
    assert.equal(init?.securityContext?.allowPrivilegeEscalation, false);
    assert.deepEqual(
      pod.spec?.containers[0]?.volumeMounts?.find((m) => m.name === 'llmobs-python'),
      {
        name: 'llmobs-python',
        mountPath: '/llmobs-instrumentation/python',
        readOnly: true,
      },
    );
    assert.deepEqual(pod.spec?.volumes?.find((v) => v.name === 'llmobs-python')?.emptyDir, {
      sizeLimit: '200Mi',
    });

    const running = await eventually('kwok to run the mutated pod', async () => {
      const p = await getPod('team-a', 'chat-0');
      return p?.status?.phase === 'Running' ? p : undefined;
    });
    assert.equal(running.status?.initContainerStatuses?.[0]?.name, 'llmobs-python');
    await eventually('an Injected Event on the pod', async () =>
      (await events('team-a')).find((e) => e.involvedObject.name === 'chat-0' && e.reason === 'Injected'),
    );
  });

  test('sidecar mode: the processor is a native sidecar, the app exports to localhost, and kwok runs it', async () => {
    const pod = await createPod('team-b', appPod('chat-b'));
    const sidecar = pod.spec?.initContainers?.find((c) => c.name === 'llmobs-processor');
    assert.equal(sidecar?.restartPolicy, 'Always');
    assert.equal(sidecar?.image, PROCESSOR_IMAGE);
    assert.deepEqual(sidecar?.args, ['--config', '/etc/llmobs/config.yaml']);
    assert.deepEqual(
      pod.spec?.volumes?.find((v) => v.name === 'llmobs-processor-config')?.configMap?.name,
      'llmobs-processor-obs',
    );
    assert.deepEqual(
      pod.spec?.containers.map((c) => c.name),
      ['app'],
    );
    const env = new Map(envPairs(pod));
    assert.equal(env.get('OTEL_EXPORTER_OTLP_ENDPOINT'), 'http://localhost:4318');
    assert.equal(env.get('PYTHONPATH'), '/app/src', 'no auto-instrumentation was asked for in team-b');
    await eventually('kwok to run the sidecar pod', async () => {
      const p = await getPod('team-b', 'chat-b');
      return p?.status?.phase === 'Running' ? p : undefined;
    });
  });

  test('a Deployment’s pods (generateName, owner ReplicaSet) get the Deployment as service, and the Event goes to the ReplicaSet', async () => {
    await kubeApply(cp, [
      {
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        metadata: { name: 'chat-api', namespace: 'team-a' },
        spec: {
          replicas: 1,
          selector: { matchLabels: { app: 'chat-api' } },
          template: {
            metadata: { labels: { app: 'chat-api' } },
            spec: { nodeName: NODE, containers: [{ name: 'app', image: 'registry.example/chat-api:2.3.1' }] },
          },
        },
      },
    ]);
    const pod = await eventually('the ReplicaSet to create an instrumented pod', async () => {
      const res = await kubeRequest(cp, 'GET', '/api/v1/namespaces/team-a/pods?labelSelector=app%3Dchat-api');
      return (JSON.parse(res.body) as { items: V1Pod[] }).items[0];
    });
    const env = new Map(envPairs(pod));
    assert.equal(env.get('OTEL_SERVICE_NAME'), 'chat-api');
    assert.match(
      env.get('OTEL_RESOURCE_ATTRIBUTES') ?? '',
      /k8s\.deployment\.name=chat-api,k8s\.replicaset\.name=chat-api-[a-z0-9]+/,
    );
    assert.equal(annotationsOf(pod)['llmobs.dev/injection-status'], 'injected');
    const rs = pod.metadata?.ownerReferences?.[0]?.name;
    await eventually('an Injected Event on the ReplicaSet', async () =>
      (await events('team-a')).find(
        (e) => e.involvedObject.kind === 'ReplicaSet' && e.involvedObject.name === rs,
      ),
    );
  });

  test('a pod annotated llmobs.dev/inject=false comes back unchanged and never reaches the webhook (matchConditions)', async () => {
    const before = await admissions();
    const pod = await createPod('team-a', appPod('opted-out', { 'llmobs.dev/inject': 'false' }));
    assert.deepEqual(annotationsOf(pod), { 'llmobs.dev/inject': 'false' });
    assert.deepEqual(envPairs(pod), [['PYTHONPATH', '/app/src']]);
    assert.equal(pod.spec?.initContainers, undefined);
    assert.equal(await admissions(), before);
  });

  test('a pod in a namespace annotated llmobs.dev/inject=false comes back unchanged', async () => {
    const pod = await createPod('quiet', appPod('quiet-0'));
    assert.deepEqual(annotationsOf(pod), {});
    assert.deepEqual(envPairs(pod), [['PYTHONPATH', '/app/src']]);
  });

  test('a pod in kube-system is never sent to the webhook, even when it asks for injection', async () => {
    const before = await admissions();
    const pod = await createPod('kube-system', appPod('system-0', { 'llmobs.dev/inject': 'true' }));
    assert.deepEqual(annotationsOf(pod), { 'llmobs.dev/inject': 'true' });
    assert.deepEqual(envPairs(pod), [['PYTHONPATH', '/app/src']]);
    assert.equal(await admissions(), before);
  });

  test('a dry-run create is mutated in the response, but nothing is stored, counted or reported', async () => {
    const before = await admissions();
    const pod = await createPod('team-a', appPod('dry-0'), { dryRun: true });
    assert.equal(annotationsOf(pod)['llmobs.dev/injection-status'], 'injected');
    assert.equal(pod.spec?.initContainers?.[0]?.name, 'llmobs-python');
    assert.equal(await getPod('team-a', 'dry-0'), undefined);
    await sleep(1_000);
    assert.equal(await admissions(), before);
    assert.equal((await events('team-a')).filter((e) => e.involvedObject.name === 'dry-0').length, 0);
  });

  test('a second admission of an already-mutated pod is a no-op', async () => {
    const first = (await getPod('team-a', 'chat-0')) as V1Pod;
    // Re-create it under another name, exactly as stored (what a `kubectl get -o yaml | kubectl create` does).
    const {
      uid: _u,
      resourceVersion: _r,
      creationTimestamp: _c,
      managedFields: _m,
      ...meta
    } = first.metadata ?? {};
    const again = await createPod('team-a', {
      ...first,
      metadata: { ...meta, name: 'chat-0-copy' },
      status: {},
    });
    assert.deepEqual(annotationsOf(again), annotationsOf(first));
    assert.deepEqual(envPairs(again), envPairs(first));
    assert.deepEqual(
      again.spec?.initContainers?.map((c) => c.name),
      ['llmobs-python'],
    );
    // And the server itself answers it without a patch.
    const res = await fetchReview(server, cert.caPem, first);
    assert.equal(res.response?.allowed, true);
    assert.equal(res.response?.patch, undefined);
  });

  test('with the webhook answering an internal error, the pod is still created, with injection-status error', async () => {
    const pod = await createPod('broken', appPod('broken-0'));
    assert.equal(annotationsOf(pod)['llmobs.dev/injection-status'], 'error');
    assert.match(
      annotationsOf(pod)['llmobs.dev/injection-reason'] ?? '',
      /^InternalError: effective configuration of broken\/obs/,
    );
    assert.deepEqual(envPairs(pod), [['PYTHONPATH', '/app/src']]);
    await eventually('a Warning Event for the error', async () =>
      (await events('broken')).find((e) => e.reason === 'InternalError' && e.type === 'Warning'),
    );
  });

  test('CA rotation: caBundle is published (old and new CA), then the new certificate is served, and pods are still mutated', async () => {
    const kc = cp.kubeConfig();
    const actions: string[] = [];
    const publish = publishCertificate({
      kc,
      configurations: [WEBHOOK_CONFIGURATION_NAME],
      server,
      propagationDelayMs: 2_000,
    });
    const manager = new WebhookCertificateManager(new KubeSecretStore(kc), secretSettings, {
      onChange: async (c, action) => {
        actions.push(action);
        await publish(c, action);
      },
    });
    const next = await manager.ensure();
    assert.deepEqual(actions, ['rotated-ca']);
    assert.notEqual(next.caPem, cert.caPem);
    const stored = await kc
      .makeApiClient(AdmissionregistrationV1Api)
      .readMutatingWebhookConfiguration({ name: WEBHOOK_CONFIGURATION_NAME });
    const bundle = Buffer.from(stored.webhooks?.[0]?.clientConfig.caBundle ?? '', 'base64').toString();
    assert.ok(bundle.includes(next.caPem.trim()) && bundle.includes(cert.caPem.trim()));
    const served = await new Promise<string>((resolve, reject) => {
      const s = connect({ host: '127.0.0.1', port: server.port, rejectUnauthorized: false }, () => {
        resolve(s.getPeerX509Certificate()?.fingerprint256 ?? '');
        s.end();
      });
      s.on('error', reject);
    });
    assert.equal(served, new X509Certificate(next.certPem).fingerprint256);
    const pod = await createPod('team-a', appPod('after-rotation'));
    assert.equal(annotationsOf(pod)['llmobs.dev/injection-status'], 'injected');
  });

  test('with the webhook server stopped, pods are still created (fail open), untouched', async () => {
    await server.stop();
    const started = Date.now();
    const pod = await createPod('team-a', appPod('while-down'));
    assert.ok(Date.now() - started < 5_000, 'not held for the webhook timeout');
    assert.deepEqual(annotationsOf(pod), {});
    assert.equal(pod.spec?.initContainers, undefined);
  });
});

async function fetchReview(server: WebhookServer, ca: string, pod: V1Pod): Promise<AdmissionReview> {
  const body = JSON.stringify({
    apiVersion: 'admission.k8s.io/v1',
    kind: 'AdmissionReview',
    request: {
      uid: 'again',
      kind: { group: '', version: 'v1', kind: 'Pod' },
      resource: { group: '', version: 'v1', resource: 'pods' },
      namespace: 'team-a',
      operation: 'CREATE',
      object: pod,
    },
  });
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port: server.port,
        path: '/mutate-v1-pod',
        method: 'POST',
        ca,
        headers: { 'content-type': 'application/json' },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve(JSON.parse(Buffer.concat(chunks).toString()) as AdmissionReview));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}
