import { ApiException, CoreV1Api, type KubeConfig, type V1Namespace } from '@kubernetes/client-node';
import type { NamespaceLookup, NamespaceMeta } from './podmutation/config.ts';

/**
 * Namespace labels and annotations read from the apiserver and kept for a short time, so a burst of pod
 * creations costs one read. The controller may pass an informer-backed NamespaceLookup instead.
 */
export class KubeNamespaceLookup implements NamespaceLookup {
  readonly #core: CoreV1Api;
  readonly #ttlMs: number;
  readonly #cache = new Map<string, { at: number; value: Promise<NamespaceMeta | undefined> }>();

  constructor(kc: KubeConfig, ttlMs = 5_000) {
    this.#core = kc.makeApiClient(CoreV1Api);
    this.#ttlMs = ttlMs;
  }

  get(name: string): Promise<NamespaceMeta | undefined> {
    const now = Date.now();
    const hit = this.#cache.get(name);
    if (hit && now - hit.at < this.#ttlMs) return hit.value;
    const value = this.#read(name);
    this.#cache.set(name, { at: now, value });
    // A failed read is not cached.
    value.catch(() => this.#cache.delete(name));
    return value;
  }

  #read(name: string): Promise<NamespaceMeta | undefined> {
    return readNamespaceMeta(this.#core, name);
  }
}

/** One GET of a namespace's labels and annotations; undefined when it does not exist. */
export async function readNamespaceMeta(core: CoreV1Api, name: string): Promise<NamespaceMeta | undefined> {
  try {
    const ns = await core.readNamespace({ name });
    return {
      ...(ns.metadata?.labels ? { labels: ns.metadata.labels } : {}),
      ...(ns.metadata?.annotations ? { annotations: ns.metadata.annotations } : {}),
    };
  } catch (err) {
    if (err instanceof ApiException && err.code === 404) return undefined;
    throw err;
  }
}

/** What NamespaceLookup needs of an informer (runtime/informer.ts `Source<V1Namespace>`). */
export interface NamespaceCache {
  get(name: string): V1Namespace | undefined;
  hasSynced(): boolean;
}

/**
 * Namespaces from the operator's informer, so an admission costs no apiserver read; until the informer
 * has synced, `fallback` answers (an unsynced cache would report every namespace as unknown).
 */
export class InformerNamespaceLookup implements NamespaceLookup {
  readonly #cache: NamespaceCache;
  readonly #fallback: NamespaceLookup;

  constructor(cache: NamespaceCache, fallback: NamespaceLookup) {
    this.#cache = cache;
    this.#fallback = fallback;
  }

  get(name: string): Promise<NamespaceMeta | undefined> | NamespaceMeta | undefined {
    if (!this.#cache.hasSynced()) return this.#fallback.get(name);
    const ns = this.#cache.get(name);
    if (ns === undefined) return undefined;
    return {
      ...(ns.metadata?.labels ? { labels: ns.metadata.labels } : {}),
      ...(ns.metadata?.annotations ? { annotations: ns.metadata.annotations } : {}),
    };
  }
}
