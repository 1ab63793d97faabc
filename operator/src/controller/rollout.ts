// Pure decisions of spec.rollout: which workloads own outdated pods, how many may be restarted now
// (a token bucket), and whether new pods crashing pauses the rollout. No I/O here; the reconciler
// resolves workloads and patches them.

import type { V1Pod } from '@kubernetes/client-node';

/** Annotations the rollout writes on a workload's pod template (the first is kubectl's own). */
export const RESTARTED_AT = 'kubectl.kubernetes.io/restartedAt';
export const RESTARTED_FOR_HASH = 'llmobs.dev/restarted-for-hash';
export const ROLLOUT_PAUSED = 'RolloutPaused';

/** A pod whose container restarted this often and is not ready counts as crashing. */
export const CRASH_RESTARTS = 3;

export type WorkloadKind = 'Deployment' | 'StatefulSet' | 'DaemonSet';

export interface WorkloadRef {
  readonly kind: WorkloadKind;
  readonly name: string;
}

export interface OwnerRef {
  readonly kind: string;
  readonly name: string;
  readonly controller?: boolean;
}

export interface ContainerState {
  readonly name: string;
  readonly restartCount?: number;
  readonly ready?: boolean;
  /** state.waiting.reason, e.g. CrashLoopBackOff. */
  readonly waitingReason?: string;
}

/** What the rollout needs of an instrumented pod (see Stores.instrumentedPods). */
export interface RolloutPod {
  readonly name: string;
  readonly configHash: string | undefined;
  readonly labels?: Readonly<Record<string, string>>;
  readonly ownerReferences?: readonly OwnerRef[];
  /** metadata.creationTimestamp, RFC 3339. */
  readonly createdAt?: string;
  readonly containers?: readonly ContainerState[];
}

/** What the rollout reads of a pod (for Stores.instrumentedPods). */
export function rolloutPod(p: V1Pod, configHashAnnotation = 'llmobs.dev/config-hash'): RolloutPod {
  const created = p.metadata?.creationTimestamp;
  return {
    name: p.metadata?.name ?? '',
    configHash: p.metadata?.annotations?.[configHashAnnotation],
    labels: p.metadata?.labels ?? {},
    ownerReferences: (p.metadata?.ownerReferences ?? []).map((o) => ({
      kind: o.kind,
      name: o.name,
      controller: o.controller === true,
    })),
    ...(created ? { createdAt: new Date(created).toISOString() } : {}),
    containers: (p.status?.containerStatuses ?? []).map((c) => ({
      name: c.name,
      restartCount: c.restartCount,
      ready: c.ready,
      ...(c.state?.waiting?.reason ? { waitingReason: c.state.waiting.reason } : {}),
    })),
  };
}

/** A pod's owner as the rollout sees it: a workload, or a ReplicaSet still to be resolved to its Deployment. */
export type PodOwner =
  | { readonly kind: WorkloadKind; readonly name: string }
  | {
      readonly kind: 'ReplicaSet';
      readonly name: string;
      /** The Deployment it belongs to by the Deployment controller's naming (<deployment>-<pod-template-hash>). */
      readonly deployment: string | undefined;
      readonly podLabels: Readonly<Record<string, string>>;
    };

/**
 * Distinct controllers of the pods instrumented from another configuration than `hash`, sorted by kind
 * and name. Pods without a controller, or controlled by anything else (a Job, a bare Pod), are left out.
 */
export function outdatedOwners(pods: readonly RolloutPod[], hash: string): PodOwner[] {
  const out = new Map<string, PodOwner>();
  for (const p of pods) {
    if (p.configHash === hash) continue;
    const o = p.ownerReferences?.find((r) => r.controller === true);
    if (!o) continue;
    const key = `${o.kind}/${o.name}`;
    if (out.has(key)) continue;
    if (o.kind === 'StatefulSet' || o.kind === 'DaemonSet') out.set(key, { kind: o.kind, name: o.name });
    else if (o.kind === 'ReplicaSet') {
      const th = p.labels?.['pod-template-hash'];
      const suffix = th ? `-${th}` : undefined;
      const deployment =
        suffix && o.name.endsWith(suffix) && o.name.length > suffix.length
          ? o.name.slice(0, -suffix.length)
          : undefined;
      out.set(key, { kind: 'ReplicaSet', name: o.name, deployment, podLabels: p.labels ?? {} });
    }
  }
  return [...out.values()].sort((a, b) =>
    a.kind === b.kind ? a.name.localeCompare(b.name) : a.kind.localeCompare(b.kind),
  );
}

/** True when every matchLabels entry of a selector is on the pod (matchExpressions are not followed). */
export function selectorMatches(
  selector: { matchLabels?: Readonly<Record<string, string>> } | undefined,
  labels: Readonly<Record<string, string>>,
): boolean {
  const ml = Object.entries(selector?.matchLabels ?? {});
  return ml.length > 0 && ml.every(([k, v]) => labels[k] === v);
}

/**
 * The first pod created at or after `since` (the last restart) that is crashing: a container waiting in
 * CrashLoopBackOff, or restarted CRASH_RESTARTS times or more and not ready. Nothing before any restart.
 */
