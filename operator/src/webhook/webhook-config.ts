import {
  AdmissionregistrationV1Api,
  type KubeConfig,
  KubernetesObjectApi,
  PatchStrategy,
  setHeaderOptions,
  type V1MutatingWebhookConfiguration,
} from '@kubernetes/client-node';
import { KUBE_SYSTEM, PART_OF_LABEL } from './podmutation/config.ts';
import { POD_ANNOTATION } from './podmutation/constants.ts';
import { MUTATE_POD_PATH } from './server.ts';

export const WEBHOOK_CONFIGURATION_NAME = 'llmobs-pod-injection';
export const POD_WEBHOOK_NAME = 'inject.pods.llmobs.dev';
export const FIELD_MANAGER = 'llmobs-operator';
/** caBundle is owned by its own manager, so applying the configuration (without it) never clears it. */
export const CA_BUNDLE_FIELD_MANAGER = 'llmobs-operator-cabundle';

export interface WebhookConfigurationSettings {
  /** Default llmobs-pod-injection. */
  readonly name?: string;
  /** In-cluster: the webhook Service. */
  readonly service?: { readonly namespace: string; readonly name: string; readonly port?: number };
  /** Out of cluster (tests, or an apiserver on the same machine): https://host:port, the path is added. */
  readonly url?: string;
  /** PEM; base64-encoded into caBundle. Usually left out and set by patchCaBundle. */
  readonly caBundlePem?: string;
  readonly operatorNamespace: string;
  /** Never sent to the webhook; kube-system is always added. */
  readonly excludedNamespaces?: readonly string[];
  /**
   * Only namespaces with these labels are sent to the webhook (optional): the strongest pre-filter, if
   * the controller or the platform labels the namespaces that have an LLMObservability.
   */
  readonly namespaceLabels?: Readonly<Record<string, string>>;
  /** Default 5: the pod creation waits at most this when the webhook is slow (fail open after). */
  readonly timeoutSeconds?: number;
  /** Default Ignore (fail open: pods are admitted uninstrumented when the operator cannot answer). */
  readonly failurePolicy?: 'Ignore' | 'Fail';
  readonly labels?: Readonly<Record<string, string>>;
}

/** CEL pre-filters evaluated by the apiserver, so pods that can only be ignored are never sent. */
export const MATCH_CONDITIONS = [
  {
    name: 'not-opted-out',
    expression:
      `!has(object.metadata.annotations) || !('${POD_ANNOTATION.inject}' in object.metadata.annotations) || ` +
      `object.metadata.annotations['${POD_ANNOTATION.inject}'].lowerAscii() != 'false'`,
  },
  {
    name: 'not-already-instrumented',
    expression: `!has(object.metadata.annotations) || !('${POD_ANNOTATION.injectionStatus}' in object.metadata.annotations)`,
  },
] as const;

/**
 * The MutatingWebhookConfiguration of the pod webhook: pod CREATE only, AdmissionReview v1, fail open
 * (failurePolicy Ignore) with a short timeout, side effects (Events) skipped on dry-run, and
 * kube-system, the operator's namespace and the operator's own pods never sent.
 */
