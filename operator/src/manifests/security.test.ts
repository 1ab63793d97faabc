import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { V1Container, V1PodSpec, V1Volume } from '@kubernetes/client-node';
import { sidecarContainer } from '../webhook/podmutation/sidecar.ts';
import { effectiveConfig } from './effective.ts';
import { gatewayDeployment } from './gateway.ts';
import { renderProcessorConfig } from './processor-config.ts';
import type { LLMObservability } from './resources.ts';
import { PROCESSOR_UID } from './security.ts';

const owner: LLMObservability = {
  apiVersion: 'llmobs.dev/v1alpha1',
  kind: 'LLMObservability',
  metadata: { name: 'chat', namespace: 'llm-app', uid: 'uid-1' },
  spec: {
    processor: { mode: 'gateway' },
    redaction: { action: 'hash' },
    cost: { catalogueConfigMap: { name: 'llm-prices', key: 'prices.yaml' } },
    exporters: [
      {
        name: 'dd',
        endpoint: 'https://otlp.datadoghq.com',
        headers: [{ name: 'DD-API-KEY', secretKeyRef: { name: 'dd', key: 'k' } }],
      },
    ],
  },
};

function gatewayPod(): V1PodSpec {
  const spec = gatewayDeployment({
    owner,
    rendered: renderProcessorConfig(effectiveConfig(owner, []), { memoryLimitMib: 400 }),
    configHash: 'h',
    image: 'llmobs/processor:test',
    replicas: 1,
    hmacSecretName: 'llmobs-processor-chat-hmac',
  }).spec?.template.spec;
  assert.ok(spec);
  return spec;
}

/** What the kubelet enforces for `c`: its own security context over the pod's. */
function assertLockedDown(c: V1Container, pod: V1PodSpec | undefined): void {
  const sc = c.securityContext ?? {};
  const psc = pod?.securityContext ?? {};
  const where = `container ${c.name}`;
  assert.equal(sc.runAsNonRoot ?? psc.runAsNonRoot, true, where);
  const uid = sc.runAsUser ?? psc.runAsUser;
  assert.ok(typeof uid === 'number' && uid > 0, `${where}: numeric non-root runAsUser, got ${uid}`);
  assert.equal(sc.readOnlyRootFilesystem, true, where);
  assert.equal(sc.allowPrivilegeEscalation, false, where);
  assert.notEqual(sc.privileged, true, where);
  assert.deepEqual(sc.capabilities?.drop, ['ALL'], where);
  assert.equal(sc.capabilities?.add, undefined, where);
  assert.equal((sc.seccompProfile ?? psc.seccompProfile)?.type, 'RuntimeDefault', where);
}

/** The file mode a volume's files get, when the kubelet writes them (Secret, ConfigMap). */
function fileMode(v: V1Volume): number | undefined {
  if (v.secret) return v.secret.defaultMode ?? 0o644;
  if (v.configMap) return v.configMap.defaultMode ?? 0o644;
  return undefined;
}

test('the gateway processor runs as a numeric non-root user, read-only, without privileges or capabilities', () => {
  const pod = gatewayPod();
  assert.equal(pod.securityContext?.runAsNonRoot, true);
  assert.equal(pod.securityContext?.runAsUser, PROCESSOR_UID);
  assert.equal(pod.automountServiceAccountToken, false);
  for (const c of pod.containers) assertLockedDown(c, pod);
});

test('the gateway mounts nothing writable, and the processor user can read every file it mounts', () => {
  const pod = gatewayPod();
  const volumes = new Map((pod.volumes ?? []).map((v) => [v.name, v]));
  const mounts = pod.containers.flatMap((c) => c.volumeMounts ?? []);
  assert.deepEqual(mounts.map((m) => m.name).sort(), ['catalogue', 'config', 'hmac']);
  for (const m of mounts) {
    assert.equal(m.readOnly, true, m.name);
    const v = volumes.get(m.name);
    assert.ok(v, m.name);
    const mode = fileMode(v);
    assert.ok(mode !== undefined, `${m.name} is a Secret or ConfigMap`);
    // The kubelet writes these files as root, group fsGroup when the pod has one.
    const readable =
      (mode & 0o004) !== 0 || ((mode & 0o040) !== 0 && pod.securityContext?.fsGroup !== undefined);
    assert.ok(readable, `${m.name} (mode ${mode.toString(8)}) unreadable by uid ${PROCESSOR_UID}`);
  }
});

test('the injected sidecar processor is locked down on its own, whatever the application pod allows', () => {
  for (const native of [true, false]) {
    const c = sidecarContainer(
      { image: 'llmobs/processor:test', configMapName: 'llmobs-processor-chat' },
      native,
    );
    // No pod-level context: the app's pod may set none, or run as root.
    assertLockedDown(c, undefined);
    for (const m of c.volumeMounts ?? []) assert.equal(m.readOnly, true, m.name);
  }
});