export function crashingPod(
  pods: readonly RolloutPod[],
  since: Date | undefined,
): { pod: string; why: string } | undefined {
  if (!since) return undefined;
  for (const p of [...pods].sort((a, b) => a.name.localeCompare(b.name))) {
    const created = p.createdAt ? Date.parse(p.createdAt) : Number.NaN;
    if (!(created >= since.getTime())) continue;
    for (const c of p.containers ?? []) {
      if (c.waitingReason === 'CrashLoopBackOff')
        return { pod: p.name, why: `container ${c.name} is in CrashLoopBackOff` };
      if ((c.restartCount ?? 0) >= CRASH_RESTARTS && c.ready !== true)
        return { pod: p.name, why: `container ${c.name} restarted ${c.restartCount} times` };
    }
  }
  return undefined;
}

export interface PauseInput {
  readonly pauseOnCrashLoop: boolean;
  readonly crashing: { pod: string; why: string } | undefined;
  /** The RolloutPaused condition as last written, if any. */
  readonly previous: { status: string; observedGeneration?: number } | undefined;
  readonly generation: number;
}

export interface PauseDecision {
  readonly paused: boolean;
  readonly reason: 'NewPodsCrashing' | 'ResourceChanged' | 'NoCrashingPods' | 'PauseDisabled';
  readonly message: string;
}

/**
 * Paused while a pod created since the last restart crashes. A new generation of the resource lifts a
 * pause once (restarts go on; the next restart moves the window, so older crashing pods stop counting).
 */
export function pauseDecision(i: PauseInput): PauseDecision {
  if (!i.pauseOnCrashLoop)
    return { paused: false, reason: 'PauseDisabled', message: 'spec.rollout.pauseOnCrashLoop is false' };
  if (!i.crashing)
    return {
      paused: false,
      reason: 'NoCrashingPods',
      message: 'no pod created since the last restart is crashing',
    };
  if (i.previous?.status === 'True' && (i.previous.observedGeneration ?? 0) < i.generation)
    return {
      paused: false,
      reason: 'ResourceChanged',
      message: `the resource changed; resuming although pod ${i.crashing.pod} is crashing (${i.crashing.why})`,
    };
  return {
    paused: true,
    reason: 'NewPodsCrashing',
    message: `pod ${i.crashing.pod} created since the last restart is crashing (${i.crashing.why}); no further restarts`,
  };
}

/** A token bucket: `perMinute` tokens of capacity, refilled continuously at `perMinute` per minute. */
export class TokenBucket {
  #tokens: number;
  #at: number;
  #perMinute: number;

  constructor(perMinute: number, now: Date) {
    this.#perMinute = perMinute;
    this.#tokens = perMinute;
    this.#at = now.getTime();
  }

  #refill(now: Date, perMinute: number): void {
    const t = now.getTime();
    if (perMinute !== this.#perMinute) {
      this.#perMinute = perMinute;
      this.#tokens = Math.min(this.#tokens, perMinute);
    }
    if (t > this.#at) {
      this.#tokens = Math.min(this.#perMinute, this.#tokens + ((t - this.#at) * this.#perMinute) / 60_000);
      this.#at = t;
    }
  }

  /** Takes a token if one is there. */
  take(now: Date, perMinute: number): boolean {
    this.#refill(now, perMinute);
    if (this.#tokens < 1) return false;
    this.#tokens -= 1;
    return true;
  }

  /** Milliseconds until the next token. */
  msUntilNext(now: Date, perMinute: number): number {
    this.#refill(now, perMinute);
    return this.#tokens >= 1 ? 0 : Math.ceil(((1 - this.#tokens) * 60_000) / this.#perMinute - 1e-6);
  }
}

export interface Candidate {
  readonly ref: WorkloadRef;
  /** llmobs.dev/restarted-for-hash on its pod template. */
  readonly restartedForHash: string | undefined;
}

export interface Plan {
  readonly restart: readonly WorkloadRef[];
  /** Workloads still to restart for this hash after this plan. */
  readonly pending: readonly WorkloadRef[];
  /** Ask to be reconciled again after this long (a token is due), when some are pending and not paused. */
  readonly requeueAfterMs: number | undefined;
}

/** Restarts each workload once per hash, in order, as long as the bucket has tokens and nothing is paused. */
export function planRollout(
  candidates: readonly Candidate[],
  hash: string,
  paused: boolean,
  bucket: TokenBucket,
  perMinute: number,
  now: Date,
): Plan {
  const todo = candidates.filter((c) => c.restartedForHash !== hash).map((c) => c.ref);
  if (paused) return { restart: [], pending: todo, requeueAfterMs: undefined };
  const restart: WorkloadRef[] = [];
  const pending: WorkloadRef[] = [];
  for (const ref of todo) (bucket.take(now, perMinute) ? restart : pending).push(ref);
  return {
    restart,
    pending,
    requeueAfterMs: pending.length > 0 ? Math.max(1_000, bucket.msUntilNext(now, perMinute)) : undefined,
  };
}
