import type { V1Namespace } from '@kubernetes/client-node';
import type { LLMObservability, LLMObservabilityPolicy } from '../manifests/resources.ts';
import type { Source } from '../runtime/informer.ts';
import type { ConfigSource, InjectionSource } from '../webhook/podmutation/config.ts';
import { desiredState, type ImageSettings, injectionConfig } from './desired.ts';

export interface InjectionSourcesOptions {
  readonly resources: Source<LLMObservability>;
  readonly policies: Source<LLMObservabilityPolicy>;
  readonly namespaces: Source<V1Namespace>;
  readonly images: ImageSettings;
}

/**
 * The webhook's ConfigSource over the operator's informers. Rendering a resource's desired state (its
 * policies, the processor config, the hash) costs far more than admitting a pod, and it only changes
 * when one of its inputs does, so each namespace's answer is kept until an informer reports a change to
 * a resource of that namespace, to the namespace itself (its labels select policies), or to any policy.
 * Before the informers have synced it waits for them (the admission's deadline bounds the wait).
 */
export class InjectionSources implements ConfigSource {
  readonly #o: InjectionSourcesOptions;
  readonly #byNamespace = new Map<string, readonly InjectionSource[]>();
  #computed = 0;

  constructor(o: InjectionSourcesOptions) {
    this.#o = o;
    const forget = (obj: { metadata?: { namespace?: string; name?: string } }, key: 'namespace' | 'name') => {
      const ns = obj.metadata?.[key];
      if (ns !== undefined) this.#byNamespace.delete(ns);
    };
    o.resources.addEventHandler({
      onAdd: (cr) => forget(cr, 'namespace'),
      onUpdate: (_old, cr) => forget(cr, 'namespace'),
      onDelete: (cr) => forget(cr, 'namespace'),
    });
    o.namespaces.addEventHandler({
      onAdd: (ns) => forget(ns, 'name'),
      onUpdate: (_old, ns) => forget(ns, 'name'),
      onDelete: (ns) => forget(ns, 'name'),
    });
    const forgetAll = () => this.#byNamespace.clear();
    o.policies.addEventHandler({ onAdd: forgetAll, onUpdate: forgetAll, onDelete: forgetAll });
  }

  /** How many namespace answers were rendered (not served from the cache), for tests. */
  get computed(): number {
    return this.#computed;
  }

  forNamespace(namespace: string): readonly InjectionSource[] | Promise<readonly InjectionSource[]> {
    const { resources, policies, namespaces } = this.#o;
    if (!resources.hasSynced() || !policies.hasSynced() || !namespaces.hasSynced()) {
      return Promise.all([resources.waitForSync(), policies.waitForSync(), namespaces.waitForSync()]).then(
        (synced) => {
          if (!synced.every(Boolean)) throw new Error('the operator stopped before its caches synced');
          return this.forNamespace(namespace);
        },
      );
    }
    const hit = this.#byNamespace.get(namespace);
    if (hit !== undefined) return hit;
    const labels = namespaces.get(namespace)?.metadata?.labels ?? {};
    const all = policies.list();
    const answer = resources.list(namespace).map((cr) => ({
      resource: cr,
      config: injectionConfig(cr, desiredState(cr, all, labels), this.#o.images),
    }));
    this.#computed++;
    this.#byNamespace.set(namespace, answer);
    return answer;
  }
}
