import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import { CONDITION } from '../api/v1alpha1/constants.ts';
import type { LLMObservabilityStatus } from '../api/v1alpha1/types.gen.ts';
import {
  gatewayConfigMap,
  gatewayDeployment,
  gatewayEndpoint,
  gatewayName,
  gatewayService,
  hmacSecret,
} from '../manifests/gateway.ts';
import { configHash } from '../manifests/hash.ts';
import {
  type Condition,
  findCondition,
  formatTime,
  removeCondition,
  setCondition,
} from '../runtime/conditions.ts';
import { desiredState } from './desired.ts';
import type { ClusterWriter, Stores } from './ports.ts';
import {
  type Candidate,
  crashingPod,
  outdatedOwners,
  pauseDecision,
  planRollout,
  RESTARTED_AT,
  RESTARTED_FOR_HASH,
  ROLLOUT_PAUSED,
  selectorMatches,
  TokenBucket,
  type WorkloadRef,
} from './rollout.ts';

type RolloutStatus = NonNullable<LLMObservabilityStatus['rollout']>;
type Resource = NonNullable<ReturnType<Stores['resource']>>;

export interface ReconcilerOptions {
  readonly processorImage: string;
  readonly logger: Logger;
  readonly now?: () => Date;
}

export interface Request {
  readonly namespace: string;
  readonly name: string;
}

/**
 * Level-triggered reconcile of one LLMObservability: compute the effective configuration from the
 * resource and the policies selecting its namespace, converge the gateway objects (or remove them in
 * sidecar mode), then write status. Everything read comes from informer caches; every write is an
 * idempotent server-side apply, so a reconcile interrupted at any point converges when run again.
 */
export class LLMObservabilityReconciler {
  readonly #stores: Stores;
  readonly #writer: ClusterWriter;
  readonly #o: ReconcilerOptions;
  /** spec.rollout rate limit per resource (namespace/name); in memory, so a new leader starts full. */
  readonly #buckets = new Map<string, TokenBucket>();
  /**
   * Resources (namespace/name) in sidecar mode whose gateway Deployment and Service this process has already
   * deleted, or knows never existed: later reconciles send no DELETE for them (each would be a 404 every time).
   * Cleared when the resource goes back to gateway mode or away; a new leader checks once per resource.
   */
  readonly #gatewayGone = new Set<string>();

  constructor(stores: Stores, writer: ClusterWriter, o: ReconcilerOptions) {
    this.#stores = stores;
    this.#writer = writer;
    this.#o = o;
  }

