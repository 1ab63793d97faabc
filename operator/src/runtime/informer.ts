import { type KubeConfig, type KubernetesObject, type ObjectCache, Watch } from '@kubernetes/client-node';
import { type Logger, pino } from 'pino';
import { type Clock, realClock, sleep } from './clock.ts';
import { type ApiStatus, describeError, isGone } from './errors.ts';
import { kubeRequest } from './kube-request.ts';

/*
 * Why a list+watch loop of our own instead of client-node's `makeInformer` (ListWatch, 2.0.1):
 *
 * - ListWatch stops for good on any error other than 410 or a client timeout — including the socket
 *   error ('terminated') a watch gets when the apiserver restarts and ECONNREFUSED on the relist —
 *   and only reports it to 'error' callbacks, so a wrapper must restart it anyway;
 * - its `stop()` is not honoured while it lists or waits out its reconnect delay (it checks `stopped`
 *   only before listing), so a stop at the wrong moment leaves a watch running;
 * - it has no "synced" signal ('connect' fires before the list), and objects from its typed list
 *   (ObjectSerializer: Date fields) differ from objects from its watch (raw JSON: strings).
 *
 * This loop keeps client-node's `Watch` for the streaming transport and auth, lists the same path with
 * the same raw JSON (paginated), and owns the policy: relist on 410, backoff on every error, stop
 * honoured at every await, synthetic add/update/delete after a relist, hasSynced()/waitForSync().
 */

