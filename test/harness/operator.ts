// The llmobs operator as its own process (`node operator/src/main.ts`) against a harness control plane,
// its webhooks called by the apiserver at a loopback URL, as the operator's end-to-end tests and the
// operator benchmark run it.
import { join } from 'node:path';
import { repoRoot } from './cache.ts';
import type { ControlPlane, ControlPlaneOptions } from './control-plane.ts';
import { startControlPlane } from './control-plane.ts';
import type { KubeObject } from './kube-apply.ts';
import { httpOk, ManagedProcess } from './process.ts';

/** The operator's entry point. */
export const OPERATOR_MAIN = join(repoRoot, 'operator', 'src', 'main.ts');

/** The llmobs CRD manifests, as the chart installs them. */
export const LLMOBS_CRDS: readonly string[] = [
  join(repoRoot, 'crds', 'llmobs.dev_llmobservabilities.yaml'),
  join(repoRoot, 'crds', 'llmobs.dev_llmobservabilitypolicies.yaml'),
];

/** A control plane with the llmobs CRDs installed before its controller manager starts. */
export function startLlmobsControlPlane(o: Omit<ControlPlaneOptions, 'crds'> = {}): Promise<ControlPlane> {
  return startControlPlane({ ...o, crds: LLMOBS_CRDS });
}

/**
 * The ValidatingWebhookConfiguration `llmobs` the chart installs (the operator keeps its caBundle
 * current), calling the operator's policy-validating webhook at `https://127.0.0.1:<port>`.
 */
export function validatingWebhookAt(port: number): KubeObject {
  return {
    apiVersion: 'admissionregistration.k8s.io/v1',
    kind: 'ValidatingWebhookConfiguration',
    metadata: { name: 'llmobs' },
    webhooks: [
      {
        name: 'validate.llmobservabilities.llmobs.dev',
        admissionReviewVersions: ['v1'],
        sideEffects: 'None',
        failurePolicy: 'Fail',
        clientConfig: {
          url: `https://127.0.0.1:${port}/validate-llmobs-dev-v1alpha1-llmobservability`,
        },
        rules: [
          {
            apiGroups: ['llmobs.dev'],
            apiVersions: ['v1alpha1'],
            operations: ['CREATE', 'UPDATE'],
            resources: ['llmobservabilities'],
          },
        ],
      },
    ],
  };
}

export interface OperatorFlags {
  readonly webhookPort: number;
  readonly metricsPort: number;
  readonly healthPort: number;
  /** Default `llmobs-system`. */
  readonly namespace?: string;
  readonly leaderElect?: boolean;
  /** The ValidatingWebhookConfiguration whose caBundle the operator keeps current (see {@link validatingWebhookAt}). */
  readonly validatingWebhookConfiguration?: string;
  readonly processorImage?: string;
}

/** The operator's command-line flags for a local run against `cp` as its admin, on loopback ports. */
export function operatorFlags(cp: ControlPlane, f: OperatorFlags): string[] {
  return [
    `--kubeconfig=${cp.kubeconfigPath}`,
    `--namespace=${f.namespace ?? 'llmobs-system'}`,
    ...(f.leaderElect ? ['--leader-elect'] : []),
    `--webhook-url=https://127.0.0.1:${f.webhookPort}`,
    `--webhook-port=${f.webhookPort}`,
    ...(f.validatingWebhookConfiguration
      ? [`--validating-webhook-configuration=${f.validatingWebhookConfiguration}`]
      : []),
    `--metrics-bind-address=127.0.0.1:${f.metricsPort}`,
    `--health-probe-bind-address=127.0.0.1:${f.healthPort}`,
    ...(f.processorImage ? [`--processor-image=${f.processorImage}`] : []),
  ];
}

/** Whether the operator on `healthPort` answers /readyz (its informers synced, its webhook serving). */
export const operatorReady = (healthPort: number) => () => httpOk(`http://127.0.0.1:${healthPort}/readyz`);

/** Starts the operator with `flags` (log in `logDir`) and waits up to a minute for its /readyz; stops it if that fails. */
export async function startOperator(o: {
  readonly logDir: string;
  readonly flags: readonly string[];
  readonly healthPort: number;
  readonly env?: NodeJS.ProcessEnv;
  /** What the wait is for, in its timeout message. */
  readonly what?: string;
}): Promise<ManagedProcess> {
  const proc = ManagedProcess.start({
    name: 'llmobs-operator',
    logDir: o.logDir,
    command: process.execPath,
    args: [OPERATOR_MAIN, ...o.flags],
    ...(o.env ? { env: o.env } : {}),
  });
  try {
    await proc.waitUntil(operatorReady(o.healthPort), o.what ?? 'operator /readyz', 60_000);
  } catch (err) {
    await proc.stop();
    throw err;
  }
  return proc;
}