  async reconcile(req: Request): Promise<{ requeueAfterMs?: number }> {
    const cr = this.#stores.resource(req.namespace, req.name);
    const key = `${req.namespace}/${req.name}`;
    // Deleted: the gateway objects carry owner references, so the garbage collector removes them.
    if (!cr) {
      this.#gatewayGone.delete(key);
      return {};
    }
    const now = (this.#o.now ?? (() => new Date()))();
    const generation = cr.metadata.generation ?? 0;
    const { policies, eff, rendered, resources, hash } = desiredState(
      cr,
      this.#stores.policies(),
      this.#stores.namespaceLabels(req.namespace) ?? {},
    );
    const hashing = eff.redactionAction === 'hash' && eff.mode === 'gateway';
    const params = {
      owner: cr,
      rendered,
      configHash: hash,
      image: cr.spec?.processor?.image ?? this.#o.processorImage,
      replicas: eff.replicas,
      ...(resources ? { resources } : {}),
      ...(hashing ? { hmacSecretName: `${gatewayName(cr)}-hmac` } : {}),
    };

    // A copy: setCondition works in place and the resource is the informer cache's object.
    const conditions: Condition[] = structuredClone(
      (cr as { status?: LLMObservabilityStatus }).status?.conditions ?? [],
    );
    const set = (type: string, ok: boolean, reason: string, message: string) => {
      setCondition(
        conditions,
        { type, status: ok ? 'True' : 'False', reason, message, observedGeneration: generation },
        now,
      );
    };

    let processorReady: boolean;
    let requeueAfterMs: number | undefined;
    try {
      if (hashing) await this.#writer.createIfAbsent(hmacSecret(cr, randomBytes(32)));
      // The ConfigMap is needed in both modes: sidecars mount it too.
      await this.#writer.apply(gatewayConfigMap(params));
      if (eff.mode === 'gateway') {
        this.#gatewayGone.delete(key);
        await this.#writer.apply(gatewayService(params));
        await this.#writer.apply(gatewayDeployment(params));
        const ready = this.#stores.readyReplicas(req.namespace, gatewayName(cr)) ?? 0;
        processorReady = ready > 0;
        set(
          CONDITION.processorReady,
          processorReady,
          processorReady ? 'GatewayAvailable' : 'GatewayProgressing',
          `${ready}/${eff.replicas} gateway replicas ready`,
        );
        if (!processorReady) requeueAfterMs = 10_000;
      } else {
        // The mode is spec only, and generation 1 is the spec as created: a resource that has always been in
        // sidecar mode never had a gateway applied, so there is nothing to delete (a new one sends no DELETE).
        if (cr.metadata.generation === 1) this.#gatewayGone.add(key);
        if (!this.#gatewayGone.has(key)) {
          await this.#writer.delete('apps/v1', 'Deployment', req.namespace, gatewayName(cr));
          await this.#writer.delete('v1', 'Service', req.namespace, gatewayName(cr));
          this.#gatewayGone.add(key);
        }
        processorReady = true;
        set(
          CONDITION.processorReady,
          true,
          'SidecarMode',
          'the processor runs as a sidecar in each instrumented pod',
        );
      }
    } catch (err) {
      const message = `applying the processor objects failed: ${(err as Error).message}`;
      set(CONDITION.processorReady, false, 'ApplyFailed', message);
      set(CONDITION.ready, false, 'ApplyFailed', message);
      await this.#writeStatus(
        cr,
        conditions,
        generation,
        hash,
        eff.mode,
        (cr as { status?: LLMObservabilityStatus }).status?.rollout,
      );
      await this.#writer.event(cr, 'Warning', 'ApplyFailed', message);
      throw err;
    }

    if (eff.violations.length > 0) {
      const message = eff.violations.map((v) => v.message).join('; ');
      set(CONDITION.policyCompliant, false, 'RunningAtPolicyFloor', message);
      await this.#writer.event(cr, 'Warning', 'PolicyFloorApplied', message);
    } else {
      set(
        CONDITION.policyCompliant,
        true,
        'Compliant',
        policies.length === 0
          ? 'no policy selects this namespace'
          : `complies with ${policies.map((p) => p.metadata.name).join(', ')}`,
      );
    }

    const noExporter = eff.exporters.length === 0;
    const ready = processorReady && !noExporter;
    set(
      CONDITION.ready,
      ready,
      noExporter ? 'NoExporter' : processorReady ? 'Ready' : 'ProcessorNotReady',
      noExporter
        ? 'no exporter is configured or allowed; telemetry is accepted and logged but not exported'
        : processorReady
          ? (eff.captureNote ??
            (eff.redactionAction === 'hash' && eff.mode === 'sidecar'
              ? 'redaction masks instead of hashing in sidecar mode (the HMAC key is mounted by gateways only)'
              : 'instrumented pods send telemetry through the processor'))
          : 'waiting for the processor',
    );

    const rollout = await this.#rollout(cr, hash, generation, conditions, set, now);
    if (rollout.requeueAfterMs !== undefined)
      requeueAfterMs = Math.min(requeueAfterMs ?? Number.POSITIVE_INFINITY, rollout.requeueAfterMs);

    await this.#writeStatus(cr, conditions, generation, hash, eff.mode, rollout.status);
    return requeueAfterMs === undefined ? {} : { requeueAfterMs };
  }