/** One event of a watch stream. ERROR carries a `Status` (e.g. code 410, reason Expired). */
export type WatchEvent<T> =
  | { readonly type: 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK'; readonly object: T }
  | { readonly type: 'ERROR'; readonly object: ApiStatus };

export interface ListResult<T> {
  readonly items: readonly T[];
  readonly resourceVersion: string;
}

/** Where an informer's objects come from (client-go's ListerWatcher); a seam for tests. */
export interface ListerWatcher<T> {
  /** A complete, consistent list and the resourceVersion to watch from. */
  list(signal: AbortSignal): Promise<ListResult<T>>;
  /**
   * Streams the events after `resourceVersion` into `onEvent`. Resolves when the stream ends cleanly
   * (server timeout, client inactivity timeout, abort); rejects on a transport or HTTP failure.
   */
  watch(resourceVersion: string, onEvent: (ev: WatchEvent<T>) => void, signal: AbortSignal): Promise<void>;
}

export interface KubeListerWatcherOptions {
  readonly labelSelector?: string;
  readonly fieldSelector?: string;
  /** `limit` of each list page. Default 500. */
  readonly pageSize?: number;
}

interface ListBody<T> {
  readonly apiVersion?: string;
  readonly kind?: string;
  readonly metadata?: { readonly resourceVersion?: string; readonly continue?: string };
  readonly items?: T[];
}

/**
 * Lists and watches `path` (a collection, e.g. `/api/v1/namespaces/ns/configmaps` or
 * `/apis/llmobs.dev/v1alpha1/llmobservabilities`) on `kc`'s apiserver. Objects are the apiserver's JSON
 * as is (date fields are strings); list items get the `apiVersion`/`kind` the apiserver omits there.
 */
export function kubeListerWatcher<T extends KubernetesObject>(
  kc: KubeConfig,
  path: string,
  opts: KubeListerWatcherOptions = {},
): ListerWatcher<T> {
  const watcher = new Watch(kc);
  const selectors = { labelSelector: opts.labelSelector, fieldSelector: opts.fieldSelector };
  return {
    async list(signal) {
      const items: T[] = [];
      let cont: string | undefined;
      let resourceVersion = '';
      do {
        const page: ListBody<T> = await kubeRequest(kc, {
          path,
          query: { ...selectors, limit: opts.pageSize ?? 500, continue: cont },
          signal,
        });
        const kind = page.kind?.replace(/List$/, '');
        for (const item of page.items ?? []) {
          items.push({ apiVersion: page.apiVersion, kind, ...item });
        }
        resourceVersion = page.metadata?.resourceVersion ?? resourceVersion;
        cont = page.metadata?.continue || undefined;
      } while (cont !== undefined);
      return { items, resourceVersion };
    },

    watch(resourceVersion, onEvent, signal) {
      return new Promise<void>((resolve, reject) => {
        let request: AbortController | undefined;
        let finished = false;
        const finish = (err?: unknown) => {
          if (finished) return;
          finished = true;
          signal.removeEventListener('abort', onAbort);
          request?.abort();
          if (err === undefined) resolve();
          else reject(err);
        };
        const onAbort = () => finish();
        if (signal.aborted) {
          resolve();
          return;
        }
        signal.addEventListener('abort', onAbort, { once: true });
        const query = {
          ...selectors,
          resourceVersion,
          allowWatchBookmarks: true,
          // Spread reconnects like client-go: the server ends each watch after 5–10 minutes.
          timeoutSeconds: 300 + Math.floor(Math.random() * 300),
        };
        watcher
          .watch(
            path,
            query,
            (type: string, object: unknown) => {
              if (!finished) onEvent({ type, object } as WatchEvent<T>);
            },
            (err: unknown) => {
              // null: the server closed the stream; TimeoutError: client-node's inactivity timeout (30 s).
              if (err === null || err === undefined || (err as Error).name === 'TimeoutError') finish();
              else finish(err);
            },
          )
          .then(
            (controller) => {
              request = controller;
              if (finished) controller.abort();
            },
            (err: unknown) => finish(err),
          );
      });
    },
  };
}

/** Callbacks of an informer. Handlers run synchronously in event order and must not block. */
export interface InformerEventHandler<T> {
  onAdd?(obj: T): void;
  /** Also called after a relist for objects whose resourceVersion changed while unwatched. */
  onUpdate?(oldObj: T, newObj: T): void;
  /** After a relist, `obj` is the last state the informer saw (the final state is unknown). */
  onDelete?(obj: T): void;
}

/** A read-only view of an informer, as controllers consume it. */
export interface Source<T> extends ObjectCache<T> {
  /** Registers `handler`; it first gets `onAdd` for every object already cached. Returns an unsubscribe. */
  addEventHandler(handler: InformerEventHandler<T>): () => void;
  hasSynced(): boolean;
  /** Resolves true once synced, or false if `signal` aborts first. */
  waitForSync(signal?: AbortSignal): Promise<boolean>;
}

export interface InformerOptions<T> {
  readonly listerWatcher: ListerWatcher<T>;
  /** For logs. */
  readonly name?: string;
  /** First delay after a failure; doubles per consecutive failure. Default 1 s. */
  readonly initialBackoffMs?: number;
  /** Cap on the failure delay. Default 30 s. */
  readonly maxBackoffMs?: number;
  /** A watch that ends sooner than this without any event counts as a failure (no hot loop). Default 1 s. */
  readonly minWatchDurationMs?: number;
  readonly clock?: Clock;
  readonly logger?: Logger;
  /** Told about every failure before the informer backs off and retries. */
  readonly onError?: (err: unknown) => void;
  /**
   * Applied to every listed or watched object before it is cached and handed to handlers
   * (controller-runtime's TransformFunc): return a smaller copy to save memory (keeping metadata.name,
   * namespace and resourceVersion), or undefined to keep the object out of the cache. An object that
   * was cached and is now transformed away counts as deleted.
   */
  readonly transform?: (obj: T) => T | undefined;
}

interface Meta {
  readonly metadata?: {
    readonly name?: string;
    readonly namespace?: string;
    readonly resourceVersion?: string;
  };
}

const silent = pino({ level: 'silent' });

/**
 * A shared informer: lists then watches, keeps a cache by namespace/name, tells handlers about
 * add/update/delete, and never gives up — every failure (network, apiserver restart, 5xx) is retried
 * with capped exponential backoff, and an expired resourceVersion (410 Gone) triggers an immediate
 * relist whose differences from the cache are emitted as events, so a level-triggered controller
 * converges on what changed while the informer was not watching.
 */
export class Informer<T extends KubernetesObject> implements Source<T> {
  readonly #lw: ListerWatcher<T>;
  readonly #clock: Clock;
  readonly #log: Logger;
  readonly #initialBackoffMs: number;
  readonly #maxBackoffMs: number;
  readonly #minWatchDurationMs: number;
  readonly #onError: ((err: unknown) => void) | undefined;
  readonly #transform: (obj: T) => T | undefined;
  /** namespace ('' if cluster-scoped) → name → object */
  #objects = new Map<string, Map<string, T>>();
  #handlers: InformerEventHandler<T>[] = [];
  #resourceVersion = '';
  #synced = false;
  #syncWaiters: Array<() => void> = [];
  #abort: AbortController | undefined;
  #loop: Promise<void> | undefined;

  constructor(opts: InformerOptions<T>) {
    this.#lw = opts.listerWatcher;
    this.#clock = opts.clock ?? realClock;
    this.#log = (opts.logger ?? silent).child({ informer: opts.name ?? 'informer' });
    this.#initialBackoffMs = opts.initialBackoffMs ?? 1_000;
    this.#maxBackoffMs = opts.maxBackoffMs ?? 30_000;
    this.#minWatchDurationMs = opts.minWatchDurationMs ?? 1_000;
    this.#onError = opts.onError;
    this.#transform = opts.transform ?? ((obj) => obj);
  }

  /** Starts listing and watching in the background. Idempotent; an informer cannot restart after stop(). */
  start(): void {
    if (this.#abort !== undefined) return;
    this.#abort = new AbortController();
    this.#loop = this.#run(this.#abort.signal);
  }

  /** Stops the watch and waits for the loop to exit. The cache keeps its last contents. Idempotent. */
  async stop(): Promise<void> {
    if (this.#abort === undefined) this.#abort = new AbortController();
    this.#abort.abort();
    await this.#loop;
    for (const resolve of this.#syncWaiters.splice(0)) resolve();
  }

  hasSynced(): boolean {
    return this.#synced;
  }

  waitForSync(signal?: AbortSignal): Promise<boolean> {
    if (this.#synced) return Promise.resolve(true);
    if (signal?.aborted) return Promise.resolve(false);
    return new Promise((resolve) => {
      const onAbort = () => resolve(this.#synced);
      signal?.addEventListener('abort', onAbort, { once: true });
      this.#syncWaiters.push(() => {
        signal?.removeEventListener('abort', onAbort);
        resolve(this.#synced);
      });
    });
  }

  /** The resourceVersion the informer last saw (of a list, event or bookmark); '' before the first list. */
  lastSyncResourceVersion(): string {
    return this.#resourceVersion;
  }

  addEventHandler(handler: InformerEventHandler<T>): () => void {
    this.#handlers.push(handler);
    for (const obj of this.list()) this.#call(() => handler.onAdd?.(obj));
    return () => {
      this.#handlers = this.#handlers.filter((h) => h !== handler);
    };
  }

  get(name: string, namespace?: string): T | undefined {
    return this.#objects.get(namespace ?? '')?.get(name);
  }

  list(namespace?: string): ReadonlyArray<T> {
    if (namespace !== undefined) return [...(this.#objects.get(namespace)?.values() ?? [])];
    const all: T[] = [];
    for (const byName of this.#objects.values()) all.push(...byName.values());
    return all;
  }

  async #run(signal: AbortSignal): Promise<void> {
    let failures = 0;
    while (!signal.aborted) {
      try {
        if (this.#resourceVersion === '') {
          const list = await this.#lw.list(signal);
          if (signal.aborted) return;
          this.#replace(list.items);
          this.#resourceVersion = list.resourceVersion;
          failures = 0;
          this.#markSynced();
          this.#log.debug({ items: list.items.length, resourceVersion: list.resourceVersion }, 'listed');
        }
        const started = this.#clock.now();
        let events = 0;
        let expired = false;
        let streamError: ApiStatus | undefined;
        await this.#lw.watch(
          this.#resourceVersion,
          (ev) => {
            events++;
            failures = 0;
            if (ev.type === 'ERROR') {
              if (ev.object.code === 410) expired = true;
              else streamError = ev.object;
              return;
            }
            this.#apply(ev);
          },
          signal,
        );
        if (signal.aborted) return;
        if (expired) {
          this.#log.info({ resourceVersion: this.#resourceVersion }, 'watch expired (410), relisting');
          this.#resourceVersion = '';
          continue;
        }
        if (streamError !== undefined) throw Object.assign(new Error(streamError.message), streamError);
        if (events === 0 && this.#clock.now() - started < this.#minWatchDurationMs) {
          throw new Error('watch closed immediately without events');
        }
      } catch (err) {
        if (signal.aborted) return;
        if (isGone(err)) this.#resourceVersion = '';
        failures++;
        const delay = Math.min(this.#initialBackoffMs * 2 ** (failures - 1), this.#maxBackoffMs);
        this.#log.warn({ err: describeError(err), failures, retryInMs: delay }, 'list/watch failed');
        try {
          this.#onError?.(err);
        } catch {
          // an error callback must not stop the informer
        }
        await sleep(this.#clock, delay, signal);
      }
    }
  }

  #apply(ev: WatchEvent<T>): void {
    if (ev.type === 'ERROR') return;
    const obj = ev.object as T & Meta;
    const rv = obj.metadata?.resourceVersion;
    if (ev.type === 'BOOKMARK') {
      if (rv) this.#resourceVersion = rv;
      return;
    }
    const name = obj.metadata?.name;
    if (name === undefined) return;
    const namespace = obj.metadata?.namespace ?? '';
    const kept = ev.type === 'DELETED' ? undefined : this.#transform(obj);
    if (kept === undefined) {
      const old = this.#remove(namespace, name);
      if (old !== undefined) this.#emitDelete(ev.type === 'DELETED' ? (this.#transform(obj) ?? old) : old);
    } else {
      const old = this.#put(namespace, name, kept);
      if (old === undefined) this.#emitAdd(kept);
      else if (resourceVersionOf(old) !== rv || rv === undefined) this.#emitUpdate(old, kept);
    }
    if (rv) this.#resourceVersion = rv;
  }

  /** Replaces the cache with a fresh list, emitting what differs from what handlers last saw. */
  #replace(items: readonly T[]): void {
    const fresh = new Map<string, Map<string, T>>();
    for (const raw of items) {
      const item = this.#transform(raw);
      if (item === undefined) continue;
      const meta = (item as Meta).metadata;
      if (meta?.name === undefined) continue;
      const ns = meta.namespace ?? '';
      let byName = fresh.get(ns);
      if (byName === undefined) {
        byName = new Map();
        fresh.set(ns, byName);
      }
      byName.set(meta.name, item);
    }
    const old = this.#objects;
    this.#objects = fresh;
    for (const [ns, byName] of old) {
      for (const [name, obj] of byName) {
        if (!fresh.get(ns)?.has(name)) this.#emitDelete(obj);
      }
    }
    for (const [ns, byName] of fresh) {
      for (const [name, obj] of byName) {
        const before = old.get(ns)?.get(name);
        if (before === undefined) this.#emitAdd(obj);
        else if (resourceVersionOf(before) !== resourceVersionOf(obj)) this.#emitUpdate(before, obj);
      }
    }
  }

  #put(namespace: string, name: string, obj: T): T | undefined {
    let byName = this.#objects.get(namespace);
    if (byName === undefined) {
      byName = new Map();
      this.#objects.set(namespace, byName);
    }
    const old = byName.get(name);
    byName.set(name, obj);
    return old;
  }

  #remove(namespace: string, name: string): T | undefined {
    const byName = this.#objects.get(namespace);
    const old = byName?.get(name);
    if (byName !== undefined && old !== undefined) {
      byName.delete(name);
      if (byName.size === 0) this.#objects.delete(namespace);
    }
    return old;
  }

  #markSynced(): void {
    if (this.#synced) return;
    this.#synced = true;
    for (const resolve of this.#syncWaiters.splice(0)) resolve();
  }

  #emitAdd(obj: T): void {
    for (const h of this.#handlers) this.#call(() => h.onAdd?.(obj));
  }

  #emitUpdate(oldObj: T, newObj: T): void {
    for (const h of this.#handlers) this.#call(() => h.onUpdate?.(oldObj, newObj));
  }

  #emitDelete(obj: T): void {
    for (const h of this.#handlers) this.#call(() => h.onDelete?.(obj));
  }

  #call(fn: () => void): void {
    try {
      fn();
    } catch (err) {
      this.#log.error({ err: describeError(err) }, 'event handler threw');
    }
  }
}

function resourceVersionOf(obj: unknown): string | undefined {
  return (obj as Meta).metadata?.resourceVersion;
}

/** An informer over `path` on `kc`'s apiserver (see {@link kubeListerWatcher}). */
export function informerFor<T extends KubernetesObject>(
  kc: KubeConfig,
  path: string,
  opts: KubeListerWatcherOptions & Omit<InformerOptions<T>, 'listerWatcher'> = {},
): Informer<T> {
  return new Informer<T>({ ...opts, listerWatcher: kubeListerWatcher<T>(kc, path, opts) });
}
