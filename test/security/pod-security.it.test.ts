import assert from 'node:assert/strict';
import { basename } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { V1Container, V1Pod, V1PodSpec } from '@kubernetes/client-node';
import * as yaml from 'js-yaml';
import { effectiveConfig } from '../../operator/src/manifests/effective.ts';
import { gatewayDeployment } from '../../operator/src/manifests/gateway.ts';
import { renderProcessorConfig } from '../../operator/src/manifests/processor-config.ts';
import type { LLMObservability } from '../../operator/src/manifests/resources.ts';
import { applyResponse } from '../../operator/src/webhook/admission.ts';
import { InMemoryConfigSource } from '../../operator/src/webhook/podmutation/config.ts';
import { admitPod } from '../../operator/src/webhook/podmutation/handler.ts';
import { podRequest, settings, source } from '../../operator/src/webhook/podmutation/testdata.ts';
import { chartDir, ciValuesFiles } from '../chart/chart.ts';
import { type ControlPlane, startControlPlane } from '../harness/control-plane.ts';
import { helm } from '../harness/helm.ts';
import { kubeRequest } from '../harness/kube-apply.ts';

const NS = 'restricted';

/** Creates `spec` as a Pod in the restricted namespace (dry run: admission runs, nothing is stored). */
async function admit(cp: ControlPlane, name: string, spec: V1PodSpec) {
  const res = await kubeRequest(
    cp,
    'POST',
    `/api/v1/namespaces/${NS}/pods?dryRun=All`,
    JSON.stringify({ apiVersion: 'v1', kind: 'Pod', metadata: { name }, spec }),
  );
  return { status: res.status, message: (JSON.parse(res.body) as { message?: string }).message ?? '' };
}

/** An application pod that meets the restricted standard on its own, as such a namespace requires. */
function appPod(): V1Pod {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { generateName: 'chat-', namespace: NS, labels: { app: 'chat' } },
    spec: {
      securityContext: { runAsNonRoot: true, runAsUser: 10001, seccompProfile: { type: 'RuntimeDefault' } },
      containers: [
        {
          name: 'app',
          image: 'registry.invalid/chat:1',
          resources: { limits: { cpu: '1', memory: '512Mi' } },
          securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } },
        },
      ],
    },
  };
}

const owner: LLMObservability = {
  apiVersion: 'llmobs.dev/v1alpha1',
  kind: 'LLMObservability',
  metadata: { name: 'chat', namespace: NS, uid: 'uid-1' },
  spec: {
    processor: { mode: 'gateway' },
    redaction: { action: 'hash' },
    cost: { catalogueConfigMap: { name: 'llm-prices', key: 'prices.yaml' } },
    metrics: { prometheus: { enabled: true } },
    exporters: [
      {
        name: 'dd',
        endpoint: 'https://otlp.datadoghq.com',
        headers: [{ name: 'DD-API-KEY', secretKeyRef: { name: 'dd', key: 'k' } }],
      },
    ],
  },
};

/**
 * The apiserver's own Pod Security Admission, enforcing "restricted" on a namespace: the pods llmobs creates
 * or changes must be admitted there, so none of them needs an exemption.
 */
describe('pods llmobs runs meet the restricted Pod Security Standard, as the apiserver enforces it', () => {
  let cp: ControlPlane;

  before(async () => {
    cp = await startControlPlane();
    const labels = {
      'pod-security.kubernetes.io/enforce': 'restricted',
      'pod-security.kubernetes.io/enforce-version': 'latest',
    };
    const res = await kubeRequest(
      cp,
      'POST',
      '/api/v1/namespaces',
      JSON.stringify({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: NS, labels } }),
    );
    assert.equal(res.status, 201, res.body);
  });
  after(() => cp?.stop());

  test('the namespace enforces: a pod with default security settings is refused', async () => {
    const r = await admit(cp, 'plain', { containers: [{ name: 'c', image: 'registry.invalid/c:1' }] });
    assert.equal(r.status, 403);
    assert.match(r.message, /violates PodSecurity "restricted:latest"/);
  });

  test('the gateway Deployment’s pod (HMAC key, catalogue, metrics) is admitted', async () => {
    const dep = gatewayDeployment({
      owner,
      rendered: renderProcessorConfig(effectiveConfig(owner, []), { memoryLimitMib: 400 }),
      configHash: 'h',
      image: 'registry.invalid/llmobs/processor:1',
      replicas: 1,
      hmacSecretName: 'llmobs-processor-chat-hmac',
    });
    const spec = dep.spec?.template.spec;
    assert.ok(spec);
    const r = await admit(cp, 'gateway', spec);
    assert.equal(r.status, 201, r.message);
  });

  test('an instrumented pod is admitted: sidecar (native or not) and both bundle init containers', async () => {
    const sidecar = {
      image: 'registry.invalid/llmobs/processor:1',
      configMapName: 'llmobs-processor-chat',
      env: [{ name: 'LLMOBS_DD_KEY', valueFrom: { secretKeyRef: { name: 'dd', key: 'k' } } }],
    };
    const cases = [
      { name: 'native-sidecar', native: true, config: { mode: 'sidecar' as const, sidecar } },
      { name: 'plain-sidecar', native: false, config: { mode: 'sidecar' as const, sidecar } },
      { name: 'bundles', native: true, config: { languages: ['python' as const, 'nodejs' as const] } },
    ];
    for (const c of cases) {
      const pod = appPod();
      const res = await admitPod(podRequest(pod, { namespace: NS }), {
        configSource: new InMemoryConfigSource([source('obs', c.config, { namespace: NS })]),
        namespaces: { get: () => ({}) },
        settings: { ...settings, nativeSidecars: c.native },
      });
      assert.equal(res.outcome, 'injected', `${c.name}: ${res.message}`);
      const mutated = applyResponse(pod, res.response);
      const added: V1Container[] = [
        ...(mutated.spec?.initContainers ?? []),
        ...(mutated.spec?.containers ?? []),
      ].filter((x) => x.name !== 'app');
      assert.ok(added.length > 0, `${c.name}: something was injected`);
      const r = await admit(cp, c.name, mutated.spec as V1PodSpec);
      assert.equal(r.status, 201, `${c.name}: ${r.message}`);
    }
  });

  test('the chart’s operator pod is admitted in every tested scenario, its root filesystem read-only', async () => {
    for (const values of ciValuesFiles()) {
      const { stdout } = await helm([
        'template',
        'llmobs',
        chartDir,
        '--namespace',
        'llmobs-system',
        '-f',
        values,
      ]);
      const dep = yaml
        .loadAll(stdout)
        .find((d) => (d as { kind?: string } | null)?.kind === 'Deployment') as {
        spec: { template: { spec: V1PodSpec } };
      };
      const spec = dep.spec.template.spec;
      for (const c of spec.containers) {
        assert.equal(c.securityContext?.readOnlyRootFilesystem, true);
        assert.equal(typeof (c.securityContext?.runAsUser ?? spec.securityContext?.runAsUser), 'number');
        // Writable only where the operator writes: an emptyDir for /tmp.
        for (const m of c.volumeMounts ?? []) {
          const v = spec.volumes?.find((x) => x.name === m.name);
          assert.ok(m.readOnly === true || v?.emptyDir !== undefined, `${values}: ${m.name} is writable`);
        }
      }
      const r = await admit(cp, `operator-${basename(values, '-values.yaml')}`, spec);
      assert.equal(r.status, 201, `${values}: ${r.message}`);
    }
  });
});
