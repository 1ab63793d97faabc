import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { KubernetesObject } from '@kubernetes/client-node';
import { pino } from 'pino';
import type { LLMObservabilityStatus } from '../api/v1alpha1/types.gen.ts';
import type { LLMObservability, LLMObservabilityPolicy } from '../manifests/resources.ts';
import { LLMObservabilityReconciler } from './llmobservability.ts';
import type { ClusterWriter, Stores, WorkloadView } from './ports.ts';
import type { RolloutPod } from './rollout.ts';

type WithStatus = LLMObservability & { status?: LLMObservabilityStatus };

class FakeCluster implements Stores, ClusterWriter {
  crs = new Map<string, WithStatus>();
  policyList: LLMObservabilityPolicy[] = [];
  nsLabels: Record<string, Record<string, string>> = {};
  pods: RolloutPod[] = [];
  workloads = new Map<string, WorkloadView>();
  restarts: string[] = [];
  ready = new Map<string, number>();
  applied: KubernetesObject[] = [];
  deleted: string[] = [];
  events: { type: string; reason: string; message: string }[] = [];
  statusPatches = 0;
  failApply = false;

  resource(ns: string, name: string) {
    return this.crs.get(`${ns}/${name}`);
  }
  policies() {
    return this.policyList;
  }
  namespaceLabels(ns: string) {
    return this.nsLabels[ns] ?? {};
  }
  instrumentedPods() {
    return this.pods;
  }
  uninstrumented = 0;
  uninstrumentedPods() {
    return this.uninstrumented;
  }
  readyReplicas(ns: string, name: string) {
    return this.ready.get(`${ns}/${name}`);
  }
  async apply(obj: KubernetesObject) {
    if (this.failApply) throw new Error('admission webhook denied the request');
    this.applied.push(obj);
  }
  created: KubernetesObject[] = [];
  async createIfAbsent(obj: KubernetesObject) {
    if (!this.created.some((o) => o.metadata?.name === obj.metadata?.name)) this.created.push(obj);
  }
  async delete(_apiVersion: string, kind: string, ns: string, name: string) {
    this.deleted.push(`${kind}/${ns}/${name}`);
  }
  async patchStatus(ns: string, name: string, status: LLMObservabilityStatus) {
    this.statusPatches++;
    const cr = this.crs.get(`${ns}/${name}`);
    if (cr) this.crs.set(`${ns}/${name}`, { ...cr, status });
  }
  async event(_r: LLMObservability, type: string, reason: string, message: string) {
    this.events.push({ type, reason, message });
  }
  async readWorkload(ns: string, kind: string, name: string) {
    return this.workloads.get(`${kind}/${ns}/${name}`);
  }
  async annotatePodTemplate(ns: string, kind: string, name: string, annotations: Record<string, string>) {
    const k = `${kind}/${ns}/${name}`;
    this.restarts.push(k);
    const w = this.workloads.get(k);
    if (w) this.workloads.set(k, { ...w, templateAnnotations: { ...w.templateAnnotations, ...annotations } });
  }
  status(name = 'chat') {
    return this.crs.get(`llm-app/${name}`)?.status;
  }
  condition(type: string) {
    return this.status()?.conditions?.find((c) => c.type === type);
  }
}

function setup(
  spec: LLMObservability['spec'] = { exporters: [{ name: 'tempo', endpoint: 'http://tempo:4318' }] },
) {
  const fake = new FakeCluster();
  fake.crs.set('llm-app/chat', {
    apiVersion: 'llmobs.dev/v1alpha1',
    kind: 'LLMObservability',
    metadata: { name: 'chat', namespace: 'llm-app', uid: 'u1', generation: 3 },
    spec,
  });
  let clock = new Date('2026-11-23T10:00:00Z');
  const r = new LLMObservabilityReconciler(fake, fake, {
    processorImage: 'llmobs/processor:dev',
    logger: pino({ level: 'silent' }),
    now: () => clock,
  });
  return { fake, r, advance: (ms: number) => (clock = new Date(clock.getTime() + ms)) };
}

