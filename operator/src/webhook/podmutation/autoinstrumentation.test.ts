import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { V1Container, V1Pod } from '@kubernetes/client-node';
import { nodejsMutator, pythonMutator } from './autoinstrumentation.ts';
import type { EffectiveInjectionConfig } from './config.ts';
import { conflictsOf, type MutationContext } from './mutator.ts';
import { deploymentPod, envOf, injectionConfig, settings } from './testdata.ts';

function ctx(config: Partial<EffectiveInjectionConfig> = {}): MutationContext {
  return {
    namespace: 'team-a',
    config: injectionConfig({ languages: ['python', 'nodejs'], ...config }),
    settings,
    selection: 'test',
  };
}

function podWith(app: Partial<V1Container>, annotations?: Record<string, string>): V1Pod {
  const pod = deploymentPod(annotations ? { annotations } : {});
  const c = pod.spec?.containers[0];
  if (c) Object.assign(c, app);
  return pod;
}

const PY =
  '/llmobs-instrumentation/python/opentelemetry/instrumentation/auto_instrumentation:/llmobs-instrumentation/python';

describe('pythonMutator', () => {
  test('prefixes the container’s PYTHONPATH so its own path still follows', () => {
    const pod = pythonMutator.mutate(podWith({ env: [{ name: 'PYTHONPATH', value: '/app/src' }] }), ctx());
    assert.equal(envOf(pod, 'app', 'PYTHONPATH'), `${PY}:/app/src`);
  });

  test('skips a container whose PYTHONPATH comes from valueFrom, with the reason, and adds no init container', () => {
    const pod = pythonMutator.mutate(
      podWith({ env: [{ name: 'PYTHONPATH', valueFrom: { configMapKeyRef: { name: 'c', key: 'p' } } }] }),
      ctx(),
    );
    assert.deepEqual(conflictsOf(pod), [
      'app: python auto-instrumentation skipped, PYTHONPATH comes from valueFrom',
    ]);
    assert.equal(pod.spec?.initContainers, undefined);
    assert.equal(pod.spec?.volumes, undefined);
    assert.equal(pod.spec?.containers[0]?.volumeMounts, undefined);
  });

  test('skips a container too small to carry an SDK', () => {
    const pod = pythonMutator.mutate(podWith({ resources: { limits: { memory: '64Mi' } } }), ctx());
    assert.match(conflictsOf(pod)[0] ?? '', /memory limit 64Mi is below the 100Mi minimum/);
    assert.equal(pod.spec?.initContainers, undefined);
  });

  test('goes before the app’s own init containers', () => {
    const pod = podWith({});
    if (pod.spec) pod.spec.initContainers = [{ name: 'migrate', image: 'm' }];
    const out = pythonMutator.mutate(pod, ctx());
    assert.deepEqual(
      out.spec?.initContainers?.map((c) => c.name),
      ['llmobs-python', 'migrate'],
    );
  });

  test('does nothing for a resource without python', () => {
    const pod = podWith({});
    assert.equal(pythonMutator.mutate(pod, ctx({ languages: ['nodejs'] })), pod);
  });

  test('honours llmobs.dev/container-languages', () => {
    const pod = podWith({}, { 'llmobs.dev/container-languages': 'app=nodejs' });
    assert.equal(pythonMutator.mutate(pod, ctx()).spec?.initContainers, undefined);
    assert.equal(nodejsMutator.mutate(pod, ctx()).spec?.initContainers?.[0]?.name, 'llmobs-nodejs');
  });
});

describe('nodejsMutator', () => {
  test('appends --import to the container’s NODE_OPTIONS', () => {
    const pod = nodejsMutator.mutate(
      podWith({ env: [{ name: 'NODE_OPTIONS', value: '--max-old-space-size=512' }] }),
      ctx(),
    );
    assert.equal(
      envOf(pod, 'app', 'NODE_OPTIONS'),
      '--max-old-space-size=512 --import /llmobs-instrumentation/nodejs/autoinstrumentation.mjs',
    );
  });

  test('uses --require when configured', () => {
    const pod = nodejsMutator.mutate(podWith({}), ctx({ nodejsHook: 'require' }));
    assert.equal(
      envOf(pod, 'app', 'NODE_OPTIONS'),
      '--require /llmobs-instrumentation/nodejs/autoinstrumentation.js',
    );
  });

  test('skips NODE_OPTIONS from valueFrom with the reason', () => {
    const pod = nodejsMutator.mutate(
      podWith({ env: [{ name: 'NODE_OPTIONS', valueFrom: { secretKeyRef: { name: 's', key: 'k' } } }] }),
      ctx(),
    );
    assert.deepEqual(conflictsOf(pod), [
      'app: nodejs auto-instrumentation skipped, NODE_OPTIONS comes from valueFrom',
    ]);
  });
});

describe('bundle init container sizing and security', () => {
  test('a BestEffort pod gets an init container without resources (QoS unchanged)', () => {
    const out = pythonMutator.mutate(podWith({ resources: {} }), ctx());
    assert.equal(out.spec?.initContainers?.[0]?.resources, undefined);
  });

  test('a Guaranteed pod gets requests equal to limits, never above the pod', () => {
    const out = pythonMutator.mutate(
      podWith({
        resources: { requests: { cpu: '200m', memory: '128Mi' }, limits: { cpu: '200m', memory: '128Mi' } },
      }),
      ctx(),
    );
    assert.deepEqual(out.spec?.initContainers?.[0]?.resources, {
      requests: { cpu: '200m', memory: '128Mi' },
      limits: { cpu: '200m', memory: '128Mi' },
    });
  });

  test('runs restricted-PSA compliant as the app’s user, without the app’s privileges', () => {
    const out = pythonMutator.mutate(
      podWith({
        securityContext: { runAsUser: 1234, privileged: true, capabilities: { add: ['NET_ADMIN'] } },
      }),
      ctx(),
    );
    const sc = out.spec?.initContainers?.[0]?.securityContext;
    assert.equal(sc?.runAsUser, 1234);
    assert.equal(sc?.privileged, false);
    assert.equal(sc?.allowPrivilegeEscalation, false);
    assert.deepEqual(sc?.capabilities, { drop: ['ALL'] });
  });

  test('both languages: two init containers, two volumes, both hooks', () => {
    const out = nodejsMutator.mutate(pythonMutator.mutate(podWith({}), ctx()), ctx());
    assert.deepEqual(out.spec?.initContainers?.map((c) => c.name).sort(), ['llmobs-nodejs', 'llmobs-python']);
    assert.deepEqual(out.spec?.volumes?.map((v) => v.name).sort(), ['llmobs-nodejs', 'llmobs-python']);
    assert.ok(envOf(out, 'app', 'PYTHONPATH'));
    assert.ok(envOf(out, 'app', 'NODE_OPTIONS'));
  });
});
