import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { KubernetesObject } from '@kubernetes/client-node';
import { type ControlPlane, startControlPlane } from '../../../test/harness/control-plane.ts';
import { type KubeObject, kubeApply, kubeRequest } from '../../../test/harness/kube-apply.ts';
import type { LLMObservabilitySpec } from '../api/v1alpha1/types.gen.ts';
import { apiServerPid, etcdDirect, isAlive } from './etcd-direct.it-helper.ts';
import { Informer, kubeListerWatcher, type ListerWatcher, type WatchEvent } from './informer.ts';

interface LLMObs extends KubernetesObject {
  spec?: LLMObservabilitySpec;
}

const NS = 'informer-it';
const COLLECTION = `/apis/llmobs.dev/v1alpha1/namespaces/${NS}/llmobservabilities`;
const crds = join(import.meta.dirname, '..', '..', '..', 'crds');

function resource(name: string, labels: Record<string, string> = {}): KubeObject {
  return {
    apiVersion: 'llmobs.dev/v1alpha1',
    kind: 'LLMObservability',
    // KubeObject types only name/namespace; the apiserver takes any ObjectMeta.
    metadata: { name, namespace: NS, labels } as KubeObject['metadata'],
    spec: { exporters: [{ name: 'tempo', endpoint: 'http://tempo:4318' }] },
  };
}

/** name → resourceVersion, sorted by name. */
function state(objects: readonly LLMObs[]): Record<string, string> {
  return Object.fromEntries(
    objects
      .map((o) => [o.metadata?.name ?? '', o.metadata?.resourceVersion ?? ''] as const)
      .sort(([a], [b]) => (a < b ? -1 : 1)),
  );
}

/** What the apiserver has now. */
async function serverState(cp: ControlPlane): Promise<Record<string, string>> {
  const res = await kubeRequest(cp, 'GET', COLLECTION);
  assert.equal(res.status, 200, res.body);
  return state((JSON.parse(res.body) as { items: LLMObs[] }).items);
}

function cacheState(informer: Informer<LLMObs>): Record<string, string> {
  return state(informer.list(NS));
}

/** Polls until the informer's cache equals the apiserver's state (fails after `ms`). */
async function converged(
  cp: ControlPlane,
  informer: Informer<LLMObs>,
  ms = 15_000,
): Promise<Record<string, string>> {
  const deadline = Date.now() + ms;
  let last: unknown;
  for (;;) {
    try {
      const want = await serverState(cp);
      if (JSON.stringify(cacheState(informer)) === JSON.stringify(want)) return want;
      last = { cache: cacheState(informer), server: want };
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) assert.fail(`informer did not converge: ${JSON.stringify(last)}`);
    await sleep(50);
  }
}

/** Wraps a ListerWatcher to count lists and record ERROR events and watch failures. */
function instrumented(lw: ListerWatcher<LLMObs>) {
  const stats = { lists: 0, errorEvents: [] as unknown[], watchFailures: [] as string[] };
  const wrapped: ListerWatcher<LLMObs> = {
    async list(signal) {
      stats.lists++;
      return lw.list(signal);
    },
    async watch(rv, onEvent, signal) {
      try {
        await lw.watch(
          rv,
          (ev: WatchEvent<LLMObs>) => {
            if (ev.type === 'ERROR') stats.errorEvents.push(ev.object);
            onEvent(ev);
          },
          signal,
        );
      } catch (err) {
        stats.watchFailures.push(String(err));
        throw err;
      }
    },
  };
  return { stats, wrapped };
}

function sortedKeys(o: Record<string, string>): string[] {
  return Object.keys(o).sort();
}

