import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { isDeepStrictEqual } from 'node:util';
import { CoreV1Api, type V1ConfigMap } from '@kubernetes/client-node';
import { Registry } from 'prom-client';
import { type ControlPlane, startControlPlane } from '../../../test/harness/control-plane.ts';
import { Controller, enqueueOwner, mapSource } from './controller.ts';
import { ignoreNotFound } from './errors.ts';
import { type Informer, informerFor } from './informer.ts';
import { keyOf, type Reconciler, type Request, type Result } from './reconciler.ts';

const NS = 'controller-it';

/**
 * A toy reconciler with no business logic: every ConfigMap labelled role=source gets a ConfigMap
 * `<name>-mirror` (role=mirror, controlled by the source) holding the same data. It reads from the
 * informer caches, so it sees stale state at times and relies on retries (409s) to converge.
 */
class MirrorReconciler implements Reconciler {
  readonly attempts = new Map<string, number[]>();
  /** Per key: throw on the first n attempts. */
  readonly failFirst = new Map<string, number>();
  /** Per key: the first attempt waits for this promise. */
  readonly gates = new Map<string, Promise<void>>();
  /** Keys only observed: their reconcile records the source's data and writes nothing. */
  readonly observeOnly = new Set<string>();
  readonly seen = new Map<string, Array<Record<string, string> | undefined>>();
  readonly #core: CoreV1Api;
  readonly #sources: Informer<V1ConfigMap>;
  readonly #mirrors: Informer<V1ConfigMap>;

  constructor(core: CoreV1Api, sources: Informer<V1ConfigMap>, mirrors: Informer<V1ConfigMap>) {
    this.#core = core;
    this.#sources = sources;
    this.#mirrors = mirrors;
  }

  count(name: string): number {
    return this.attempts.get(keyOf({ namespace: NS, name }))?.length ?? 0;
  }

  async reconcile(req: Request): Promise<Result> {
    const key = keyOf(req);
    const times = this.attempts.get(key) ?? [];
    times.push(performance.now());
    this.attempts.set(key, times);
    if (times.length === 1) await this.gates.get(req.name);
    if (times.length <= (this.failFirst.get(req.name) ?? 0))
      throw new Error(`injected failure ${times.length}`);

    const mirrorName = `${req.name}-mirror`;
    const source = this.#sources.get(req.name, req.namespace);
    if (this.observeOnly.has(req.name)) {
      this.seen.set(req.name, [...(this.seen.get(req.name) ?? []), source?.data]);
      return {};
    }
    const mirror = this.#mirrors.get(mirrorName, req.namespace);
    if (source === undefined) {
      if (mirror !== undefined) {
        await ignoreNotFound(
          this.#core.deleteNamespacedConfigMap({ name: mirrorName, namespace: req.namespace }),
        );
      }
      return {};
    }
    const desired: V1ConfigMap = {
      metadata: {
        name: mirrorName,
        namespace: req.namespace,
        labels: { role: 'mirror' },
        ownerReferences: [
          {
            apiVersion: 'v1',
            kind: 'ConfigMap',
            name: req.name,
            uid: source.metadata?.uid ?? '',
            controller: true,
          },
        ],
      },
      data: source.data ?? {},
    };
    if (mirror === undefined) {
      await this.#core.createNamespacedConfigMap({ namespace: req.namespace, body: desired });
    } else if (!isDeepStrictEqual(mirror.data ?? {}, desired.data)) {
      const body = {
        ...desired,
        metadata: { ...desired.metadata, resourceVersion: mirror.metadata?.resourceVersion },
      };
      await this.#core.replaceNamespacedConfigMap({ name: mirrorName, namespace: req.namespace, body });
    }
    return {};
  }
}

async function eventually<T>(what: string, probe: () => Promise<T | undefined>, ms = 15_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await probe().catch(() => undefined);
    if (v !== undefined) return v;
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await sleep(25);
  }
}