  /**
   * spec.rollout: restart, once per config hash and at most maxWorkloadsPerMinute, the workloads whose pods
   * carry another hash; pause while pods created since the last restart crash (see rollout.ts).
   */
  async #rollout(
    cr: Resource,
    hash: string,
    generation: number,
    conditions: Condition[],
    set: (type: string, ok: boolean, reason: string, message: string) => void,
    now: Date,
  ): Promise<{ status: RolloutStatus | undefined; requeueAfterMs?: number }> {
    const ns = cr.metadata.namespace ?? '';
    const key = `${ns}/${cr.metadata.name}`;
    const spec = cr.spec?.rollout;
    const previous = (cr as { status?: LLMObservabilityStatus }).status?.rollout;
    if (!spec?.enabled) {
      this.#buckets.delete(key);
      removeCondition(conditions, ROLLOUT_PAUSED);
      return { status: previous };
    }
    const perMinute = spec.maxWorkloadsPerMinute ?? 2;
    const pods = this.#stores.instrumentedPods(ns, cr.metadata.name);
    // Outdated pods → their workloads; a ReplicaSet's Deployment is checked by reading it (selector).
    let failed = 0;
    let lastRestart = previous?.lastRestartTime ? new Date(previous.lastRestartTime) : undefined;
    const candidates = new Map<string, Candidate>();
    for (const o of outdatedOwners(pods, hash)) {
      try {
        const ref: WorkloadRef | undefined =
          o.kind === 'ReplicaSet'
            ? o.deployment
              ? { kind: 'Deployment', name: o.deployment }
              : undefined
            : o;
        if (!ref || candidates.has(`${ref.kind}/${ref.name}`)) continue;
        const view = await this.#writer.readWorkload(ns, ref.kind, ref.name);
        if (!view) continue;
        if (o.kind === 'ReplicaSet' && !selectorMatches(view.selector, o.podLabels)) continue;
        const restartedForHash = view.templateAnnotations[RESTARTED_FOR_HASH];
        candidates.set(`${ref.kind}/${ref.name}`, { ref, restartedForHash });
        // The workloads remember their restart even when the cached status has not caught up yet.
        const at = Date.parse(view.templateAnnotations[RESTARTED_AT] ?? '');
        if (restartedForHash === hash && at > (lastRestart?.getTime() ?? 0)) lastRestart = new Date(at);
      } catch (err) {
        failed++;
        this.#o.logger.warn(
          { err, resource: key, owner: `${o.kind}/${o.name}` },
          'rollout: reading a workload failed',
        );
      }
    }

    // A copy: set() below updates the condition in place.
    const prevPaused = structuredClone(findCondition(conditions, ROLLOUT_PAUSED));
    const pause = pauseDecision({
      pauseOnCrashLoop: spec.pauseOnCrashLoop ?? true,
      crashing: crashingPod(pods, lastRestart),
      previous: prevPaused,
      generation,
    });
    set(ROLLOUT_PAUSED, pause.paused, pause.reason, pause.message);
    if (pause.paused && prevPaused?.status !== 'True')
      await this.#writer.event(cr, 'Warning', 'RolloutPaused', pause.message);

    const bucket = this.#buckets.get(key) ?? new TokenBucket(perMinute, now);
    this.#buckets.set(key, bucket);
    const plan = planRollout([...candidates.values()], hash, pause.paused, bucket, perMinute, now);
    let restarted = 0;
    for (const ref of plan.restart) {
      try {
        await this.#writer.annotatePodTemplate(ns, ref.kind, ref.name, {
          [RESTARTED_AT]: formatTime(now),
          [RESTARTED_FOR_HASH]: hash,
        });
        restarted++;
        await this.#writer.event(
          cr,
          'Normal',
          'RolloutRestarted',
          `restarted ${ref.kind} ${ref.name}: its pods were instrumented from an older configuration (now ${hash})`,
        );
      } catch (err) {
        failed++;
        await this.#writer.event(
          cr,
          'Warning',
          'RolloutFailed',
          `restarting ${ref.kind} ${ref.name} failed: ${(err as Error).message}`,
        );
      }
    }

    const status: RolloutStatus = {
      configHash: hash,
      restartedWorkloads:
        (previous?.configHash === hash ? (previous.restartedWorkloads ?? 0) : 0) + restarted,
      pendingWorkloads: plan.pending.length + failed,
    };
    const last = restarted > 0 ? formatTime(now) : lastRestart && formatTime(lastRestart);
    if (last) status.lastRestartTime = last;
    // Paused or failing: look again later (pod events requeue too, e.g. when the crash clears).
    const retry = failed > 0 || (pause.paused && plan.pending.length > 0) ? 30_000 : undefined;
    const after = [plan.requeueAfterMs, retry].filter((v): v is number => v !== undefined);
    return after.length > 0 ? { status, requeueAfterMs: Math.min(...after) } : { status };
  }

  async #writeStatus(
    cr: Resource,
    conditions: Condition[],
    generation: number,
    hash: string,
    mode: 'gateway' | 'sidecar',
    rollout: RolloutStatus | undefined,
  ): Promise<void> {
    const pods = this.#stores.instrumentedPods(cr.metadata.namespace ?? '', cr.metadata.name);
    const uninstrumented = this.#stores.uninstrumentedPods(cr.metadata.namespace ?? '', cr.metadata.name);
    const status: LLMObservabilityStatus = {
      observedGeneration: generation,
      conditions,
      configHash: hash,
      processorEndpoint: mode === 'gateway' ? gatewayEndpoint(cr) : 'http://localhost:4318',
      instrumentedPods: pods.filter((p) => p.configHash === hash).length,
      outdatedPods: pods.filter((p) => p.configHash !== hash).length,
      uninstrumentedPods: uninstrumented,
      ...(rollout ? { rollout } : {}),
    };
    const previous = (cr as { status?: LLMObservabilityStatus }).status;
    // Compared canonically: the apiserver may return keys in another order.
    if (previous && configHash(previous) === configHash(status)) return;
    await this.#writer.patchStatus(cr.metadata.namespace ?? '', cr.metadata.name, status);
    // Said once each time more pods escape, not on every status write.
    if (uninstrumented > (previous?.uninstrumentedPods ?? 0))
      await this.#writer.event(
        cr,
        'Warning',
        'PodsNotInstrumented',
        `${uninstrumented} selected pod(s) run without instrumentation (created while the injection webhook was unavailable, refused by it, or older than this resource); restart their workloads, or enable spec.rollout`,
      );
  }
}
