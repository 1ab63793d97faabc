import { ANNOTATION } from '../../api/v1alpha1/constants.ts';

/**
 * Every name the pod mutators write or read. The llmobs.dev/ annotations of the API live in
 * api/v1alpha1/constants.ts; the webhook-only ones are added here.
 */
export const POD_ANNOTATION = {
  ...ANNOTATION,
  /** Variables the container set itself that differ from what llmobs would inject, and what was kept. */
  conflicts: 'llmobs.dev/injection-conflicts',
  /** Comma-separated container names to instrument; every app container when absent. */
  containerNames: 'llmobs.dev/container-names',
  /** Runtime per container, e.g. "app=python,worker=nodejs,proxy=none"; overrides the resource's languages. */
  containerLanguages: 'llmobs.dev/container-languages',
  /** OpenTelemetry Operator convention: resource.opentelemetry.io/<key> adds <key> to the resource. */
  resourcePrefix: 'resource.opentelemetry.io/',
} as const;

/** Outcomes written to llmobs.dev/injection-status. `ignored` pods are left untouched and only counted. */
export const STATUS = { injected: 'injected', skipped: 'skipped', error: 'error' } as const;
export type Status = (typeof STATUS)[keyof typeof STATUS];
export type Outcome = Status | 'ignored';

/**
 * Reason codes: the first word of llmobs.dev/injection-reason, the `reason` label of the counter (so a
 * bounded set) and the reason of the Event.
 */
export const REASON = {
  // injected
  injected: 'Injected',
  injectedWithConflicts: 'InjectedWithConflicts',
  // skipped: the pod asked for (or was selected for) injection, but nothing could be injected
  noLLMObservability: 'NoLLMObservability',
  llmObservabilityNotFound: 'LLMObservabilityNotFound',
  noTargetContainer: 'NoTargetContainer',
  sidecarNeedsNativeSupport: 'SidecarNeedsNativeSupport',
  // error
  internalError: 'InternalError',
  invalidConfig: 'InvalidConfig',
  // ignored: not ours, left untouched
  notPodCreate: 'NotPodCreate',
  alreadyInstrumented: 'AlreadyInstrumented',
  excludedNamespace: 'ExcludedNamespace',
  operatorPod: 'OperatorPod',
  optedOut: 'OptedOut',
  notSelected: 'NotSelected',
} as const;
export type Reason = (typeof REASON)[keyof typeof REASON];

/** Names of what the mutators add to a pod; all start with llmobs- so they are recognisable. */
export const NAMES = {
  sidecar: 'llmobs-processor',
  sidecarConfigVolume: 'llmobs-processor-config',
  initContainer: { python: 'llmobs-python', nodejs: 'llmobs-nodejs' },
  volume: { python: 'llmobs-python', nodejs: 'llmobs-nodejs' },
} as const;

/** Where each language bundle is copied to and mounted, in the init container and the app containers. */
export const MOUNT_PATH = {
  python: '/llmobs-instrumentation/python',
  nodejs: '/llmobs-instrumentation/nodejs',
} as const;

/**
 * The bundle image contract: the image holds its files under BUNDLE_SOURCE, has `cp`, and runs as a
 * non-root numeric user. Python: BUNDLE_SOURCE/opentelemetry/instrumentation/auto_instrumentation holds
 * a sitecustomize.py that starts the SDK. Node.js: autoinstrumentation.mjs (for --import) and
 * autoinstrumentation.js (for --require) at its root.
 */
export const BUNDLE_SOURCE = '/autoinstrumentation';

/** Downward-API variables interpolated into OTEL_RESOURCE_ATTRIBUTES (the OpenTelemetry Operator's names). */
export const DOWNWARD_ENV = {
  podName: 'OTEL_RESOURCE_ATTRIBUTES_POD_NAME',
  podUid: 'OTEL_RESOURCE_ATTRIBUTES_POD_UID',
  nodeName: 'OTEL_RESOURCE_ATTRIBUTES_NODE_NAME',
} as const;

/** The semconv opt-in value that switches the GenAI instrumentations to the latest conventions. */
export const GENAI_SEMCONV_OPT_IN = 'gen_ai_latest_experimental';

/** OTLP/HTTP endpoint the app uses in sidecar mode: the processor in the same pod. */
export const SIDECAR_ENDPOINT = 'http://localhost:4318';