describe('Controller on a real kube-apiserver', () => {
  let cp: ControlPlane;
  let core: CoreV1Api;
  let reconciler: MirrorReconciler;
  let sources: Informer<V1ConfigMap>;
  let mirrors: Informer<V1ConfigMap>;
  const registry = new Registry();
  const stop = new AbortController();
  let running: Promise<void>;

  /** The data of every mirror in the namespace, by source name. */
  async function mirrorData(): Promise<Record<string, Record<string, string>>> {
    const list = await core.listNamespacedConfigMap({ namespace: NS, labelSelector: 'role=mirror' });
    return Object.fromEntries(
      list.items.map((m) => [m.metadata?.name?.replace(/-mirror$/, '') ?? '', m.data ?? {}]),
    );
  }

  /** The data of every source in the namespace, by name. */
  async function sourceData(): Promise<Record<string, Record<string, string>>> {
    const list = await core.listNamespacedConfigMap({ namespace: NS, labelSelector: 'role=source' });
    return Object.fromEntries(list.items.map((m) => [m.metadata?.name ?? '', m.data ?? {}]));
  }

  /** Waits until every source has an identical mirror and no mirror lacks a source. */
  async function convergedState(): Promise<Record<string, Record<string, string>>> {
    return eventually('mirrors to match sources', async () => {
      const [want, have] = await Promise.all([sourceData(), mirrorData()]);
      return isDeepStrictEqual(want, have) ? have : undefined;
    });
  }

  async function createSource(name: string, data: Record<string, string>): Promise<V1ConfigMap> {
    return core.createNamespacedConfigMap({
      namespace: NS,
      body: { metadata: { name, labels: { role: 'source' } }, data },
    });
  }

  async function metric(name: string, labels: Record<string, string>): Promise<number> {
    const m = await registry.getSingleMetric(name)?.get();
    return (
      m?.values.find((v) => Object.entries(labels).every(([k, l]) => v.labels[k] === l))?.value ?? Number.NaN
    );
  }

  before(async () => {
    cp = await startControlPlane();
    const kc = cp.kubeConfig();
    core = kc.makeApiClient(CoreV1Api);
    await core.createNamespace({ body: { metadata: { name: NS } } });
    const path = `/api/v1/namespaces/${NS}/configmaps`;
    sources = informerFor<V1ConfigMap>(kc, path, { labelSelector: 'role=source', name: 'sources' });
    mirrors = informerFor<V1ConfigMap>(kc, path, { labelSelector: 'role=mirror', name: 'mirrors' });
    reconciler = new MirrorReconciler(core, sources, mirrors);
    const controller = new Controller({
      name: 'mirror',
      for: sources,
      watches: [mapSource(mirrors, enqueueOwner({ apiVersion: 'v1', kind: 'ConfigMap' }))],
      reconciler,
      maxConcurrentReconciles: 2,
      baseDelayMs: 40,
      maxDelayMs: 2_000,
      registry,
    });
    sources.start();
    mirrors.start();
    running = controller.run(stop.signal);
  });

  after(async () => {
    stop.abort();
    await running;
    await Promise.all([sources?.stop(), mirrors?.stop()]);
    await cp?.stop();
  });

  it('should reconcile every object to the desired state and repair drift', async () => {
    for (let i = 0; i < 5; i++) await createSource(`s${i}`, { index: `${i}`, greeting: 'hello' });
    const state = await convergedState();
    assert.equal(Object.keys(state).length, 5);
    assert.deepEqual(state.s3, { index: '3', greeting: 'hello' });

    // Drift on an owned object is mapped back to its owner and undone.
    await core.replaceNamespacedConfigMap({
      name: 's1-mirror',
      namespace: NS,
      body: {
        ...(await core.readNamespacedConfigMap({ name: 's1-mirror', namespace: NS })),
        data: { tampered: 'yes' },
      },
    });
    await core.deleteNamespacedConfigMap({ name: 's2-mirror', namespace: NS });
    await eventually(
      's1-mirror restored',
      async () => isDeepStrictEqual((await mirrorData()).s1, { index: '1', greeting: 'hello' }) || undefined,
    );
    await eventually('s2-mirror recreated', async () => (await mirrorData()).s2);

    // A changed source is mirrored; a deleted one loses its mirror.
    await core.patchNamespacedConfigMap({
      name: 's0',
      namespace: NS,
      body: [{ op: 'replace', path: '/data/greeting', value: 'bye' }],
    });
    await core.deleteNamespacedConfigMap({ name: 's4', namespace: NS });
    const final = await convergedState();
    assert.deepEqual(Object.keys(final).sort(), ['s0', 's1', 's2', 's3']);
    assert.equal(final.s0?.greeting, 'bye');
    assert.ok(
      (await metric('llmobs_operator_reconcile_total', { controller: 'mirror', result: 'success' })) >= 5,
    );
  });

  it('should retry a failing reconcile with growing backoff until it succeeds', async () => {
    const errorsBefore = await metric('llmobs_operator_reconcile_errors_total', { controller: 'mirror' });
    reconciler.failFirst.set('flaky', 3);
    await createSource('flaky', { ok: 'eventually' });
    await eventually('flaky-mirror', async () => (await mirrorData()).flaky);
    assert.ok(reconciler.count('flaky') >= 4, `attempts: ${reconciler.count('flaky')}`);
    const errorsAfter = await metric('llmobs_operator_reconcile_errors_total', { controller: 'mirror' });
    assert.ok(errorsAfter - errorsBefore >= 3, `errors counted: ${errorsAfter - errorsBefore}`);
    // Retries waited at least the backoff (40, 80, 160 ms): lower bounds only, so load cannot flake them.
    const t = reconciler.attempts.get(keyOf({ namespace: NS, name: 'flaky' })) ?? [];
    const gaps = t.slice(1, 4).map((x, i) => x - (t[i] as number));
    gaps.forEach((gap, i) => {
      assert.ok(gap >= 40 * 2 ** i - 5, `retry ${i + 1} came after ${gap.toFixed(1)} ms`);
    });
  });

  it('should coalesce a burst of updates to one object into one more reconcile', async () => {
    // This key's reconcile writes nothing, so only the source's own events can queue it.
    reconciler.observeOnly.add('burst');
    let release!: () => void;
    reconciler.gates.set(
      'burst',
      new Promise<void>((r) => {
        release = r;
      }),
    );
    const created = await createSource('burst', { v: 'initial' });
    await eventually('the first reconcile of burst to start', async () =>
      reconciler.count('burst') === 1 ? true : undefined,
    );
    let rv = created.metadata?.resourceVersion;
    for (let i = 0; i < 20; i++) {
      const cm = await core.replaceNamespacedConfigMap({
        name: 'burst',
        namespace: NS,
        body: { ...created, metadata: { ...created.metadata, resourceVersion: rv }, data: { v: `${i}` } },
      });
      rv = cm.metadata?.resourceVersion;
    }
    await eventually('the informer to see the last update', async () =>
      sources.get('burst', NS)?.metadata?.resourceVersion === rv ? true : undefined,
    );
    assert.equal(reconciler.count('burst'), 1, 'all 20 updates arrived while the key was in flight');
    release();
    await eventually('the coalesced reconcile', async () =>
      reconciler.count('burst') >= 2 ? true : undefined,
    );
    await sleep(300); // room for any extra reconcile to show up
    assert.equal(reconciler.count('burst'), 2, '20 updates while in flight cost exactly one more reconcile');
    assert.deepEqual(reconciler.seen.get('burst')?.at(-1), { v: '19' }, 'which saw the latest state');
  });
});
