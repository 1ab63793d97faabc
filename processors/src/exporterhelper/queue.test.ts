import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ByteBoundedQueue } from './queue.ts';

const item = (bytes: number, items = 1) => ({ body: new Uint8Array(bytes), items });

test('admits requests until their bytes would exceed the capacity', () => {
  const used: number[] = [];
  const q = new ByteBoundedQueue(100, (u) => used.push(u));
  q.tryReserve(item(60))?.commit();
  assert.equal(q.tryReserve(item(41)), undefined, 'a request that does not fit is refused');
  const r = q.tryReserve(item(40));
  assert.ok(r);
  r.commit();
  assert.equal(q.usedBytes, 100);
  assert.deepEqual(used, [60, 100]);
});

test('a released reservation gives its bytes back and is never delivered', async () => {
  const q = new ByteBoundedQueue(100);
  q.tryReserve(item(70))?.release();
  assert.equal(q.usedBytes, 0);
  q.tryReserve(item(10, 7))?.commit();
  assert.equal((await q.take())?.items, 7);
});

test('bytes stay reserved while an item is in flight, until it is finished', async () => {
  const q = new ByteBoundedQueue(100);
  q.tryReserve(item(80))?.commit();
  const taken = await q.take();
  assert.ok(taken);
  assert.equal(q.tryReserve(item(30)), undefined, 'in-flight bytes still count');
  q.finished(taken);
  assert.ok(q.tryReserve(item(30)));
});

test('a waiting taker gets the next committed item, in order', async () => {
  const q = new ByteBoundedQueue(1000);
  const first = q.take();
  q.tryReserve(item(1, 1))?.commit();
  q.tryReserve(item(2, 2))?.commit();
  assert.equal((await first)?.items, 1);
  assert.equal((await q.take())?.items, 2);
});

test('takeIfFits batches only what fits', () => {
  const q = new ByteBoundedQueue(1000);
  for (const n of [10, 20, 30]) q.tryReserve(item(n))?.commit();
  assert.equal(q.takeIfFits(25)?.body.length, 10);
  assert.equal(q.takeIfFits(15), undefined);
  assert.equal(q.takeIfFits(20)?.body.length, 20);
});

test('a closed queue refuses new work and ends takers once empty', async () => {
  const q = new ByteBoundedQueue(1000);
  q.tryReserve(item(5))?.commit();
  const waiting = new ByteBoundedQueue(10);
  const pending = waiting.take();
  waiting.close();
  assert.equal(await pending, undefined);
  q.close();
  assert.equal(q.tryReserve(item(1)), undefined);
  assert.equal((await q.take())?.body.length, 5, 'what was queued is still delivered');
  assert.equal(await q.take(), undefined);
});

test('an item restored from disk is queued even past the capacity, and new ones wait for room', async () => {
  const q = new ByteBoundedQueue(100);
  q.restore(item(150, 9));
  assert.equal(q.usedBytes, 150);
  assert.equal(q.fits(1), false);
  assert.equal(q.tryReserve(item(1)), undefined);
  const taken = await q.take();
  assert.equal(taken?.items, 9);
  if (taken) q.finished(taken);
  assert.equal(q.fits(100), true);
});