test('gateway mode applies ConfigMap, Service and Deployment, and waits for a ready replica', async () => {
  const { fake, r } = setup();
  assert.deepEqual(await r.reconcile({ namespace: 'llm-app', name: 'chat' }), { requeueAfterMs: 10_000 });
  assert.deepEqual(
    fake.applied.map((o) => `${o.kind}/${o.metadata?.name}`),
    ['ConfigMap/llmobs-processor-chat', 'Service/llmobs-processor-chat', 'Deployment/llmobs-processor-chat'],
  );
  assert.equal(fake.condition('Ready')?.status, 'False');
  assert.equal(fake.condition('Ready')?.reason, 'ProcessorNotReady');
  assert.equal(fake.status()?.observedGeneration, 3);
  assert.equal(fake.status()?.processorEndpoint, 'http://llmobs-processor-chat.llm-app.svc:4318');

  fake.ready.set('llm-app/llmobs-processor-chat', 1);
  assert.deepEqual(await r.reconcile({ namespace: 'llm-app', name: 'chat' }), {});
  assert.equal(fake.condition('Ready')?.status, 'True');
  assert.equal(fake.condition('ProcessorReady')?.observedGeneration, 3);
});

test('lastTransitionTime moves only when a condition flips, and unchanged status is not rewritten', async () => {
  const { fake, r, advance } = setup();
  fake.ready.set('llm-app/llmobs-processor-chat', 1);
  await r.reconcile({ namespace: 'llm-app', name: 'chat' });
  const first = fake.condition('Ready')?.lastTransitionTime;
  const patches = fake.statusPatches;
  advance(60_000);
  await r.reconcile({ namespace: 'llm-app', name: 'chat' });
  assert.equal(fake.condition('Ready')?.lastTransitionTime, first);
  assert.equal(fake.statusPatches, patches, 'no status write when nothing changed');
  fake.ready.set('llm-app/llmobs-processor-chat', 0);
  await r.reconcile({ namespace: 'llm-app', name: 'chat' });
  assert.notEqual(fake.condition('Ready')?.lastTransitionTime, first);
});

test('sidecar mode removes any gateway and keeps the ConfigMap for the sidecars', async () => {
  const { fake, r } = setup({
    processor: { mode: 'sidecar' },
    exporters: [{ name: 't', endpoint: 'http://t:4318' }],
  });
  await r.reconcile({ namespace: 'llm-app', name: 'chat' });
  assert.deepEqual(
    fake.applied.map((o) => o.kind),
    ['ConfigMap'],
  );
  assert.deepEqual(fake.deleted, [
    'Deployment/llm-app/llmobs-processor-chat',
    'Service/llm-app/llmobs-processor-chat',
  ]);
  assert.equal(fake.condition('ProcessorReady')?.reason, 'SidecarMode');
  assert.equal(fake.status()?.processorEndpoint, 'http://localhost:4318');
});

test('a policy floor gives PolicyCompliant=False with the reason and a Warning event', async () => {
  const { fake, r } = setup({
    contentCapture: 'full',
    exporters: [{ name: 't', endpoint: 'http://t:4318' }],
  });
  fake.nsLabels['llm-app'] = { 'data-class': 'customer' };
  fake.policyList = [
    {
      apiVersion: 'llmobs.dev/v1alpha1',
      kind: 'LLMObservabilityPolicy',
      metadata: { name: 'customer-data' },
      spec: {
        namespaceSelector: { matchLabels: { 'data-class': 'customer' } },
        contentCapture: { maxLevel: 'redacted' },
      },
    },
  ];
  await r.reconcile({ namespace: 'llm-app', name: 'chat' });
  const c = fake.condition('PolicyCompliant');
  assert.equal(c?.status, 'False');
  assert.match(
    c?.message ?? '',
    /contentCapture full exceeds the maximum redacted set by policy customer-data/,
  );
  assert.deepEqual(
    fake.events.map((e) => [e.type, e.reason]),
    [['Warning', 'PolicyFloorApplied']],
  );
});

