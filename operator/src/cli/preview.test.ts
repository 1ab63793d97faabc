import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import type { Operation } from 'fast-json-patch';
import { type CliIo, main, type Preview } from './preview.ts';

const RESOURCES = `
apiVersion: v1
kind: Namespace
metadata:
  name: team-a
  labels: {tier: regulated}
---
apiVersion: llmobs.dev/v1alpha1
kind: LLMObservability
metadata:
  name: obs
  namespace: team-a
  creationTimestamp: "2026-01-01T00:00:00Z"
spec:
  selector:
    matchLabels: {llm: "true"}
  contentCapture: full
  languages: [python]
  exporters:
    - name: jaeger
      endpoint: http://jaeger.observability.svc:4318
      signals: [traces]
---
apiVersion: llmobs.dev/v1alpha1
kind: LLMObservabilityPolicy
metadata:
  name: regulated
spec:
  namespaceSelector:
    matchLabels: {tier: regulated}
  contentCapture:
    maxLevel: redacted
`;

const POD = `
apiVersion: v1
kind: Pod
metadata:
  name: chat
  namespace: team-a
  labels: {llm: "true"}
spec:
  containers: [{name: app, image: chat:1}]
`;

const OPTED_OUT = `
apiVersion: v1
kind: Pod
metadata:
  name: quiet
  namespace: team-a
  labels: {llm: "true"}
  annotations: {llmobs.dev/inject: "false"}
spec:
  containers: [{name: app, image: quiet:1}]
`;

const DEPLOYMENT = `
apiVersion: apps/v1
kind: Deployment
metadata:
  name: rag
  namespace: team-a
spec:
  selector: {matchLabels: {app: rag}}
  template:
    metadata:
      labels: {app: rag, llm: "true"}
    spec:
      containers: [{name: app, image: rag:1}]
`;

async function run(
  files: Record<string, string>,
  argv: string[],
): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const io: CliIo = {
    stdout: (t) => {
      out += t;
    },
    stderr: (t) => {
      err += t;
    },
    readFile: async (p) => {
      const text = files[p];
      if (text === undefined) throw new Error(`ENOENT: no such file or directory, open '${p}'`);
      return text;
    },
    cluster: () => {
      throw new Error('no cluster in tests');
    },
  };
  const code = await main(argv, io);
  return { code, out, err };
}

