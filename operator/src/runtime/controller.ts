import type { KubernetesObject } from '@kubernetes/client-node';
import { type Logger, pino } from 'pino';
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { type Cancel, type Clock, realClock } from './clock.ts';
import { describeError } from './errors.ts';
import type { Source } from './informer.ts';
import { isTerminalError, keyOf, parseKey, type Reconciler, type Request, requestFor } from './reconciler.ts';
import { WorkQueue } from './workqueue.ts';

/** Maps an object of a watched kind to the primary keys it affects. */
export type MapFn<T> = (obj: T) => readonly Request[];

/** Filters events of the primary kind; an absent member lets every event of that type through. */
export interface Predicate<T> {
  add?(obj: T): boolean;
  update?(oldObj: T, newObj: T): boolean;
  delete?(obj: T): boolean;
}

/**
 * Lets through updates that change `metadata.generation` (spec changes), so a controller does not
 * wake up for its own status writes (controller-runtime's GenerationChangedPredicate). Kinds without
 * a generation (ConfigMap, Secret) never pass it.
 */
export const generationChanged: Predicate<KubernetesObject> = {
  update: (oldObj, newObj) => oldObj.metadata?.generation !== newObj.metadata?.generation,
};

/** A secondary event source: objects of another kind mapped to primary keys. */
export interface WatchedSource {
  /** Starts delivering requests to `enqueue` (at once, or after `afterMs`); returns an unsubscribe. */
  subscribe(enqueue: (req: Request, afterMs?: number) => void): () => void;
  waitForSync(signal?: AbortSignal): Promise<boolean>;
}

export interface MapSourceOptions {
  /**
   * Queue the keys this long after the event instead of at once. A key already waiting is not queued
   * twice, so a burst of events (pods created by the hundred) costs one reconcile per key per delay.
   */
  readonly delayMs?: number;
}

/** Watches `source` and queues `map(obj)` for every add, delete and (old and new) update. */
export function mapSource<T>(source: Source<T>, map: MapFn<T>, opts: MapSourceOptions = {}): WatchedSource {
  return {
    subscribe(enqueue) {
      const each = (obj: T) => {
        for (const req of map(obj)) enqueue(req, opts.delayMs);
      };
      return source.addEventHandler({
        onAdd: each,
        onUpdate: (oldObj, newObj) => {
          each(oldObj);
          each(newObj);
        },
        onDelete: each,
      });
    },
    waitForSync: (signal) => source.waitForSync(signal),
  };
}

function groupOf(apiVersion: string): string {
  const slash = apiVersion.indexOf('/');
  return slash < 0 ? '' : apiVersion.slice(0, slash);
}

/**
 * Maps an owned object to its controlling owner of `owner`'s group and kind (any version), in the
 * object's namespace — controller-runtime's `EnqueueRequestForOwner(..., OnlyControllerOwner())`.
 */
export function enqueueOwner(owner: {
  readonly apiVersion: string;
  readonly kind: string;
}): MapFn<KubernetesObject> {
  const group = groupOf(owner.apiVersion);
  return (obj) =>
    (obj.metadata?.ownerReferences ?? [])
      .filter(
        (ref) => ref.controller === true && ref.kind === owner.kind && groupOf(ref.apiVersion) === group,
      )
      .map((ref) => ({ namespace: obj.metadata?.namespace ?? '', name: ref.name }));
}

export const ReconcileResult = {
  success: 'success',
  requeueAfter: 'requeue_after',
  error: 'error',
  terminalError: 'terminal_error',
} as const;
export type ReconcileResult = (typeof ReconcileResult)[keyof typeof ReconcileResult];

interface ControllerMetrics {
  readonly total: Counter<'controller' | 'result'>;
  readonly errors: Counter<'controller'>;
  readonly duration: Histogram<'controller'>;
  readonly depths: Map<string, () => number>;
}

const metricsByRegistry = new WeakMap<Registry, ControllerMetrics>();

