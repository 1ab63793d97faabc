import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { KubernetesObject, V1OwnerReference } from '@kubernetes/client-node';
import { Registry } from 'prom-client';
import { FakeClock, settle } from './clock.ts';
import { Controller, enqueueOwner, generationChanged, mapSource } from './controller.ts';
import type { InformerEventHandler, Source } from './informer.ts';
import { keyOf, type Reconciler, type Request, type Result, TerminalError } from './reconciler.ts';

/** An in-memory Source whose events the test triggers. */
class FakeSource<T extends KubernetesObject> implements Source<T> {
  readonly #objects = new Map<string, T>();
  #handlers: InformerEventHandler<T>[] = [];
  #synced = true;
  #syncWaiters: Array<() => void> = [];

  static unsynced<T extends KubernetesObject>(): FakeSource<T> {
    const s = new FakeSource<T>();
    s.#synced = false;
    return s;
  }

  markSynced(): void {
    this.#synced = true;
    for (const r of this.#syncWaiters.splice(0)) r();
  }

  upsert(obj: T): void {
    const key = `${obj.metadata?.namespace ?? ''}/${obj.metadata?.name}`;
    const old = this.#objects.get(key);
    this.#objects.set(key, obj);
    for (const h of this.#handlers) {
      if (old === undefined) h.onAdd?.(obj);
      else h.onUpdate?.(old, obj);
    }
  }

  remove(obj: T): void {
    this.#objects.delete(`${obj.metadata?.namespace ?? ''}/${obj.metadata?.name}`);
    for (const h of this.#handlers) h.onDelete?.(obj);
  }

  addEventHandler(handler: InformerEventHandler<T>): () => void {
    this.#handlers.push(handler);
    for (const o of this.#objects.values()) handler.onAdd?.(o);
    return () => {
      this.#handlers = this.#handlers.filter((h) => h !== handler);
    };
  }

  handlerCount(): number {
    return this.#handlers.length;
  }

  hasSynced(): boolean {
    return this.#synced;
  }

  waitForSync(signal?: AbortSignal): Promise<boolean> {
    if (this.#synced) return Promise.resolve(true);
    return new Promise((resolve) => {
      signal?.addEventListener('abort', () => resolve(false), { once: true });
      this.#syncWaiters.push(() => resolve(true));
    });
  }

  get(name: string, namespace?: string): T | undefined {
    return this.#objects.get(`${namespace ?? ''}/${name}`);
  }

  list(): ReadonlyArray<T> {
    return [...this.#objects.values()];
  }
}

function obj(name: string, extra: Partial<NonNullable<KubernetesObject['metadata']>> = {}): KubernetesObject {
  return { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace: 'ns', ...extra } };
}

/** A reconciler whose behaviour per call is scripted and whose calls are recorded. */
class ScriptedReconciler implements Reconciler {
  readonly calls: string[] = [];
  active = 0;
  maxActive = 0;
  readonly activeKeys = new Set<string>();
  overlap = false;
  behaviour: (req: Request, n: number, signal: AbortSignal) => Promise<Result> = async () => ({});

  async reconcile(req: Request, signal: AbortSignal): Promise<Result> {
    const key = keyOf(req);
    if (this.activeKeys.has(key)) this.overlap = true;
    this.activeKeys.add(key);
    this.calls.push(key);
    this.active++;
    this.maxActive = Math.max(this.maxActive, this.active);
    try {
      return await this.behaviour(req, this.calls.filter((c) => c === key).length, signal);
    } finally {
      this.active--;
      this.activeKeys.delete(key);
    }
  }

  count(key: string): number {
    return this.calls.filter((c) => c === key).length;
  }
}

async function metric(registry: Registry, name: string, labels: Record<string, string>): Promise<number> {
  const m = await registry.getSingleMetric(name)?.get();
  const v = m?.values.find((x) => Object.entries(labels).every(([k, l]) => x.labels[k] === l));
  return v?.value ?? Number.NaN;
}

function setup(opts: { concurrency?: number; resyncPeriodMs?: number; unsynced?: boolean } = {}) {
  const clock = new FakeClock();
  const source = opts.unsynced ? FakeSource.unsynced<KubernetesObject>() : new FakeSource<KubernetesObject>();
  const reconciler = new ScriptedReconciler();
  const registry = new Registry();
  const controller = new Controller({
    name: 'test',
    for: source,
    reconciler,
    registry,
    clock,
    maxConcurrentReconciles: opts.concurrency,
    resyncPeriodMs: opts.resyncPeriodMs,
  });
  const stop = new AbortController();
  const running = controller.run(stop.signal);
  const shutdown = async () => {
    stop.abort();
    await running;
  };
  return { clock, source, reconciler, registry, controller, stop, running, shutdown };
}

describe('Controller', () => {
  it('should reconcile every object under its namespace/name and count successes', async (t) => {
    const { source, reconciler, registry, shutdown } = setup();
    t.after(shutdown);
    source.upsert(obj('a'));
    source.upsert(obj('b'));
    await settle();
    assert.deepEqual(reconciler.calls, ['ns/a', 'ns/b']);
    assert.equal(
      await metric(registry, 'llmobs_operator_reconcile_total', { controller: 'test', result: 'success' }),
      2,
    );
    assert.equal(await metric(registry, 'llmobs_operator_reconcile_errors_total', { controller: 'test' }), 0);
  });

  it('should queue objects cached before run and wait for the sources to sync', async (t) => {
    const { source, reconciler, shutdown } = setup({ unsynced: true });
    t.after(shutdown);
    source.upsert(obj('early'));
    await settle();
    assert.deepEqual(reconciler.calls, [], 'no reconcile before sync');
    (source as FakeSource<KubernetesObject>).markSynced();
    await settle();
    assert.deepEqual(reconciler.calls, ['ns/early']);
  });

  it('should retry a failing reconcile with growing backoff until it succeeds, then forget', async (t) => {
    const { source, reconciler, registry, clock, shutdown } = setup();
    t.after(shutdown);
    reconciler.behaviour = async (_req, n) => {
      if (n <= 3) throw new Error(`attempt ${n} failed`);
      return {};
    };
    source.upsert(obj('flaky'));
    await settle();
    const delays: Array<number | undefined> = [];
    while (reconciler.count('ns/flaky') < 4) {
      delays.push(clock.nextDelay());
      await clock.advance(clock.nextDelay() ?? 0);
    }
    assert.deepEqual(delays, [5, 10, 20]);
    assert.equal(clock.pending(), 0, 'no retry after the success');
    assert.equal(await metric(registry, 'llmobs_operator_reconcile_errors_total', { controller: 'test' }), 3);
    assert.equal(
      await metric(registry, 'llmobs_operator_reconcile_total', { controller: 'test', result: 'error' }),
      3,
    );
    assert.equal(
      await metric(registry, 'llmobs_operator_reconcile_total', { controller: 'test', result: 'success' }),
      1,
    );

    reconciler.behaviour = async () => {
      throw new Error('fails again');
    };
    source.upsert(obj('flaky', { labels: { bump: '1' } }));
    await settle();
    assert.equal(clock.nextDelay(), 5, 'the backoff started over after the success');
  });

  it('should log and count a TerminalError without retrying', async (t) => {
    const { source, reconciler, registry, clock, shutdown } = setup();
    t.after(shutdown);
    reconciler.behaviour = async () => {
      throw new Error('wrapped', { cause: new TerminalError('invalid spec') });
    };
    source.upsert(obj('bad'));
    await settle();
    await clock.advance(120_000);
    assert.equal(reconciler.count('ns/bad'), 1);
    assert.equal(
      await metric(registry, 'llmobs_operator_reconcile_total', {
        controller: 'test',
        result: 'terminal_error',
      }),
      1,
    );
    assert.equal(await metric(registry, 'llmobs_operator_reconcile_errors_total', { controller: 'test' }), 1);
  });

  it('should reconcile again after requeueAfterMs', async (t) => {
    const { source, reconciler, registry, clock, shutdown } = setup();
    t.after(shutdown);
    reconciler.behaviour = async (_req, n) => (n === 1 ? { requeueAfterMs: 30_000 } : {});
    source.upsert(obj('poll'));
    await settle();
    await clock.advance(29_999);
    assert.equal(reconciler.count('ns/poll'), 1);
    await clock.advance(1);
    assert.equal(reconciler.count('ns/poll'), 2);
    assert.equal(
      await metric(registry, 'llmobs_operator_reconcile_total', {
        controller: 'test',
        result: 'requeue_after',
      }),
      1,
    );
  });

  it('should coalesce events that arrive while a key is being reconciled into one more reconcile', async (t) => {
    const { source, reconciler, shutdown } = setup();
    t.after(shutdown);
    let release!: () => void;
    const gate = new Promise<void>((r) => {
      release = r;
    });
    reconciler.behaviour = async (_req, n) => {
      if (n === 1) await gate;
      return {};
    };
    source.upsert(obj('busy'));
    await settle();
    for (let i = 0; i < 20; i++) source.upsert(obj('busy', { labels: { v: String(i) } }));
    await settle();
    assert.equal(reconciler.count('ns/busy'), 1);
    release();
    await settle();
    assert.equal(reconciler.count('ns/busy'), 2);
  });

  it('should never reconcile one key on two workers at once', async (t) => {
    const { source, reconciler, shutdown } = setup({ concurrency: 4 });
    t.after(shutdown);
    const gates: Array<() => void> = [];
    reconciler.behaviour = () =>
      new Promise((resolve) => {
        gates.push(() => resolve({}));
      });
    for (const name of ['a', 'b', 'c']) source.upsert(obj(name));
    await settle();
    source.upsert(obj('a', { labels: { x: '1' } }));
    await settle();
    assert.equal(reconciler.maxActive, 3, 'different keys run in parallel');
    while (gates.length > 0) {
      gates.shift()?.();
      await settle();
    }
    assert.equal(reconciler.count('ns/a'), 2);
    assert.equal(reconciler.overlap, false);
  });

  it('should map owned objects to their controlling owner', async (t) => {
    const clock = new FakeClock();
    const owners = new FakeSource<KubernetesObject>();
    const owned = new FakeSource<KubernetesObject>();
    const reconciler = new ScriptedReconciler();
    const controller = new Controller({
      name: 'owners',
      for: owners,
      watches: [
        mapSource(owned, enqueueOwner({ apiVersion: 'llmobs.dev/v1alpha1', kind: 'LLMObservability' })),
      ],
      reconciler,
      clock,
    });
    const stop = new AbortController();
    const running = controller.run(stop.signal);
    t.after(async () => {
      stop.abort();
      await running;
    });
    const ref = (name: string, over: Partial<V1OwnerReference> = {}): V1OwnerReference => ({
      apiVersion: 'llmobs.dev/v1beta9',
      kind: 'LLMObservability',
      name,
      uid: `uid-${name}`,
      controller: true,
      ...over,
    });
    owned.upsert(obj('gateway', { ownerReferences: [ref('obs')] }));
    owned.upsert(obj('not-controller', { ownerReferences: [ref('other', { controller: false })] }));
    owned.upsert(
      obj('other-kind', { ownerReferences: [ref('x', { kind: 'Deployment', apiVersion: 'apps/v1' })] }),
    );
    await settle();
    assert.deepEqual(reconciler.calls, ['ns/obs']);
    owned.remove(obj('gateway', { ownerReferences: [ref('obs')] }));
    await settle();
    assert.deepEqual(reconciler.calls, ['ns/obs', 'ns/obs']);
  });

  it('should batch a burst of delayed watch events into one reconcile per key after the delay', async (t) => {
    const clock = new FakeClock();
    const primary = new FakeSource<KubernetesObject>();
    const pods = new FakeSource<KubernetesObject>();
    const reconciler = new ScriptedReconciler();
    const controller = new Controller({
      name: 'delayed',
      for: primary,
      watches: [
        mapSource(pods, (p) => [{ namespace: 'ns', name: p.metadata?.labels?.owner ?? '' }], {
          delayMs: 1_000,
        }),
      ],
      reconciler,
      clock,
    });
    const stop = new AbortController();
    const running = controller.run(stop.signal);
    t.after(async () => {
      stop.abort();
      await running;
    });
    await settle();
    for (let i = 0; i < 50; i++) pods.upsert(obj(`pod-${i}`, { labels: { owner: i % 2 ? 'a' : 'b' } }));
    await settle();
    await clock.advance(999);
    await settle();
    assert.deepEqual(reconciler.calls, [], 'nothing before the delay');
    await clock.advance(1);
    await settle();
    assert.deepEqual([...reconciler.calls].sort(), ['ns/a', 'ns/b']);
  });

  it('should drop updates that the predicate rejects', async (t) => {
    const clock = new FakeClock();
    const source = new FakeSource<KubernetesObject>();
    const reconciler = new ScriptedReconciler();
    const controller = new Controller({
      name: 'gen',
      for: source,
      predicate: generationChanged,
      reconciler,
      clock,
    });
    const stop = new AbortController();
    const running = controller.run(stop.signal);
    t.after(async () => {
      stop.abort();
      await running;
    });
    source.upsert(obj('cr', { generation: 1 }));
    await settle();
    source.upsert(obj('cr', { generation: 1, resourceVersion: 'status-write' }));
    await settle();
    assert.equal(reconciler.count('ns/cr'), 1, 'status-only update ignored');
    source.upsert(obj('cr', { generation: 2 }));
    await settle();
    assert.equal(reconciler.count('ns/cr'), 2);
  });

  it('should queue every cached object again each resync period', async (t) => {
    const { source, reconciler, clock, shutdown } = setup({ resyncPeriodMs: 60_000 });
    t.after(shutdown);
    source.upsert(obj('a'));
    source.upsert(obj('b'));
    await settle();
    await clock.advance(60_000);
    assert.equal(reconciler.count('ns/a'), 2);
    assert.equal(reconciler.count('ns/b'), 2);
    await clock.advance(60_000);
    assert.equal(reconciler.count('ns/a'), 3);
  });

  it('should report the queue depth', async (t) => {
    const { source, reconciler, registry, shutdown } = setup();
    t.after(shutdown);
    let release!: () => void;
    reconciler.behaviour = (req) =>
      req.name === 'first'
        ? new Promise((r) => {
            release = () => r({});
          })
        : Promise.resolve({});
    for (const n of ['first', 'b', 'c', 'd']) source.upsert(obj(n));
    await settle();
    assert.equal(await metric(registry, 'llmobs_operator_workqueue_depth', { controller: 'test' }), 3);
    release();
    await settle();
    assert.equal(await metric(registry, 'llmobs_operator_workqueue_depth', { controller: 'test' }), 0);
  });

  it('should abort in-flight reconciles on shutdown, wait for them, and not count them as errors', async () => {
    const { source, reconciler, registry, running, stop, clock } = setup();
    let sawAbort = false;
    reconciler.behaviour = (_req, _n, signal) =>
      new Promise((_resolve, reject) => {
        signal.addEventListener('abort', () => {
          sawAbort = true;
          setImmediate(() => reject(signal.reason));
        });
      });
    source.upsert(obj('slow'));
    await settle();
    let finished = false;
    const done = running.then(() => {
      finished = true;
    });
    stop.abort();
    await done;
    assert.equal(sawAbort && finished, true);
    assert.equal(await metric(registry, 'llmobs_operator_reconcile_errors_total', { controller: 'test' }), 0);
    assert.equal(clock.pending(), 0, 'no retry scheduled');
    assert.equal(source.handlerCount(), 0, 'unsubscribed from its sources');
  });

  it('should refuse two controllers of one name on one registry, and a second run', async () => {
    const registry = new Registry();
    const source = new FakeSource<KubernetesObject>();
    const reconciler = new ScriptedReconciler();
    const c = new Controller({ name: 'dup', for: source, reconciler, registry });
    assert.throws(
      () => new Controller({ name: 'dup', for: source, reconciler, registry }),
      /already reports/,
    );
    const stop = new AbortController();
    stop.abort();
    await c.run(stop.signal);
    await assert.rejects(c.run(stop.signal), /already run/);
  });
});
