import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import * as yaml from 'js-yaml';
import type { ControlPlane } from '../../../test/harness/control-plane.ts';
import { type KubeObject, kubeApply } from '../../../test/harness/kube-apply.ts';
import { startLlmobsControlPlane } from '../../../test/harness/operator.ts';
import type { Preview } from './preview.ts';

const cli = join(import.meta.dirname, 'preview.ts');

const OBJECTS: KubeObject[] = [
  {
    apiVersion: 'v1',
    kind: 'Namespace',
    metadata: { name: 'team-a', labels: { tier: 'regulated' } } as KubeObject['metadata'],
  },
  {
    apiVersion: 'llmobs.dev/v1alpha1',
    kind: 'LLMObservabilityPolicy',
    metadata: { name: 'regulated' },
    spec: {
      namespaceSelector: { matchLabels: { tier: 'regulated' } },
      contentCapture: { maxLevel: 'redacted' },
    },
  },
  {
    apiVersion: 'llmobs.dev/v1alpha1',
    kind: 'LLMObservability',
    metadata: { name: 'obs', namespace: 'team-a' },
    spec: {
      selector: { matchLabels: { llm: 'true' } },
      contentCapture: 'full',
      languages: ['python'],
      exporters: [{ name: 'jaeger', endpoint: 'http://jaeger.observability.svc:4318', signals: ['traces'] }],
    },
  },
];

const DEPLOYMENT = `
apiVersion: apps/v1
kind: Deployment
metadata: {name: chat, namespace: team-a}
spec:
  selector: {matchLabels: {app: chat}}
  template:
    metadata: {labels: {app: chat, llm: "true"}}
    spec:
      containers:
        - name: app
          image: chat:1
          resources: {limits: {cpu: "1", memory: 512Mi}}
`;

function run(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', timeout: 60_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('llmobs preview --kubeconfig against a real apiserver', () => {
  let cp: ControlPlane;
  let dir: string;

  before(async () => {
    cp = await startLlmobsControlPlane();
    await kubeApply(cp, OBJECTS);
    dir = mkdtempSync(join(tmpdir(), 'llmobs-preview-it-'));
    writeFileSync(join(dir, 'deployment.yaml'), DEPLOYMENT);
  });
  after(async () => {
    await cp?.stop();
  });

  test('reads the namespace, its resource and the policy from the cluster: the pod is instrumented at the floor', () => {
    const r = run(['-f', join(dir, 'deployment.yaml'), '--kubeconfig', cp.kubeconfigPath, '-o', 'json']);
    assert.equal(r.status, 0, r.stderr);
    const p = JSON.parse(r.stdout) as Preview;
    assert.equal(p.namespace, 'team-a');
    assert.equal(p.outcome, 'injected', p.message);
    assert.equal(p.appliedBy, 'team-a/obs');
    assert.equal(p.effective?.contentCapture.requested, 'full');
    assert.equal(
      p.effective?.contentCapture.afterPolicies,
      'redacted',
      'the policy selected by the namespace label',
    );
    assert.deepEqual(p.effective?.policies, ['regulated']);
    const env = Object.fromEntries((p.pod.spec?.containers[0]?.env ?? []).map((e) => [e.name, e.value]));
    assert.equal(env.OTEL_EXPORTER_OTLP_ENDPOINT, 'http://llmobs-processor-obs.team-a.svc:4318');
    assert.equal(env.OTEL_SERVICE_NAME, 'chat');
    assert.ok(p.changes.initContainersAdded.some((c) => c.startsWith('llmobs-python ')));
  });

  test('gives the same answer as the offline preview of the same objects', () => {
    writeFileSync(join(dir, 'resources.yaml'), OBJECTS.map((o) => yaml.dump(o)).join('---\n'));
    const live = run(['-f', join(dir, 'deployment.yaml'), '--kubeconfig', cp.kubeconfigPath, '-o', 'json']);
    const offline = run([
      '-f',
      join(dir, 'deployment.yaml'),
      '--resources',
      join(dir, 'resources.yaml'),
      '-o',
      'json',
    ]);
    assert.equal(offline.status, 0, offline.stderr);
    const [l, o] = [JSON.parse(live.stdout) as Preview, JSON.parse(offline.stdout) as Preview];
    assert.equal(l.effective?.configHash, o.effective?.configHash);
    assert.deepEqual(l.changes, o.changes);
  });

  test('a namespace relabelled in the cluster is read again: the policy no longer applies', async () => {
    await kubeApply(cp, [
      {
        apiVersion: 'v1',
        kind: 'Namespace',
        metadata: { name: 'team-a', labels: { tier: 'open' } } as KubeObject['metadata'],
      },
    ]);
    try {
      const r = run(['-f', join(dir, 'deployment.yaml'), '--kubeconfig', cp.kubeconfigPath, '-o', 'json']);
      assert.equal(r.status, 0, r.stderr);
      const p = JSON.parse(r.stdout) as Preview;
      assert.equal(p.effective?.contentCapture.afterPolicies, 'full');
      assert.deepEqual(p.effective?.policies, []);
    } finally {
      await kubeApply(cp, [OBJECTS[0] as KubeObject]);
    }
  });

  test('an unreachable cluster exits 1 naming it', () => {
    const kc = yaml.load(readFileSync(cp.kubeconfigPath, 'utf8')) as {
      clusters: { cluster: { server: string } }[];
    };
    for (const c of kc.clusters) c.cluster.server = 'https://127.0.0.1:1';
    writeFileSync(join(dir, 'unreachable.kubeconfig'), yaml.dump(kc));
    const r = run(['-f', join(dir, 'deployment.yaml'), '--kubeconfig', join(dir, 'unreachable.kubeconfig')]);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /reading the context from cluster https:\/\/127\.0\.0\.1:1 failed/);
  });
});