export function buildMutatingWebhookConfiguration(
  s: WebhookConfigurationSettings,
): V1MutatingWebhookConfiguration {
  if (!s.service === !s.url) throw new Error('set exactly one of service and url');
  const excluded = [...new Set([KUBE_SYSTEM, s.operatorNamespace, ...(s.excludedNamespaces ?? [])])].sort();
  return {
    apiVersion: 'admissionregistration.k8s.io/v1',
    kind: 'MutatingWebhookConfiguration',
    metadata: {
      name: s.name ?? WEBHOOK_CONFIGURATION_NAME,
      labels: { [PART_OF_LABEL.key]: PART_OF_LABEL.value, ...s.labels },
    },
    webhooks: [
      {
        name: POD_WEBHOOK_NAME,
        admissionReviewVersions: ['v1'],
        sideEffects: 'NoneOnDryRun',
        failurePolicy: s.failurePolicy ?? 'Ignore',
        timeoutSeconds: s.timeoutSeconds ?? 5,
        reinvocationPolicy: 'Never',
        matchPolicy: 'Equivalent',
        clientConfig: {
          ...(s.service
            ? {
                service: {
                  namespace: s.service.namespace,
                  name: s.service.name,
                  path: MUTATE_POD_PATH,
                  port: s.service.port ?? 443,
                },
              }
            : { url: `${s.url?.replace(/\/+$/, '')}${MUTATE_POD_PATH}` }),
          ...(s.caBundlePem ? { caBundle: Buffer.from(s.caBundlePem).toString('base64') } : {}),
        },
        rules: [
          {
            apiGroups: [''],
            apiVersions: ['v1'],
            operations: ['CREATE'],
            resources: ['pods'],
            scope: 'Namespaced',
          },
        ],
        namespaceSelector: {
          ...(s.namespaceLabels ? { matchLabels: { ...s.namespaceLabels } } : {}),
          matchExpressions: [{ key: 'kubernetes.io/metadata.name', operator: 'NotIn', values: excluded }],
        },
        objectSelector: {
          matchExpressions: [
            { key: PART_OF_LABEL.key, operator: 'NotIn', values: [PART_OF_LABEL.value] },
            { key: 'app.kubernetes.io/managed-by', operator: 'NotIn', values: ['llmobs-operator'] },
          ],
        },
        matchConditions: MATCH_CONDITIONS.map((c) => ({ ...c })),
      },
    ],
  };
}

/** Server-side applies the configuration (leave caBundle out of it and use patchCaBundle). */
export async function applyWebhookConfiguration(
  kc: KubeConfig,
  config: V1MutatingWebhookConfiguration,
  fieldManager = FIELD_MANAGER,
): Promise<void> {
  const objects = KubernetesObjectApi.makeApiClient(kc);
  await objects.patch(
    {
      ...config,
      apiVersion: 'admissionregistration.k8s.io/v1',
      kind: 'MutatingWebhookConfiguration',
    } as Parameters<typeof objects.patch>[0],
    undefined,
    undefined,
    fieldManager,
    true,
    PatchStrategy.ServerSideApply,
  );
}

/**
 * Sets caBundle on every webhook of the configuration that calls llmobs (all of them unless `webhooks`
 * names some), with a JSON Patch guarded by a test of each webhook's name, under its own field manager.
 * Returns whether anything changed.
 */
export async function patchCaBundle(
  kc: KubeConfig,
  name: string,
  caBundlePem: string,
  webhooks?: readonly string[],
): Promise<boolean> {
  const api = kc.makeApiClient(AdmissionregistrationV1Api);
  const current = await api.readMutatingWebhookConfiguration({ name });
  const caBundle = Buffer.from(caBundlePem).toString('base64');
  const ops: object[] = [];
  (current.webhooks ?? []).forEach((w, i) => {
    if (webhooks && !webhooks.includes(w.name)) return;
    if (w.clientConfig.caBundle === caBundle) return;
    ops.push({ op: 'test', path: `/webhooks/${i}/name`, value: w.name });
    ops.push({ op: 'add', path: `/webhooks/${i}/clientConfig/caBundle`, value: caBundle });
  });
  if (ops.length === 0) return false;
  await api.patchMutatingWebhookConfiguration(
    { name, body: ops, fieldManager: CA_BUNDLE_FIELD_MANAGER },
    setHeaderOptions('Content-Type', PatchStrategy.JsonPatch),
  );
  return true;
}

/** patchCaBundle for a ValidatingWebhookConfiguration (the LLMObservability policy check). */
export async function patchValidatingCaBundle(
  kc: KubeConfig,
  name: string,
  caBundlePem: string,
): Promise<boolean> {
  const api = kc.makeApiClient(AdmissionregistrationV1Api);
  const current = await api.readValidatingWebhookConfiguration({ name });
  const caBundle = Buffer.from(caBundlePem).toString('base64');
  const ops: object[] = [];
  (current.webhooks ?? []).forEach((w, i) => {
    if (w.clientConfig.caBundle === caBundle) return;
    ops.push({ op: 'test', path: `/webhooks/${i}/name`, value: w.name });
    ops.push({ op: 'add', path: `/webhooks/${i}/clientConfig/caBundle`, value: caBundle });
  });
  if (ops.length === 0) return false;
  await api.patchValidatingWebhookConfiguration(
    { name, body: ops, fieldManager: CA_BUNDLE_FIELD_MANAGER },
    setHeaderOptions('Content-Type', PatchStrategy.JsonPatch),
  );
  return true;
}