describe('llmobs preview (offline, --resources)', () => {
  it('shows the env a selected pod gets and which resource selected it', async () => {
    const r = await run({ 'pod.yaml': POD, 'res.yaml': RESOURCES }, [
      '-f',
      'pod.yaml',
      '--resources',
      'res.yaml',
    ]);
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /Pod\/chat in namespace team-a: would be instrumented/);
    assert.match(r.out, /why: .*matched the label selector -> team-a\/obs/);
    assert.match(r.out, /\+ env OTEL_SERVICE_NAME=chat/);
    assert.match(r.out, /\+ env OTEL_EXPORTER_OTLP_ENDPOINT=http:\/\/llmobs-processor-obs\.team-a\.svc:4318/);
    assert.match(r.out, /\+ init container llmobs-python/);
    assert.match(r.out, /\+ annotation llmobs\.dev\/injection-status=injected/);
    assert.match(r.out, /exporters: jaeger \(traces\)/);

    const json = await run({ 'pod.yaml': POD, 'res.yaml': RESOURCES }, [
      '-f',
      'pod.yaml',
      '--resources',
      'res.yaml',
      '-o',
      'json',
    ]);
    const p = JSON.parse(json.out) as Preview;
    assert.equal(p.outcome, 'injected');
    assert.equal(p.appliedBy, 'team-a/obs');
    const env = p.pod.spec?.containers[0]?.env ?? [];
    assert.ok(env.some((e) => e.name === 'OTEL_TRACES_SAMPLER' && e.value === 'parentbased_traceidratio'));

    const patch = await run({ 'pod.yaml': POD, 'res.yaml': RESOURCES }, [
      '-f',
      'pod.yaml',
      '--resources',
      'res.yaml',
      '-o',
      'patch',
    ]);
    const ops = JSON.parse(patch.out) as Operation[];
    assert.ok(ops.some((o) => o.path === '/spec/containers/0/env' && o.op === 'add'));
    assert.ok(ops.some((o) => o.path.startsWith('/spec/initContainers')));
  });

  it('says why an opted-out pod is left alone', async () => {
    const r = await run({ 'pod.yaml': OPTED_OUT, 'res.yaml': RESOURCES }, [
      '-f',
      'pod.yaml',
      '--resources',
      'res.yaml',
    ]);
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /Pod\/quiet in namespace team-a: would NOT be instrumented/);
    assert.match(r.out, /reason: OptedOut/);
    assert.match(r.out, /why: pod annotated llmobs\.dev\/inject=false/);
    assert.match(r.out, /changes: none/);
    const patch = await run({ 'pod.yaml': OPTED_OUT, 'res.yaml': RESOURCES }, [
      '-f',
      'pod.yaml',
      '--resources',
      'res.yaml',
      '-o',
      'patch',
    ]);
    assert.deepEqual(JSON.parse(patch.out), []);
  });

  it("previews a Deployment's pod template, named after the Deployment", async () => {
    const r = await run({ 'deploy.yaml': DEPLOYMENT, 'res.yaml': RESOURCES }, [
      '-f',
      'deploy.yaml',
      '--resources',
      'res.yaml',
      '-o',
      'json',
    ]);
    assert.equal(r.code, 0, r.err);
    const p = JSON.parse(r.out) as Preview;
    assert.equal(p.source, 'Deployment/rag');
    assert.equal(p.namespace, 'team-a');
    assert.equal(p.outcome, 'injected');
    const env = p.pod.spec?.containers[0]?.env ?? [];
    assert.equal(env.find((e) => e.name === 'OTEL_SERVICE_NAME')?.value, 'rag');
    assert.match(
      env.find((e) => e.name === 'OTEL_RESOURCE_ATTRIBUTES')?.value ?? '',
      /k8s\.deployment\.name=rag/,
    );
  });

  it('previews every document of a multi-document manifest', async () => {
    const r = await run({ 'all.yaml': `${DEPLOYMENT}\n---\n${OPTED_OUT}`, 'res.yaml': RESOURCES }, [
      '-f',
      'all.yaml',
      '--resources',
      'res.yaml',
      '-o',
      'json',
    ]);
    assert.equal(r.code, 0, r.err);
    const ps = JSON.parse(r.out) as Preview[];
    assert.deepEqual(
      ps.map((p) => [p.source, p.outcome]),
      [
        ['Deployment/rag', 'injected'],
        ['Pod/quiet', 'ignored'],
      ],
    );
  });

  it('shows a policy floor in the effective content capture', async () => {
    const r = await run({ 'pod.yaml': POD, 'res.yaml': RESOURCES }, [
      '-f',
      'pod.yaml',
      '--resources',
      'res.yaml',
    ]);
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /content capture: redacted \(requested full, after policies redacted\)/);
    assert.match(
      r.out,
      /policy floor: contentCapture full exceeds the maximum redacted set by policy regulated/,
    );
    assert.match(r.out, /\+ env TRACELOOP_TRACE_CONTENT=true/);

    // Without the namespace label the policy does not select the namespace: full capture is kept.
    const noNs = RESOURCES.replace('labels: {tier: regulated}', 'labels: {tier: open}');
    const open = await run({ 'pod.yaml': POD, 'res.yaml': noNs }, [
      '-f',
      'pod.yaml',
      '--resources',
      'res.yaml',
      '-o',
      'json',
    ]);
    const p = JSON.parse(open.out) as Preview;
    assert.equal(p.effective?.contentCapture.afterPolicies, 'full');
    assert.deepEqual(p.effective?.policies, []);
    // ...and --namespace-labels brings it back.
    const labelled = await run({ 'pod.yaml': POD, 'res.yaml': noNs }, [
      '-f',
      'pod.yaml',
      '--resources',
      'res.yaml',
      '--namespace-labels',
      'tier=regulated',
      '-o',
      'json',
    ]);
    assert.equal((JSON.parse(labelled.out) as Preview).effective?.contentCapture.injected, 'redacted');
  });

  it('says when the namespace has no LLMObservability', async () => {
    const r = await run({ 'pod.yaml': POD, 'res.yaml': RESOURCES }, [
      '-f',
      'pod.yaml',
      '--resources',
      'res.yaml',
      '--namespace',
      'team-b',
    ]);
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /reason: NoLLMObservability/);
    assert.match(r.out, /namespace team-b has no LLMObservability/);
  });

  it('exits 2 on usage errors', async () => {
    assert.equal((await run({}, ['-f', 'pod.yaml'])).code, 2);
    assert.equal((await run({}, ['--resources', 'res.yaml'])).code, 2);
    assert.equal((await run({}, ['-f', 'a', '--resources', 'b', '-o', 'yaml'])).code, 2);
    assert.equal((await run({}, ['-f', 'a', '--resources', 'b', '--bogus'])).code, 2);
  });

  it('exits 1 with a message naming the file on bad input (the real command)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'llmobs-preview-'));
    const res = join(dir, 'res.yaml');
    const bad = join(dir, 'bad.yaml');
    writeFileSync(res, RESOURCES);
    writeFileSync(bad, 'kind: Pod\nmetadata: {name: x\n  : [unclosed');
    const cli = join(import.meta.dirname, 'preview.ts');
    const invalid = spawnSync(process.execPath, [cli, '-f', bad, '--resources', res], { encoding: 'utf8' });
    assert.equal(invalid.status, 1);
    assert.ok(invalid.stderr.includes(bad), invalid.stderr);
    const missing = join(dir, 'missing.yaml');
    const absent = spawnSync(process.execPath, [cli, '-f', missing, '--resources', res], {
      encoding: 'utf8',
    });
    assert.equal(absent.status, 1);
    assert.ok(absent.stderr.includes(missing), absent.stderr);
    writeFileSync(join(dir, 'pod.yaml'), POD);
    const badRes = spawnSync(process.execPath, [cli, '-f', join(dir, 'pod.yaml'), '--resources', bad], {
      encoding: 'utf8',
    });
    assert.equal(badRes.status, 1);
    assert.ok(badRes.stderr.includes(bad), badRes.stderr);
    const ok = spawnSync(process.execPath, [cli, '-f', join(dir, 'pod.yaml'), '--resources', res], {
      encoding: 'utf8',
    });
    assert.equal(ok.status, 0, ok.stderr);
    assert.match(ok.stdout, /would be instrumented/);
  });
});
