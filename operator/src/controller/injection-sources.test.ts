import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import type { KubernetesObject, V1Namespace } from '@kubernetes/client-node';
import type { LLMObservability, LLMObservabilityPolicy } from '../manifests/resources.ts';
import { Informer, type ListerWatcher, type WatchEvent } from '../runtime/informer.ts';
import { InjectionSources } from './injection-sources.ts';

/** An informer fed by the test: `items` is its first list, `emit` a watch event; list waits for `open`. */
function fed<T extends KubernetesObject>(items: T[]) {
  let emit: (ev: WatchEvent<T>) => void = () => undefined;
  let open: () => void = () => undefined;
  const opened = new Promise<void>((resolve) => {
    open = resolve;
  });
  const lw: ListerWatcher<T> = {
    list: async () => {
      await opened;
      return { items, resourceVersion: '1' };
    },
    watch: (_rv, onEvent, signal) =>
      new Promise((resolve) => {
        emit = onEvent;
        signal.addEventListener('abort', () => resolve(), { once: true });
      }),
  };
  const informer = new Informer<T>({ listerWatcher: lw });
  informer.start();
  return {
    informer,
    open,
    emit: (type: 'ADDED' | 'MODIFIED' | 'DELETED', object: T) => emit({ type, object }),
  };
}

const images = { processorImage: 'proc:1', languageImages: {} };

function cr(namespace: string, name: string, rv: string, endpoint = 'http://tempo:4318'): LLMObservability {
  return {
    apiVersion: 'llmobs.dev/v1alpha1',
    kind: 'LLMObservability',
    metadata: { namespace, name, resourceVersion: rv } as LLMObservability['metadata'],
    spec: { contentCapture: 'full', exporters: [{ name: 'tempo', endpoint }] },
  };
}

function policy(rv: string, maxLevel: 'none' | 'redacted'): LLMObservabilityPolicy {
  return {
    apiVersion: 'llmobs.dev/v1alpha1',
    kind: 'LLMObservabilityPolicy',
    metadata: { name: 'floor', resourceVersion: rv } as LLMObservabilityPolicy['metadata'],
    spec: { namespaceSelector: { matchLabels: { tier: 'prod' } }, contentCapture: { maxLevel } },
  };
}

function ns(name: string, rv: string, labels: Record<string, string>): V1Namespace {
  return { metadata: { name, resourceVersion: rv, labels } };
}

describe('InjectionSources', () => {
  const resources = fed<LLMObservability & KubernetesObject>([cr('a', 'chat', '1'), cr('b', 'rag', '1')]);
  const policies = fed<LLMObservabilityPolicy & KubernetesObject>([policy('1', 'redacted')]);
  const namespaces = fed<V1Namespace>([ns('a', '1', { tier: 'prod' }), ns('b', '1', {})]);
  const sources = new InjectionSources({
    resources: resources.informer,
    policies: policies.informer,
    namespaces: namespaces.informer,
    images,
  });
  after(async () => {
    for (const i of [resources, policies, namespaces]) await i.informer.stop();
  });
  const capture = async (namespace: string) =>
    (await sources.forNamespace(namespace)).map((s) => s.config.contentCapture);

  it('waits for the informers to sync before answering', async () => {
    let answered = false;
    const pending = Promise.resolve(sources.forNamespace('a')).then((s) => {
      answered = true;
      return s;
    });
    await new Promise((r) => setTimeout(r, 20));
    assert.equal(answered, false);
    for (const i of [resources, policies, namespaces]) i.open();
    assert.equal((await pending).length, 1);
  });

  it('serves repeated admissions of a namespace from one rendering', async () => {
    const first = await sources.forNamespace('a');
    const rendered = sources.computed;
    const again = await sources.forNamespace('a');
    assert.equal(again, first);
    assert.equal(sources.computed, rendered);
    assert.deepEqual(await capture('a'), ['redacted'], 'the policy floor of tier=prod applies');
    assert.deepEqual(await capture('b'), ['full']);
  });

  it('renders again after a resource of the namespace changes, and only that namespace', async () => {
    const b = await sources.forNamespace('b');
    resources.emit('MODIFIED', cr('a', 'chat', '2', 'http://jaeger:4318'));
    assert.equal(await sources.forNamespace('b'), b, 'namespace b is untouched');
    const a = await sources.forNamespace('a');
    assert.equal(a[0]?.resource.metadata.namespace, 'a');
    assert.match(JSON.stringify(a[0]?.resource), /jaeger/);
    resources.emit('ADDED', cr('a', 'second', '3'));
    assert.deepEqual((await sources.forNamespace('a')).map((s) => s.resource.metadata.name).sort(), [
      'chat',
      'second',
    ]);
    resources.emit('DELETED', cr('a', 'second', '4'));
    assert.equal((await sources.forNamespace('a')).length, 1);
  });

  it('renders again after a namespace relabel or a policy change', async () => {
    assert.deepEqual(await capture('b'), ['full']);
    namespaces.emit('MODIFIED', ns('b', '2', { tier: 'prod' }));
    assert.deepEqual(await capture('b'), ['redacted'], 'b now matches the policy');
    policies.emit('MODIFIED', policy('2', 'none'));
    assert.deepEqual(await capture('a'), ['none']);
    assert.deepEqual(await capture('b'), ['none']);
    policies.emit('DELETED', policy('3', 'none'));
    assert.deepEqual(await capture('a'), ['full']);
  });
});
