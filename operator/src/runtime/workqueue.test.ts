import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FakeClock, settle } from './clock.ts';
import { WorkQueue } from './workqueue.ts';

/** Whether `p` has settled once pending continuations ran. */
async function isSettled(p: Promise<unknown>): Promise<boolean> {
  let settled = false;
  p.then(
    () => {
      settled = true;
    },
    () => {
      settled = true;
    },
  );
  await settle();
  return settled;
}

function setup(opts: { baseDelayMs?: number; maxDelayMs?: number } = {}) {
  const clock = new FakeClock();
  const q = new WorkQueue({ clock, ...opts });
  return { clock, q };
}

describe('WorkQueue', () => {
  it('should hand out ready keys in FIFO order', async () => {
    const { q } = setup();
    q.add('a');
    q.add('b');
    q.add('c');
    assert.equal(await q.get(), 'a');
    assert.equal(await q.get(), 'b');
    assert.equal(await q.get(), 'c');
  });

  it('should ignore adding a key that is already queued', async () => {
    const { q } = setup();
    q.add('a');
    q.add('b');
    q.add('a');
    assert.equal(q.len(), 2);
    assert.equal(await q.get(), 'a');
    assert.equal(await q.get(), 'b');
    assert.equal(q.len(), 0);
  });

  it('should wake a waiting get when a key is added', async () => {
    const { q } = setup();
    const next = q.get();
    assert.equal(await isSettled(next), false);
    q.add('a');
    assert.equal(await next, 'a');
  });

  it('should give different keys to concurrent getters', async () => {
    const { q } = setup();
    const g1 = q.get();
    const g2 = q.get();
    q.add('a');
    q.add('b');
    assert.deepEqual(await Promise.all([g1, g2]), ['a', 'b']);
  });

  it('should not hand out a key again while it is processing, and requeue it after done when re-added', async () => {
    const { q } = setup();
    q.add('a');
    assert.equal(await q.get(), 'a');
    q.add('a'); // re-added while processing: dirty, not ready
    assert.equal(q.len(), 0);
    const second = q.get();
    assert.equal(await isSettled(second), false, 'a second worker must not get the key in flight');
    q.done('a');
    assert.equal(await second, 'a');
  });

  it('should requeue a key re-added many times while processing only once', async () => {
    const { q } = setup();
    q.add('a');
    await q.get();
    for (let i = 0; i < 10; i++) q.add('a');
    q.done('a');
    assert.equal(q.len(), 1);
    assert.equal(await q.get(), 'a');
    q.done('a');
    assert.equal(q.len(), 0);
  });

  it('should not requeue a key on done when nobody re-added it', async () => {
    const { q } = setup();
    q.add('a');
    await q.get();
    q.done('a');
    assert.equal(q.len(), 0);
    assert.equal(q.processing(), 0);
  });

  it('should back off exponentially per key from 5 ms on addRateLimited', async () => {
    const { q, clock } = setup();
    const delays: number[] = [];
    for (let i = 0; i < 5; i++) {
      q.addRateLimited('a');
      delays.push(clock.nextDelay() ?? -1);
      assert.equal(q.len(), 0, 'not ready before its delay');
      await clock.advance(delays[i] as number);
      assert.equal(await q.get(), 'a');
      q.done('a');
    }
    assert.deepEqual(delays, [5, 10, 20, 40, 80]);
    assert.equal(q.numRequeues('a'), 5);
  });

  it('should keep backoff counts separate per key', () => {
    const { q } = setup();
    q.addRateLimited('a');
    q.addRateLimited('a');
    q.addRateLimited('a');
    assert.equal(q.nextBackoff('a'), 40);
    assert.equal(q.nextBackoff('b'), 5);
  });

  it('should cap the backoff at maxDelayMs', () => {
    const { q } = setup({ maxDelayMs: 60_000 });
    for (let i = 0; i < 40; i++) q.addRateLimited('a');
    assert.equal(q.nextBackoff('a'), 60_000);
    for (let i = 0; i < 2000; i++) q.addRateLimited('a'); // 2^2000 is Infinity: still capped
    assert.equal(q.nextBackoff('a'), 60_000);
  });

  it('should reset the backoff on forget', () => {
    const { q } = setup();
    q.addRateLimited('a');
    q.addRateLimited('a');
    q.forget('a');
    assert.equal(q.numRequeues('a'), 0);
    assert.equal(q.nextBackoff('a'), 5);
  });

  it('should make a key ready only once its addAfter delay has passed', async () => {
    const { q, clock } = setup();
    q.addAfter('a', 1_000);
    await clock.advance(999);
    assert.equal(q.len(), 0);
    assert.equal(q.delayed(), 1);
    await clock.advance(1);
    assert.equal(q.len(), 1);
    assert.equal(q.delayed(), 0);
  });

  it('should keep the earliest pending delay of a key', async () => {
    const { q, clock } = setup();
    q.addAfter('a', 100);
    q.addAfter('a', 5_000); // later: ignored
    q.addAfter('b', 5_000);
    q.addAfter('b', 100); // earlier: brought forward
    assert.equal(q.delayed(), 2);
    await clock.advance(100);
    assert.equal(q.len(), 2);
    assert.equal(clock.pending(), 0, 'the superseded timer of b was cancelled');
  });

  it('should add at once when addAfter is given no delay', () => {
    const { q } = setup();
    q.addAfter('a', 0);
    assert.equal(q.len(), 1);
  });

  it('should treat a delayed add of a key in flight as a re-add', async () => {
    const { q, clock } = setup();
    q.add('a');
    await q.get();
    q.addAfter('a', 10);
    await clock.advance(10);
    assert.equal(q.len(), 0, 'still processing');
    q.done('a');
    assert.equal(q.len(), 1);
  });

  it('should stop handing out keys on shutDown and let in-flight keys finish', async () => {
    const { q, clock } = setup();
    q.add('busy');
    assert.equal(await q.get(), 'busy');
    q.add('queued');
    q.addAfter('later', 1_000);
    const waiting = q.get(); // gets 'queued'
    assert.equal(await waiting, 'queued');
    const idle = q.get();
    const stopped = q.shutDown();
    assert.equal(await idle, undefined, 'waiting getters are released');
    assert.equal(await q.get(), undefined);
    assert.equal(clock.pending(), 0, 'delayed adds are cancelled');
    q.add('new');
    assert.equal(q.len(), 0, 'adds after shutDown are ignored');
    assert.equal(await isSettled(stopped), false, 'two keys are still in flight');
    q.done('busy');
    assert.equal(await isSettled(stopped), false);
    q.done('queued');
    await stopped;
    await q.shutDown(); // idempotent
  });

  it('should drop keys nobody picked up and not requeue dirty keys on shutDown', async () => {
    const { q } = setup();
    q.add('a');
    q.add('b');
    await q.get(); // a in flight
    q.add('a'); // dirty
    const stopped = q.shutDown();
    assert.equal(q.len(), 0);
    q.done('a');
    await stopped;
    assert.equal(q.len(), 0);
    assert.equal(await q.get(), undefined);
  });

  it('should reject an invalid backoff configuration', () => {
    assert.throws(() => new WorkQueue({ baseDelayMs: 0 }), RangeError);
    assert.throws(() => new WorkQueue({ baseDelayMs: 10, maxDelayMs: 5 }), RangeError);
  });
});
