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
import { type Condition, setCondition } from '../runtime/conditions.ts';
import { desiredState } from './desired.ts';
import type { ClusterWriter, Stores } from './ports.ts';

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

  constructor(stores: Stores, writer: ClusterWriter, o: ReconcilerOptions) {
    this.#stores = stores;
    this.#writer = writer;
    this.#o = o;
  }

  async reconcile(req: Request): Promise<{ requeueAfterMs?: number }> {
    const cr = this.#stores.resource(req.namespace, req.name);
    // Deleted: the gateway objects carry owner references, so the garbage collector removes them.
    if (!cr) return {};
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
        await this.#writer.delete('apps/v1', 'Deployment', req.namespace, gatewayName(cr));
        await this.#writer.delete('v1', 'Service', req.namespace, gatewayName(cr));
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
      await this.#writeStatus(cr, conditions, generation, hash, eff.mode);
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

    await this.#writeStatus(cr, conditions, generation, hash, eff.mode);
    return requeueAfterMs === undefined ? {} : { requeueAfterMs };
  }

  async #writeStatus(
    cr: NonNullable<ReturnType<Stores['resource']>>,
    conditions: Condition[],
    generation: number,
    hash: string,
    mode: 'gateway' | 'sidecar',
  ): Promise<void> {
    const pods = this.#stores.instrumentedPods(cr.metadata.namespace ?? '', cr.metadata.name);
    const status: LLMObservabilityStatus = {
      observedGeneration: generation,
      conditions,
      configHash: hash,
      processorEndpoint: mode === 'gateway' ? gatewayEndpoint(cr) : 'http://localhost:4318',
      instrumentedPods: pods.filter((p) => p.configHash === hash).length,
      outdatedPods: pods.filter((p) => p.configHash !== hash).length,
    };
    const previous = (cr as { status?: LLMObservabilityStatus }).status;
    // Compared canonically: the apiserver may return keys in another order.
    if (previous && configHash(previous) === configHash(status)) return;
    await this.#writer.patchStatus(cr.metadata.namespace ?? '', cr.metadata.name, status);
  }
}
