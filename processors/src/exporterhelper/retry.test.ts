import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Backoff, DEFAULT_RETRY, parseRetryAfter } from './retry.ts';

test('backs off exponentially within the jitter band and caps at max_interval', () => {
  const now = 0;
  const low = new Backoff(
    DEFAULT_RETRY,
    () => now,
    () => 0,
  );
  const high = new Backoff(
    DEFAULT_RETRY,
    () => now,
    () => 0.999999,
  );
  const lows = [1, 2, 3, 4, 5, 6].map(() => low.next());
  const highs = [1, 2, 3, 4, 5, 6].map(() => high.next());
  assert.deepEqual(lows.slice(0, 3), [2500, 3750, 5625]);
  assert.ok(Math.abs((highs[0] ?? 0) - 7500) < 1);
  assert.ok((highs[5] ?? 0) <= 45_000 && (highs[5] ?? 0) > 44_000, 'max_interval 30 s ± 50 %');
});

test('stops once max_elapsed_time would be exceeded', () => {
  let now = 0;
  const b = new Backoff(
    { ...DEFAULT_RETRY, maxElapsedMs: 10_000 },
    () => now,
    () => 0.5,
  );
  assert.equal(b.next(), 5000);
  now = 5000;
  assert.equal(b.next(), undefined, '5 s + 7.5 s is past the 10 s budget');
});

test('a Retry-After from the server wins over the computed delay', () => {
  const b = new Backoff(
    DEFAULT_RETRY,
    () => 0,
    () => 0.5,
  );
  assert.equal(b.next(12_000), 12_000);
});

test('retries forever when max_elapsed_time is 0', () => {
  const b = new Backoff(
    { ...DEFAULT_RETRY, maxElapsedMs: 0 },
    () => 1e12,
    () => 0.5,
  );
  assert.ok(b.next() !== undefined);
});

test('parses Retry-After as seconds or an HTTP date', () => {
  assert.equal(parseRetryAfter('7'), 7000);
  assert.equal(
    parseRetryAfter('Wed, 21 Oct 2015 07:28:10 GMT', Date.parse('Wed, 21 Oct 2015 07:28:00 GMT')),
    10_000,
  );
  assert.equal(parseRetryAfter('soon'), undefined);
  assert.equal(parseRetryAfter(null), undefined);
});
