// Fixtures shared by the webhook's tests (unit and integration); not used by the operator itself.
import type { V1Pod } from '@kubernetes/client-node';
import type { AdmissionRequest } from '../admission.ts';
import {
  defaultWebhookSettings,
  type EffectiveInjectionConfig,
  type InjectionSource,
  type SelectableResource,
} from './config.ts';

export const settings = defaultWebhookSettings({ operatorNamespace: 'llmobs-system' });

export function injectionConfig(overrides: Partial<EffectiveInjectionConfig> = {}): EffectiveInjectionConfig {
  return {
    appliedBy: 'team-a/obs',
    configHash: 'c0ffee',
    mode: 'gateway',
    endpoint: 'http://llmobs-processor-obs.team-a.svc:4318',
    protocol: 'http/protobuf',
    contentCapture: 'none',
    samplingRatio: 0.25,
    languages: [],
    images: {
      python: 'registry.example/llmobs/python:1.0.0',
      nodejs: 'registry.example/llmobs/nodejs:1.0.0',
    },
    env: [],
    resourceAttributes: {},
    ...overrides,
  };
}

export function resource(
  name: string,
  opts: {
    namespace?: string;
    created?: string;
    selector?: NonNullable<SelectableResource['spec']>['selector'];
  } = {},
): SelectableResource {
  return {
    metadata: {
      name,
      namespace: opts.namespace ?? 'team-a',
      creationTimestamp: opts.created ?? '2026-01-01T00:00:00Z',
    },
    spec: opts.selector ? { selector: opts.selector } : {},
  };
}

export function source(
  name: string,
  config: Partial<EffectiveInjectionConfig> = {},
  opts: Parameters<typeof resource>[1] = {},
): InjectionSource {
  const r = resource(name, opts);
  return {
    resource: r,
    config: injectionConfig({ appliedBy: `${r.metadata.namespace}/${name}`, ...config }),
  };
}

/** A Deployment's pod as the ReplicaSet controller sends it: generateName, owner, pod-template-hash. */
export function deploymentPod(
  overrides: { labels?: Record<string, string>; annotations?: Record<string, string> } = {},
): V1Pod {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      generateName: 'chat-api-7d9f8b6c5d-',
      namespace: 'team-a',
      labels: { app: 'chat-api', 'pod-template-hash': '7d9f8b6c5d', ...overrides.labels },
      ...(overrides.annotations ? { annotations: overrides.annotations } : {}),
      ownerReferences: [
        {
          apiVersion: 'apps/v1',
          kind: 'ReplicaSet',
          name: 'chat-api-7d9f8b6c5d',
          uid: '0b4c6a5e-0000-4000-8000-000000000001',
          controller: true,
          blockOwnerDeletion: true,
        },
      ],
    },
    spec: {
      containers: [
        {
          name: 'app',
          image: 'registry.example/chat-api:2.3.1',
          env: [{ name: 'OPENAI_BASE_URL', value: 'http://mock-llm:8080/v1' }],
          resources: { requests: { cpu: '250m', memory: '256Mi' }, limits: { cpu: '1', memory: '512Mi' } },
          securityContext: { runAsUser: 10001, runAsNonRoot: true },
        },
      ],
    },
  };
}

export function podRequest(
  pod: V1Pod,
  opts: { namespace?: string; dryRun?: boolean; uid?: string } = {},
): AdmissionRequest {
  return {
    uid: opts.uid ?? 'a1b2c3d4-0000-4000-8000-000000000000',
    kind: { group: '', version: 'v1', kind: 'Pod' },
    resource: { group: '', version: 'v1', resource: 'pods' },
    namespace: opts.namespace ?? pod.metadata?.namespace ?? 'team-a',
    operation: 'CREATE',
    userInfo: { username: 'system:serviceaccount:kube-system:replicaset-controller' },
    object: pod,
    dryRun: opts.dryRun ?? false,
  };
}

/** The value of env var `name` in container `container` of `pod`. */
export function envOf(pod: V1Pod, container: string, name: string): string | undefined {
  const c = [...(pod.spec?.containers ?? []), ...(pod.spec?.initContainers ?? [])].find(
    (x) => x.name === container,
  );
  return c?.env?.find((e) => e.name === name)?.value;
}
