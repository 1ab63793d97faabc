import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { KubernetesObject } from '@kubernetes/client-node';
import { FakeClock, settle } from './clock.ts';
import {
  Informer,
  type InformerEventHandler,
  type ListerWatcher,
  type ListResult,
  type WatchEvent,
} from './informer.ts';

interface Obj extends KubernetesObject {
  data?: Record<string, string>;
}

function obj(name: string, rv: string, data: Record<string, string> = {}, namespace = 'ns'): Obj {
  return { metadata: { name, namespace, resourceVersion: rv }, data };
}

interface WatchCall {
  readonly resourceVersion: string;
  emit(ev: WatchEvent<Obj>): void;
  end(): void;
  fail(err: unknown): void;
}

/** A scripted ListerWatcher: lists come from `lists` in order; each watch call is handed to the test. */
class FakeListerWatcher implements ListerWatcher<Obj> {
  readonly lists: Array<ListResult<Obj> | Error> = [];
  readonly watches: WatchCall[] = [];
  listCalls = 0;

  async list(): Promise<ListResult<Obj>> {
    this.listCalls++;
    const next = this.lists.shift();
    if (next === undefined) throw new Error('unexpected list');
    if (next instanceof Error) throw next;
    return next;
  }

  watch(resourceVersion: string, onEvent: (ev: WatchEvent<Obj>) => void, signal: AbortSignal): Promise<void> {
    return new Promise((resolve, reject) => {
      signal.addEventListener('abort', () => resolve(), { once: true });
      this.watches.push({ resourceVersion, emit: onEvent, end: resolve, fail: reject });
    });
  }

  /** The current (latest) watch call. */
  get current(): WatchCall {
    const w = this.watches.at(-1);
    if (w === undefined) throw new Error('no watch yet');
    return w;
  }
}

type Event = [string, string, string?];

/** Records events as [type, name@rv, old rv]. */
function recorder(): { events: Event[]; handler: InformerEventHandler<Obj> } {
  const events: Event[] = [];
  const id = (o: Obj) => `${o.metadata?.name}@${o.metadata?.resourceVersion}`;
  return {
    events,
    handler: {
      onAdd: (o) => events.push(['add', id(o)]),
      onUpdate: (old, o) => events.push(['update', id(o), old.metadata?.resourceVersion]),
      onDelete: (o) => events.push(['delete', id(o)]),
    },
  };
}

function setup() {
  const clock = new FakeClock();
  const lw = new FakeListerWatcher();
  const informer = new Informer<Obj>({
    listerWatcher: lw,
    clock,
    initialBackoffMs: 1_000,
    maxBackoffMs: 8_000,
  });
  const rec = recorder();
  informer.addEventHandler(rec.handler);
  return { clock, lw, informer, events: rec.events };
}