describe('Informer on a real kube-apiserver', () => {
  let cp: ControlPlane;

  before(async () => {
    cp = await startControlPlane();
    await kubeApply(cp, join(crds, 'llmobs.dev_llmobservabilities.yaml'));
    await kubeApply(cp, [{ apiVersion: 'v1', kind: 'Namespace', metadata: { name: NS } }]);
    for (let i = 0; (await kubeRequest(cp, 'GET', COLLECTION)).status !== 200; i++) {
      if (i > 100) assert.fail('CRD never served');
      await sleep(100);
    }
  });
  after(async () => {
    await cp?.stop();
  });

  it('should list existing objects, then follow creates, updates and deletes', async (t) => {
    await kubeApply(cp, [resource('a'), resource('b')]);
    const { stats, wrapped } = instrumented(kubeListerWatcher<LLMObs>(cp.kubeConfig(), COLLECTION));
    const informer = new Informer<LLMObs>({ listerWatcher: wrapped, name: 'llmobs' });
    const events: string[] = [];
    informer.addEventHandler({
      onAdd: (o) => events.push(`add ${o.metadata?.name}`),
      onUpdate: (_old, o) => events.push(`update ${o.metadata?.name}`),
      onDelete: (o) => events.push(`delete ${o.metadata?.name}`),
    });
    t.after(() => informer.stop());
    informer.start();
    assert.equal(await informer.waitForSync(AbortSignal.timeout(10_000)), true);
    assert.deepEqual(sortedKeys(cacheState(informer)), ['a', 'b']);
    const listed = informer.get('a', NS);
    assert.equal(listed?.kind, 'LLMObservability', 'list items get their kind back');
    assert.equal(
      typeof listed?.metadata?.creationTimestamp,
      'string',
      'objects are the raw JSON, as watch gives them',
    );

    await kubeApply(cp, [resource('c'), resource('a', { changed: 'yes' })]);
    const del = await kubeRequest(cp, 'DELETE', `${COLLECTION}/b`);
    assert.equal(del.status, 200, del.body);
    const state = await converged(cp, informer);
    assert.deepEqual(sortedKeys(state), ['a', 'c']);
    assert.deepEqual(informer.get('a', NS)?.metadata?.labels, { changed: 'yes' });
    assert.deepEqual(events.sort(), ['add a', 'add b', 'add c', 'delete b', 'update a']);
    assert.equal(stats.lists, 1, 'no relist needed');
    for (const name of ['a', 'c']) await kubeRequest(cp, 'DELETE', `${COLLECTION}/${name}`);
  });

  it('should converge after an apiserver restart on changes made while the apiserver was down', async (t) => {
    await kubeApply(cp, [resource('keep'), resource('change'), resource('gone')]);
    const { stats, wrapped } = instrumented(kubeListerWatcher<LLMObs>(cp.kubeConfig(), COLLECTION));
    const informer = new Informer<LLMObs>({
      listerWatcher: wrapped,
      name: 'llmobs',
      initialBackoffMs: 100,
      maxBackoffMs: 1_000,
    });
    const events: string[] = [];
    informer.addEventHandler({
      onUpdate: (_old, o) => events.push(`update ${o.metadata?.name}`),
      onDelete: (o) => events.push(`delete ${o.metadata?.name}`),
      onAdd: (o) => events.push(`add ${o.metadata?.name}`),
    });
    t.after(() => informer.stop());
    informer.start();
    assert.equal(await informer.waitForSync(AbortSignal.timeout(10_000)), true);
    await converged(cp, informer);
    events.length = 0;

    // CRs are stored in etcd as JSON, so they can be edited there while no apiserver runs.
    const etcd = etcdDirect(cp);
    const key = (name: string) => `/registry/llmobs.dev/llmobservabilities/${NS}/${name}`;
    const stored = await etcd.get(key('change'));
    assert.ok(stored, 'CR found in etcd under its registry key');

    // Edit only once the old apiserver has exited: while it drains it keeps streaming the open watch,
    // and the informer would simply see the edits as events.
    const oldPid = apiServerPid(cp);
    const restart = cp.restartApiServer();
    while (isAlive(oldPid)) await sleep(5);
    const changed = JSON.parse(stored) as LLMObs;
    changed.metadata = { ...changed.metadata, labels: { changed: 'while-down' } };
    await etcd.put(key('change'), JSON.stringify(changed));
    await etcd.delete(key('gone'));
    const born = JSON.parse(stored) as LLMObs;
    born.metadata = { ...born.metadata, name: 'born', uid: randomUUID(), labels: {} };
    await etcd.put(key('born'), JSON.stringify(born));
    const apiserverStillDown = await kubeRequest(cp, 'GET', '/readyz').then(
      () => false,
      () => true,
    );
    t.diagnostic(`edits landed in etcd before the new apiserver answered: ${apiserverStillDown}`);
    await restart;

    const state = await converged(cp, informer);
    assert.deepEqual(sortedKeys(state), ['born', 'change', 'keep']);
    assert.deepEqual(informer.get('change', NS)?.metadata?.labels, { changed: 'while-down' });
    assert.deepEqual(events.sort(), ['add born', 'delete gone', 'update change']);
    assert.ok(stats.lists >= 2, `relisted after the restart (lists: ${stats.lists})`);
    assert.ok(stats.watchFailures.length >= 1, 'the old watch broke');
    t.diagnostic(`watch failures: ${JSON.stringify(stats.watchFailures)}`);
    t.diagnostic(`ERROR events: ${JSON.stringify(stats.errorEvents)}`);

    // And it keeps watching afterwards.
    await kubeApply(cp, [resource('after')]);
    assert.deepEqual(sortedKeys(await converged(cp, informer)), ['after', 'born', 'change', 'keep']);
  });
});