test('sidecar mode deletes the gateway once, not on every reconcile, and again after a spell in gateway mode', async () => {
  const { fake, r } = setup({
    processor: { mode: 'sidecar' },
    exporters: [{ name: 't', endpoint: 'http://t:4318' }],
  });
  const req = { namespace: 'llm-app', name: 'chat' };
  await r.reconcile(req);
  await r.reconcile(req);
  await r.reconcile(req);
  assert.deepEqual(fake.deleted, [
    'Deployment/llm-app/llmobs-processor-chat',
    'Service/llm-app/llmobs-processor-chat',
  ]);
  const cr = fake.crs.get('llm-app/chat');
  assert.ok(cr);
  fake.crs.set('llm-app/chat', { ...cr, spec: { ...cr.spec, processor: { mode: 'gateway' } } });
  await r.reconcile(req);
  assert.equal(fake.deleted.length, 2, 'gateway mode deletes nothing');
  fake.crs.set('llm-app/chat', cr);
  await r.reconcile(req);
  await r.reconcile(req);
  assert.equal(fake.deleted.length, 4, 'back in sidecar mode, the gateway just applied is deleted once');
});

test('a resource created in sidecar mode and never changed (generation 1) sends no DELETE at all', async () => {
  const { fake, r } = setup({
    processor: { mode: 'sidecar' },
    exporters: [{ name: 't', endpoint: 'http://t:4318' }],
  });
  const cr = fake.crs.get('llm-app/chat');
  assert.ok(cr);
  fake.crs.set('llm-app/chat', { ...cr, metadata: { ...cr.metadata, generation: 1 } });
  await r.reconcile({ namespace: 'llm-app', name: 'chat' });
  await r.reconcile({ namespace: 'llm-app', name: 'chat' });
  assert.deepEqual(fake.deleted, []);
  assert.equal(fake.condition('ProcessorReady')?.reason, 'SidecarMode');
});

test('a failed gateway delete is retried by the next reconcile', async () => {
  const { fake, r } = setup({
    processor: { mode: 'sidecar' },
    exporters: [{ name: 't', endpoint: 'http://t:4318' }],
  });
  const req = { namespace: 'llm-app', name: 'chat' };
  const del = fake.delete.bind(fake);
  fake.delete = async () => {
    throw new Error('deployments.apps is forbidden');
  };
  await assert.rejects(r.reconcile(req), /forbidden/);
  fake.delete = del;
  await r.reconcile(req);
  assert.deepEqual(fake.deleted, [
    'Deployment/llm-app/llmobs-processor-chat',
    'Service/llm-app/llmobs-processor-chat',
  ]);
});

test('a failed apply is reported in status and as an event, then retried', async () => {
  const { fake, r } = setup();
  fake.failApply = true;
  await assert.rejects(r.reconcile({ namespace: 'llm-app', name: 'chat' }), /denied/);
  assert.equal(fake.condition('Ready')?.reason, 'ApplyFailed');
  assert.equal(fake.events[0]?.reason, 'ApplyFailed');
});

test('counts pods on the current configuration and outdated ones', async () => {
  const { fake, r } = setup();
  fake.ready.set('llm-app/llmobs-processor-chat', 1);
  await r.reconcile({ namespace: 'llm-app', name: 'chat' });
  const hash = fake.status()?.configHash;
  fake.pods = [
    { name: 'a', configHash: hash },
    { name: 'b', configHash: 'old' },
    { name: 'c', configHash: hash },
  ];
  await r.reconcile({ namespace: 'llm-app', name: 'chat' });
  assert.equal(fake.status()?.instrumentedPods, 2);
  assert.equal(fake.status()?.outdatedPods, 1);
});

