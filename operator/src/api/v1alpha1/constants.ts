/** Fixed names of the llmobs.dev API (see ARCHITECTURE: these never change). */
export const GROUP = 'llmobs.dev';
export const VERSION = 'v1alpha1';
export const API_VERSION = `${GROUP}/${VERSION}`;

export const KIND = 'LLMObservability';
export const PLURAL = 'llmobservabilities';
export const POLICY_KIND = 'LLMObservabilityPolicy';
export const POLICY_PLURAL = 'llmobservabilitypolicies';

/** Annotations and labels, all under the llmobs.dev/ prefix. */
export const ANNOTATION = {
  /** "true" / "false" on a pod or namespace: opt in or out of injection. */
  inject: 'llmobs.dev/inject',
  /** Outcome written by the webhook: injected / skipped / error. */
  injectionStatus: 'llmobs.dev/injection-status',
  /** Why a pod was skipped or failed. */
  injectionReason: 'llmobs.dev/injection-reason',
  /** Hash of the configuration a pod was instrumented with, for drift detection. */
  configHash: 'llmobs.dev/config-hash',
  /** namespace/name of the LLMObservability that instrumented a pod. */
  appliedBy: 'llmobs.dev/applied-by',
} as const;

export const CONDITION = {
  ready: 'Ready',
  webhookConfigured: 'WebhookConfigured',
  processorReady: 'ProcessorReady',
  policyCompliant: 'PolicyCompliant',
} as const;
