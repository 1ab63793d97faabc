import type { V1Pod } from '@kubernetes/client-node';
import { type AdmissionRequest, type AdmissionResponse, allowed, isDryRun, patched } from '../admission.ts';
import { nodejsMutator, pythonMutator } from './autoinstrumentation.ts';
import {
  type ConfigSource,
  type NamespaceLookup,
  validateInjectionConfig,
  type WebhookSettings,
} from './config.ts';
import { type Outcome, POD_ANNOTATION, REASON, type Reason, STATUS } from './constants.ts';
import { envMutator } from './env.ts';
import { type MutationContext, type PodMutator, runChain, targetContainers } from './mutator.ts';
import { outcomeMutator, withOutcome } from './outcome.ts';
import { selectPod } from './selection.ts';
import { sidecarBlocker, sidecarMutator } from './sidecar.ts';

/**
 * The chain, in order: the bundles first (they wrap PYTHONPATH / NODE_OPTIONS), then the environment
 * (which puts OTEL_RESOURCE_ATTRIBUTES last), the sidecar, and the outcome annotations last.
 */
export const DEFAULT_MUTATORS: readonly PodMutator[] = [
  pythonMutator,
  nodejsMutator,
  envMutator,
  sidecarMutator,
  outcomeMutator,
];

export interface PodAdmissionDeps {
  readonly configSource: ConfigSource;
  readonly namespaces: NamespaceLookup;
  readonly settings: WebhookSettings;
  readonly mutators?: readonly PodMutator[];
}

/** What one admission decided, for the response and for the side effects the server owns. */
export interface PodAdmission {
  readonly response: AdmissionResponse;
  readonly outcome: Outcome;
  readonly reason: Reason;
  readonly message: string;
  readonly dryRun: boolean;
  readonly namespace: string;
  /** The pod as admitted (before mutation), when the request carried one. */
  readonly pod?: V1Pod;
  /** namespace/name of the LLMObservability that applied, when one did. */
  readonly appliedBy?: string;
}

class DeadlineError extends Error {}

async function withDeadline<T>(p: T | Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      Promise.resolve(p),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new DeadlineError(`${what} took longer than ${ms}ms`)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

function isPod(v: unknown): v is V1Pod {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/**
 * Admits one pod CREATE: select, then run the mutator chain, and answer with the JSON Patch. Never
 * rejects and never throws: whatever goes wrong, the pod is allowed (fail open) and, when it can be,
 * marked llmobs.dev/injection-status=error with the reason, plus a warning to the client.
 */
export async function admitPod(req: AdmissionRequest, deps: PodAdmissionDeps): Promise<PodAdmission> {
  const dryRun = isDryRun(req);
  const object = req.object;
  const namespace = req.namespace ?? (isPod(object) ? object.metadata?.namespace : undefined) ?? 'default';
  const base = { dryRun, namespace };
  if (req.kind.kind !== 'Pod' || req.operation !== 'CREATE' || req.subResource || !isPod(object)) {
    return {
      ...base,
      response: allowed(req),
      outcome: 'ignored',
      reason: REASON.notPodCreate,
      message: `not a pod CREATE (${req.kind.kind} ${req.operation})`,
    };
  }
  const pod = object;
  const result = (
    outcome: Outcome,
    reason: Reason,
    message: string,
    response: AdmissionResponse,
    appliedBy?: string,
  ) => ({
    ...base,
    pod,
    response,
    outcome,
    reason,
    message,
    ...(appliedBy ? { appliedBy } : {}),
  });

  try {
    if (pod.metadata?.annotations?.[POD_ANNOTATION.injectionStatus] !== undefined) {
      return result(
        'ignored',
        REASON.alreadyInstrumented,
        'the pod already carries an injection status',
        allowed(req),
      );
    }
    const podLabels = pod.metadata?.labels ?? {};
    const podAnnotations = pod.metadata?.annotations ?? {};
    // Exclusions first: kube-system and the operator's own pods cost no lookup at all.
    const early = selectPod({
      namespace,
      podLabels,
      podAnnotations: {},
      namespaceAnnotations: {},
      resources: [],
      settings: deps.settings,
    });
    if (
      !early.selected &&
      (early.reason === REASON.excludedNamespace || early.reason === REASON.operatorPod)
    ) {
      return result('ignored', early.reason, early.message, allowed(req));
    }

    const ms = deps.settings.deadlineMs;
    const [nsMeta, sources] = await Promise.all([
      withDeadline(deps.namespaces.get(namespace), ms, `reading namespace ${namespace}`),
      withDeadline(
        deps.configSource.forNamespace(namespace),
        ms,
        `reading the configuration of ${namespace}`,
      ),
    ]);
    const selection = selectPod({
      namespace,
      podLabels,
      podAnnotations,
      namespaceAnnotations: nsMeta?.annotations ?? {},
      resources: sources.map((s) => s.resource),
      settings: deps.settings,
    });
    if (!selection.selected) {
      if (!selection.explicit) return result('ignored', selection.reason, selection.message, allowed(req));
      const skipped = withOutcome(pod, STATUS.skipped, selection.reason, selection.message);
      return result('skipped', selection.reason, selection.message, patched(req, pod, skipped));
    }

    const source = sources.find((s) => s.resource === selection.resource);
    if (!source) throw new Error('selected resource has no source');
    const { config } = source;
    const problems = validateInjectionConfig(config);
    if (problems.length > 0) {
      const message = `configuration of ${config.appliedBy} is invalid: ${problems.join('; ')}`;
      const marked = withOutcome(pod, STATUS.error, REASON.invalidConfig, message);
      return result(
        'error',
        REASON.invalidConfig,
        message,
        patched(req, pod, marked, [`llmobs: ${message}`]),
        config.appliedBy,
      );
    }

    const ctx: MutationContext = { namespace, config, settings: deps.settings, selection: selection.message };
    const skip = (reason: Reason, message: string) => {
      const full = `${selection.message}; ${message}`;
      return result(
        'skipped',
        reason,
        full,
        patched(req, pod, withOutcome(pod, STATUS.skipped, reason, full)),
        config.appliedBy,
      );
    };
    if (targetContainers(pod).length === 0) {
      return skip(REASON.noTargetContainer, `no container matches ${POD_ANNOTATION.containerNames}`);
    }
    const blocker = sidecarBlocker(pod, ctx);
    if (blocker) return skip(REASON.sidecarNeedsNativeSupport, blocker);

    const mutated = runChain(pod, ctx, deps.mutators ?? DEFAULT_MUTATORS);
    const reasonText = mutated.metadata?.annotations?.[POD_ANNOTATION.injectionReason] ?? REASON.injected;
    const code = (reasonText.split(':')[0] ?? REASON.injected) as Reason;
    return result('injected', code, reasonText, patched(req, pod, mutated), config.appliedBy);
  } catch (err) {
    const message = errorMessage(err);
    const warning = `llmobs: instrumentation failed, the pod is admitted without it: ${message}`;
    try {
      const marked = withOutcome(pod, STATUS.error, REASON.internalError, message);
      return result('error', REASON.internalError, message, patched(req, pod, marked, [warning]));
    } catch {
      return result('error', REASON.internalError, message, allowed(req, [warning]));
    }
  }
}