function metricsFor(registry: Registry): ControllerMetrics {
  let m = metricsByRegistry.get(registry);
  if (m !== undefined) return m;
  const depths = new Map<string, () => number>();
  const registers = [registry];
  m = {
    depths,
    total: new Counter({
      name: 'llmobs_operator_reconcile_total',
      help: 'Reconciles per controller and result (success, requeue_after, error, terminal_error).',
      labelNames: ['controller', 'result'],
      registers,
    }),
    errors: new Counter({
      name: 'llmobs_operator_reconcile_errors_total',
      help: 'Reconciles that failed, retried or terminal.',
      labelNames: ['controller'],
      registers,
    }),
    duration: new Histogram({
      name: 'llmobs_operator_reconcile_duration_seconds',
      help: 'Time per reconcile.',
      labelNames: ['controller'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
      registers,
    }),
  };
  new Gauge({
    name: 'llmobs_operator_workqueue_depth',
    help: 'Keys waiting in the work queue (not delayed, not in flight).',
    labelNames: ['controller'],
    registers,
    collect() {
      for (const [controller, len] of depths) this.set({ controller }, len());
    },
  });
  metricsByRegistry.set(registry, m);
  return m;
}

export interface ControllerOptions<T extends KubernetesObject> {
  /** Unique per registry; the `controller` label of every metric. */
  readonly name: string;
  readonly reconciler: Reconciler;
  /** The primary kind: each object is reconciled under its own namespace/name. */
  readonly for: Source<T>;
  /** Filters events of the primary kind (e.g. {@link generationChanged}). */
  readonly predicate?: Predicate<T>;
  /** Other kinds whose events queue primary keys (owned objects: {@link enqueueOwner}). */
  readonly watches?: readonly WatchedSource[];
  /** Workers; a key is still never reconciled by two at once. Default 1. */
  readonly maxConcurrentReconciles?: number;
  /** Queue every cached primary object again this often (0/absent: never). */
  readonly resyncPeriodMs?: number;
  /** Retry backoff of failed reconciles. Defaults: 5 ms doubling to 60 s. */
  readonly baseDelayMs?: number;
  readonly maxDelayMs?: number;
  /** Where the `llmobs_operator_*` metrics go; omitted: not exported. */
  readonly registry?: Registry;
  readonly logger?: Logger;
  readonly clock?: Clock;
}

/**
 * controller-runtime's controller in miniature: informer events → keys → a {@link WorkQueue} →
 * N workers → {@link Reconciler.reconcile}. A thrown error requeues the key with per-key backoff, a
 * {@link TerminalError} is logged and counted without a retry, success resets the backoff and
 * honours `requeueAfterMs`.
 */
export class Controller<T extends KubernetesObject> {
  readonly name: string;
  readonly #opts: ControllerOptions<T>;
  readonly #queue: WorkQueue;
  readonly #log: Logger;
  readonly #clock: Clock;
  readonly #metrics: ControllerMetrics | undefined;
  #state: 'new' | 'running' | 'stopped' = 'new';

  constructor(opts: ControllerOptions<T>) {
    this.name = opts.name;
    this.#opts = opts;
    this.#clock = opts.clock ?? realClock;
    this.#queue = new WorkQueue({
      clock: this.#clock,
      baseDelayMs: opts.baseDelayMs,
      maxDelayMs: opts.maxDelayMs,
    });
    this.#log = (opts.logger ?? pino({ level: 'silent' })).child({ controller: opts.name });
    if (opts.registry !== undefined) {
      this.#metrics = metricsFor(opts.registry);
      if (this.#metrics.depths.has(opts.name)) {
        throw new Error(`a controller named ${opts.name} already reports to this registry`);
      }
      this.#metrics.depths.set(opts.name, () => this.#queue.len());
      for (const result of Object.values(ReconcileResult)) {
        this.#metrics.total.inc({ controller: opts.name, result }, 0);
      }
      this.#metrics.errors.inc({ controller: opts.name }, 0);
    }
  }

  /** Queues `req` for reconciliation (e.g. from an external trigger). */
  enqueue(req: Request): void {
    this.#queue.add(keyOf(req));
  }

  /** Ready keys in the queue. */
  queueLength(): number {
    return this.#queue.len();
  }

  /**
   * Subscribes to the sources, waits for them to sync, then reconciles until `signal` aborts; resolves
   * once in-flight reconciles (whose signal aborts too) have returned. Runs once per controller.
   */
  async run(signal: AbortSignal): Promise<void> {
    if (this.#state !== 'new') throw new Error(`controller ${this.name} has already run`);
    this.#state = 'running';
    const enqueue = (req: Request, afterMs?: number) => {
      if (afterMs !== undefined && afterMs > 0) this.#queue.addAfter(keyOf(req), afterMs);
      else this.enqueue(req);
    };
    const p = this.#opts.predicate;
    const unsubscribe = [
      this.#opts.for.addEventHandler({
        onAdd: (obj) => {
          if (p?.add?.(obj) ?? true) enqueue(requestFor(obj));
        },
        onUpdate: (oldObj, newObj) => {
          if (p?.update?.(oldObj, newObj) ?? true) enqueue(requestFor(newObj));
        },
        onDelete: (obj) => {
          if (p?.delete?.(obj) ?? true) enqueue(requestFor(obj));
        },
      }),
      ...(this.#opts.watches ?? []).map((w) => w.subscribe(enqueue)),
    ];
    let cancelResync: Cancel | undefined;
    try {
      const sources = [this.#opts.for, ...(this.#opts.watches ?? [])];
      const synced = await Promise.all(sources.map((s) => s.waitForSync(signal)));
      if (signal.aborted || !synced.every(Boolean)) return;
      const n = Math.max(1, this.#opts.maxConcurrentReconciles ?? 1);
      this.#log.info({ workers: n }, 'starting workers');
      const workers = Array.from({ length: n }, () => this.#worker(signal));
      cancelResync = this.#scheduleResync();
      await new Promise<void>((resolve) => {
        if (signal.aborted) resolve();
        else signal.addEventListener('abort', () => resolve(), { once: true });
      });
      cancelResync?.();
      await this.#queue.shutDown();
      await Promise.all(workers);
      this.#log.info('stopped');
    } finally {
      cancelResync?.();
      for (const u of unsubscribe) u();
      await this.#queue.shutDown();
      this.#state = 'stopped';
    }
  }

  #scheduleResync(): Cancel | undefined {
    const period = this.#opts.resyncPeriodMs ?? 0;
    if (!(period > 0)) return undefined;
    let cancel: Cancel = () => {};
    const tick = () => {
      for (const obj of this.#opts.for.list()) this.enqueue(requestFor(obj));
      cancel = this.#clock.schedule(tick, period);
    };
    cancel = this.#clock.schedule(tick, period);
    return () => cancel();
  }

  async #worker(signal: AbortSignal): Promise<void> {
    for (;;) {
      const key = await this.#queue.get();
      if (key === undefined) return;
      try {
        await this.#reconcileKey(key, signal);
      } finally {
        this.#queue.done(key);
      }
    }
  }

  async #reconcileKey(key: string, signal: AbortSignal): Promise<void> {
    const req = parseKey(key);
    const started = this.#clock.now();
    const labels = { controller: this.name };
    let result: ReconcileResult;
    try {
      const res = await this.#opts.reconciler.reconcile(req, signal);
      this.#queue.forget(key);
      const after = res?.requeueAfterMs ?? 0;
      if (after > 0) {
        this.#queue.addAfter(key, after);
        result = ReconcileResult.requeueAfter;
      } else {
        result = ReconcileResult.success;
      }
      this.#log.debug({ ...req, requeueAfterMs: after || undefined }, 'reconciled');
    } catch (err) {
      if (signal.aborted) {
        this.#log.debug({ ...req, err: describeError(err) }, 'reconcile ended by shutdown');
        return;
      }
      this.#metrics?.errors.inc(labels);
      if (isTerminalError(err)) {
        this.#queue.forget(key);
        result = ReconcileResult.terminalError;
        this.#log.error({ ...req, err: describeError(err) }, 'reconcile failed terminally; not retrying');
      } else {
        const retryInMs = this.#queue.nextBackoff(key);
        this.#queue.addRateLimited(key);
        result = ReconcileResult.error;
        this.#log.warn(
          { ...req, err: describeError(err), retries: this.#queue.numRequeues(key), retryInMs },
          'reconcile failed; retrying',
        );
      }
    }
    this.#metrics?.total.inc({ ...labels, result });
    this.#metrics?.duration.observe(labels, (this.#clock.now() - started) / 1000);
  }
}