test('reports pods running without instrumentation, with one Warning each time more escape', async () => {
  const { fake, r } = setup();
  fake.ready.set('llm-app/llmobs-processor-chat', 1);
  await r.reconcile({ namespace: 'llm-app', name: 'chat' });
  assert.equal(fake.status()?.uninstrumentedPods, 0);
  const warnings = () => fake.events.filter((e) => e.reason === 'PodsNotInstrumented');
  assert.equal(warnings().length, 0);

  fake.uninstrumented = 2;
  await r.reconcile({ namespace: 'llm-app', name: 'chat' });
  assert.equal(fake.status()?.uninstrumentedPods, 2);
  assert.equal(warnings().length, 1);
  assert.equal(warnings()[0]?.type, 'Warning');
  assert.match(warnings()[0]?.message ?? '', /2 selected pod\(s\) run without instrumentation/);

  await r.reconcile({ namespace: 'llm-app', name: 'chat' });
  fake.uninstrumented = 1;
  await r.reconcile({ namespace: 'llm-app', name: 'chat' });
  assert.equal(fake.status()?.uninstrumentedPods, 1);
  assert.equal(warnings().length, 1, 'no new warning while the count stays or falls');
});

test('a deleted resource needs no writes: owner references clean up', async () => {
  const { fake, r } = setup();
  fake.crs.clear();
  assert.deepEqual(await r.reconcile({ namespace: 'llm-app', name: 'chat' }), {});
  assert.equal(fake.applied.length + fake.deleted.length + fake.statusPatches, 0);
});

test('no usable exporter: Ready=False with reason NoExporter', async () => {
  const { fake, r } = setup({});
  fake.ready.set('llm-app/llmobs-processor-chat', 1);
  await r.reconcile({ namespace: 'llm-app', name: 'chat' });
  assert.equal(fake.condition('Ready')?.reason, 'NoExporter');
});

test('hash redaction in gateway mode creates the key Secret once and mounts it; the config points at it', async () => {
  const { fake, r } = setup({
    redaction: { action: 'hash' },
    exporters: [{ name: 't', endpoint: 'http://t:4318' }],
  });
  await r.reconcile({ namespace: 'llm-app', name: 'chat' });
  await r.reconcile({ namespace: 'llm-app', name: 'chat' });
  assert.deepEqual(
    fake.created.map((o) => `${o.kind}/${o.metadata?.name}`),
    ['Secret/llmobs-processor-chat-hmac'],
  );
  const dep = fake.applied.find((o) => o.kind === 'Deployment') as {
    spec: { template: { spec: { volumes: { name: string; secret?: { secretName: string } }[] } } };
  };
  assert.equal(
    dep.spec.template.spec.volumes.find((v) => v.name === 'hmac')?.secret?.secretName,
    'llmobs-processor-chat-hmac',
  );
  const cm = fake.applied.find((o) => o.kind === 'ConfigMap') as { data: Record<string, string> };
  assert.match(cm.data['config.yaml'] ?? '', /key_file: \/etc\/llmobs\/hmac\/key/);
});