describe('Informer', () => {
  it('should list, cache and announce every object, then report synced and watch from the list resourceVersion', async (t) => {
    const { lw, informer, events } = setup();
    t.after(() => informer.stop());
    lw.lists.push({ items: [obj('a', '5'), obj('b', '6', {}, 'other')], resourceVersion: '10' });
    assert.equal(informer.hasSynced(), false);
    informer.start();
    assert.equal(await informer.waitForSync(), true);
    assert.deepEqual(events, [
      ['add', 'a@5'],
      ['add', 'b@6'],
    ]);
    assert.equal(informer.get('a', 'ns')?.metadata?.resourceVersion, '5');
    assert.equal(informer.get('a', 'other'), undefined);
    assert.deepEqual(
      informer.list('other').map((o) => o.metadata?.name),
      ['b'],
    );
    assert.equal(informer.list().length, 2);
    await settle();
    assert.equal(lw.current.resourceVersion, '10');
  });

  it('should cache and announce only what transform keeps, and count an object transformed away as deleted', async (t) => {
    const lw = new FakeListerWatcher();
    // Keeps objects with data.keep, without their other data.
    const informer = new Informer<Obj>({
      listerWatcher: lw,
      clock: new FakeClock(),
      transform: (o) => (o.data?.keep ? { ...o, data: { keep: o.data.keep } } : undefined),
    });
    t.after(() => informer.stop());
    const rec = recorder();
    informer.addEventHandler(rec.handler);
    lw.lists.push({
      items: [obj('a', '5', { keep: 'y', big: 'x'.repeat(100) }), obj('b', '6', { big: 'x' })],
      resourceVersion: '10',
    });
    informer.start();
    await informer.waitForSync();
    await settle();
    assert.deepEqual(informer.get('a', 'ns')?.data, { keep: 'y' });
    assert.equal(informer.get('b', 'ns'), undefined);
    lw.current.emit({ type: 'MODIFIED', object: obj('b', '11', { keep: 'y', big: 'x' }) });
    lw.current.emit({ type: 'MODIFIED', object: obj('a', '12', { big: 'x' }) });
    lw.current.emit({ type: 'ADDED', object: obj('c', '13') });
    lw.current.emit({ type: 'DELETED', object: obj('c', '14') });
    lw.current.emit({ type: 'DELETED', object: obj('b', '15', { keep: 'y', big: 'x' }) });
    assert.deepEqual(rec.events, [
      ['add', 'a@5'],
      ['add', 'b@11'],
      ['delete', 'a@5'],
      ['delete', 'b@15'],
    ]);
    assert.equal(informer.list().length, 0);
    assert.equal(informer.lastSyncResourceVersion(), '15');
  });

  it('should apply watch events to the cache in order and give updates the old object', async (t) => {
    const { lw, informer, events } = setup();
    t.after(() => informer.stop());
    lw.lists.push({ items: [obj('a', '5')], resourceVersion: '10' });
    informer.start();
    await informer.waitForSync();
    await settle();
    events.length = 0;
    lw.current.emit({ type: 'ADDED', object: obj('b', '11') });
    lw.current.emit({ type: 'MODIFIED', object: obj('a', '12', { k: 'v' }) });
    lw.current.emit({ type: 'MODIFIED', object: obj('a', '12', { k: 'v' }) }); // same version: no event
    lw.current.emit({ type: 'DELETED', object: obj('b', '13') });
    lw.current.emit({ type: 'BOOKMARK', object: { metadata: { resourceVersion: '20' } } });
    assert.deepEqual(events, [
      ['add', 'b@11'],
      ['update', 'a@12', '5'],
      ['delete', 'b@13'],
    ]);
    assert.deepEqual(informer.get('a', 'ns')?.data, { k: 'v' });
    assert.equal(informer.get('b', 'ns'), undefined);
    assert.equal(informer.lastSyncResourceVersion(), '20');
    lw.current.end(); // server timeout after events: reconnect at once from the bookmark
    await settle();
    assert.equal(lw.watches.length, 2);
    assert.equal(lw.current.resourceVersion, '20');
    assert.equal(lw.listCalls, 1);
  });

  it('should relist at once on 410 Expired and emit what changed while it was not watching', async (t) => {
    const { lw, informer, events } = setup();
    t.after(() => informer.stop());
    lw.lists.push({ items: [obj('keep', '1'), obj('change', '2'), obj('gone', '3')], resourceVersion: '10' });
    informer.start();
    await informer.waitForSync();
    await settle();
    events.length = 0;
    lw.lists.push({
      items: [obj('keep', '1'), obj('change', '40'), obj('new', '41')],
      resourceVersion: '50',
    });
    lw.current.emit({
      type: 'ERROR',
      object: { code: 410, reason: 'Expired', message: 'too old resource version' },
    });
    lw.current.end();
    await settle();
    assert.equal(lw.listCalls, 2);
    assert.deepEqual(events, [
      ['delete', 'gone@3'],
      ['update', 'change@40', '2'],
      ['add', 'new@41'],
    ]);
    assert.deepEqual(
      informer
        .list()
        .map((o) => o.metadata?.name)
        .sort(),
      ['change', 'keep', 'new'],
    );
    assert.equal(lw.current.resourceVersion, '50');
  });

  it('should relist when the watch request itself fails with 410', async (t) => {
    const { lw, informer, clock } = setup();
    t.after(() => informer.stop());
    lw.lists.push({ items: [], resourceVersion: '10' }, { items: [obj('a', '60')], resourceVersion: '61' });
    informer.start();
    await informer.waitForSync();
    await settle();
    lw.current.fail(Object.assign(new Error('Gone'), { statusCode: 410 }));
    await clock.advance(1_000);
    assert.equal(lw.listCalls, 2);
    assert.equal(informer.get('a', 'ns')?.metadata?.resourceVersion, '60');
  });

  it('should retry failures with capped exponential backoff and resume from the last resourceVersion', async (t) => {
    const { lw, informer, clock } = setup();
    t.after(() => informer.stop());
    lw.lists.push({ items: [], resourceVersion: '10' });
    informer.start();
    await informer.waitForSync();
    await settle();
    const delays: Array<number | undefined> = [];
    for (let i = 0; i < 6; i++) {
      lw.current.fail(new TypeError('terminated'));
      await settle();
      delays.push(clock.nextDelay());
      await clock.advance(clock.nextDelay() ?? 0);
    }
    assert.deepEqual(delays, [1_000, 2_000, 4_000, 8_000, 8_000, 8_000]);
    assert.equal(lw.listCalls, 1, 'a resumable watch is not a reason to relist');
    assert.equal(lw.current.resourceVersion, '10');

    lw.current.emit({ type: 'ADDED', object: obj('a', '11') }); // a healthy stream resets the backoff
    lw.current.fail(new TypeError('terminated'));
    await settle();
    assert.equal(clock.nextDelay(), 1_000);
    await clock.advance(1_000);
    assert.equal(lw.current.resourceVersion, '11');
  });

  it('should count a watch that closes at once without events as a failure', async (t) => {
    const { lw, informer, clock } = setup();
    t.after(() => informer.stop());
    lw.lists.push({ items: [], resourceVersion: '10' });
    informer.start();
    await informer.waitForSync();
    await settle();
    lw.current.end();
    await settle();
    assert.equal(lw.watches.length, 1, 'no immediate reconnect');
    assert.equal(clock.nextDelay(), 1_000);
  });

  it('should retry a failed initial list and report synced only once a list succeeds', async (t) => {
    const { lw, informer, clock } = setup();
    t.after(() => informer.stop());
    lw.lists.push(new TypeError('fetch failed'), { items: [obj('a', '1')], resourceVersion: '2' });
    informer.start();
    await settle();
    assert.equal(informer.hasSynced(), false);
    const aborted = new AbortController();
    const gaveUp = informer.waitForSync(aborted.signal);
    aborted.abort();
    assert.equal(await gaveUp, false);
    const synced = informer.waitForSync();
    await clock.advance(1_000);
    assert.equal(await synced, true);
    assert.equal(informer.get('a', 'ns')?.metadata?.name, 'a');
  });

  it('should replay cached objects to a late handler and stop calling it after unsubscribe', async (t) => {
    const { lw, informer } = setup();
    t.after(() => informer.stop());
    lw.lists.push({ items: [obj('a', '1'), obj('b', '2')], resourceVersion: '3' });
    informer.start();
    await informer.waitForSync();
    await settle();
    const late = recorder();
    const unsubscribe = informer.addEventHandler(late.handler);
    assert.deepEqual(late.events, [
      ['add', 'a@1'],
      ['add', 'b@2'],
    ]);
    unsubscribe();
    lw.current.emit({ type: 'ADDED', object: obj('c', '4') });
    assert.equal(late.events.length, 2);
  });

  it('should keep notifying other handlers when one throws', async (t) => {
    const { lw, informer, events } = setup();
    t.after(() => informer.stop());
    informer.addEventHandler({
      onAdd: () => {
        throw new Error('bad handler');
      },
    });
    const after = recorder();
    informer.addEventHandler(after.handler);
    lw.lists.push({ items: [], resourceVersion: '1' });
    informer.start();
    await informer.waitForSync();
    await settle();
    lw.current.emit({ type: 'ADDED', object: obj('a', '2') });
    assert.deepEqual(events, [['add', 'a@2']]);
    assert.deepEqual(after.events, [['add', 'a@2']]);
  });

  it('should stop while backing off without listing or watching again', async () => {
    const { lw, informer, clock } = setup();
    lw.lists.push(new TypeError('fetch failed'));
    informer.start();
    await settle();
    assert.equal(clock.pending(), 1);
    await informer.stop();
    assert.equal(clock.pending(), 0, 'the backoff timer is cancelled');
    await clock.advance(60_000);
    assert.equal(lw.listCalls, 1);
    assert.equal(lw.watches.length, 0);
  });
});