test('rollout: restarts the Deployments of outdated pods once per hash, rate-limited, pausing on crashes', async () => {
  const { fake, r, advance } = setup({
    exporters: [{ name: 'tempo', endpoint: 'http://tempo:4318' }],
    rollout: { enabled: true, maxWorkloadsPerMinute: 2 },
  });
  fake.ready.set('llm-app/llmobs-processor-chat', 1);
  const req = { namespace: 'llm-app', name: 'chat' };
  for (const app of ['a', 'b', 'c']) {
    fake.workloads.set(`Deployment/llm-app/${app}`, {
      selector: { matchLabels: { app } },
      templateAnnotations: {},
    });
    fake.pods.push({
      name: `${app}-5d8f-x`,
      configHash: 'old',
      labels: { app, 'pod-template-hash': '5d8f' },
      ownerReferences: [{ kind: 'ReplicaSet', name: `${app}-5d8f`, controller: true }],
      createdAt: '2026-11-23T09:00:00Z',
    });
  }
  // A Job's pod and a ReplicaSet whose name-derived Deployment does not select it are left alone.
  fake.pods.push({
    name: 'x',
    configHash: 'old',
    labels: { app: 'other', 'pod-template-hash': '1' },
    ownerReferences: [{ kind: 'ReplicaSet', name: 'a-1', controller: true }],
  });

  assert.deepEqual(await r.reconcile(req), { requeueAfterMs: 30_000 });
  assert.deepEqual(fake.restarts, ['Deployment/llm-app/a', 'Deployment/llm-app/b']);
  const hash = fake.status()?.configHash ?? '';
  assert.deepEqual(fake.workloads.get('Deployment/llm-app/a')?.templateAnnotations, {
    'kubectl.kubernetes.io/restartedAt': '2026-11-23T10:00:00Z',
    'llmobs.dev/restarted-for-hash': hash,
  });
  assert.deepEqual(
    fake.events.filter((e) => e.reason === 'RolloutRestarted').map((e) => e.message.split(':')[0]),
    ['restarted Deployment a', 'restarted Deployment b'],
  );
  assert.deepEqual(fake.status()?.rollout, {
    configHash: hash,
    restartedWorkloads: 2,
    pendingWorkloads: 1,
    lastRestartTime: '2026-11-23T10:00:00Z',
  });
  assert.equal(fake.condition('RolloutPaused')?.status, 'False');

  // Old pods still run (rolling): a and b are not restarted again; c waits for a token.
  advance(10_000);
  assert.deepEqual(await r.reconcile(req), { requeueAfterMs: 20_000 });
  assert.equal(fake.restarts.length, 2);

  // A new pod of a crashes: no further restarts, RolloutPaused=True naming it, one Warning.
  fake.pods.push({
    name: 'a-9c1e-y',
    configHash: hash,
    labels: { app: 'a', 'pod-template-hash': '9c1e' },
    ownerReferences: [{ kind: 'ReplicaSet', name: 'a-9c1e', controller: true }],
    createdAt: '2026-11-23T10:00:05Z',
    containers: [{ name: 'app', waitingReason: 'CrashLoopBackOff', restartCount: 2 }],
  });
  advance(60_000);
  await r.reconcile(req);
  await r.reconcile(req);
  assert.equal(fake.restarts.length, 2);
  assert.equal(fake.condition('RolloutPaused')?.status, 'True');
  assert.equal(fake.condition('RolloutPaused')?.reason, 'NewPodsCrashing');
  assert.match(fake.condition('RolloutPaused')?.message ?? '', /a-9c1e-y/);
  assert.equal(fake.events.filter((e) => e.reason === 'RolloutPaused').length, 1);
  assert.equal(fake.status()?.rollout?.pendingWorkloads, 1);

  // The crash clears: c is restarted.
  fake.pods.pop();
  await r.reconcile(req);
  assert.equal(fake.condition('RolloutPaused')?.status, 'False');
  assert.deepEqual(fake.restarts.at(-1), 'Deployment/llm-app/c');
  assert.equal(fake.status()?.rollout?.restartedWorkloads, 3);
  assert.equal(fake.status()?.rollout?.pendingWorkloads, 0);
});

test('rollout disabled (the default): outdated pods are counted, nothing is restarted', async () => {
  const { fake, r } = setup();
  fake.workloads.set('StatefulSet/llm-app/db', { selector: undefined, templateAnnotations: {} });
  fake.pods = [
    {
      name: 'db-0',
      configHash: 'old',
      ownerReferences: [{ kind: 'StatefulSet', name: 'db', controller: true }],
    },
  ];
  await r.reconcile({ namespace: 'llm-app', name: 'chat' });
  assert.deepEqual(fake.restarts, []);
  assert.equal(fake.status()?.outdatedPods, 1);
  assert.equal(fake.condition('RolloutPaused'), undefined);
});
