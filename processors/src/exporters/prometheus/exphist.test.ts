import assert from 'node:assert/strict';
import { test } from 'node:test';
import { classicBuckets, type ExpHistogram, MAX_BUCKETS, mergeExp } from './exphist.ts';

function h(p: Partial<ExpHistogram> & { scale: number }): ExpHistogram {
  const positive = p.positive ?? { offset: 0, counts: [] };
  const negative = p.negative ?? { offset: 0, counts: [] };
  const zeroCount = p.zeroCount ?? 0;
  return {
    zeroThreshold: 0,
    sum: 0,
    ...p,
    positive,
    negative,
    zeroCount,
    count: p.count ?? zeroCount + [...positive.counts, ...negative.counts].reduce((a, b) => a + b, 0),
  };
}

test('adds exponential histograms of different scales at the lower scale', () => {
  const fine = h({ scale: 1, positive: { offset: 0, counts: [1, 1, 1, 1] }, sum: 3 });
  const coarse = h({ scale: 0, positive: { offset: 0, counts: [2] }, zeroCount: 1, sum: 4 });
  const m = mergeExp([fine, coarse]);
  assert.equal(m.scale, 0);
  assert.deepEqual(m.positive, { offset: 0, counts: [4, 2] });
  assert.equal(m.zeroCount, 1);
  assert.equal(m.count, 7);
  assert.equal(m.sum, 7);
});

test('downscales negative offsets by flooring, not truncating', () => {
  const m = mergeExp([h({ scale: 2, negative: { offset: -3, counts: [1, 1, 1, 1] } }), h({ scale: 1 })]);
  // indices -3..0 at scale 2 become floor(i/2): -2, -1, -1, 0
  assert.equal(m.scale, 1);
  assert.deepEqual(m.negative, { offset: -2, counts: [1, 2, 1] });
});

test(`keeps at most ${MAX_BUCKETS} buckets per side by lowering the scale`, () => {
  const a = h({ scale: 3, positive: { offset: 0, counts: new Array(100).fill(1) } });
  const b = h({ scale: 3, positive: { offset: 200, counts: new Array(10).fill(1) } });
  const m = mergeExp([a, b]);
  assert.equal(m.scale, 2);
  assert.equal(m.positive.offset, 0);
  assert.equal(m.positive.counts.length, 105);
  assert.equal(
    m.positive.counts.reduce((x, y) => x + y, 0),
    110,
  );
  const far = mergeExp([
    h({ scale: 20, positive: { offset: -(2 ** 30), counts: [1] } }),
    h({ scale: 20, positive: { offset: 2 ** 30, counts: [1] } }),
  ]);
  assert.ok(far.positive.counts.length <= MAX_BUCKETS, 'a huge gap ends in few buckets, not a huge array');
  assert.equal(far.count, 2);
});

test('loses the sum once a part has none', () => {
  assert.equal(mergeExp([h({ scale: 0, sum: 1 }), h({ scale: 0, sum: undefined })]).sum, undefined);
});

test('turns buckets into cumulative le bounds: negatives, then zero, then positives', () => {
  // scale 0: base 2, positive bucket i holds (2^i, 2^(i+1)], negative bucket i holds [-2^(i+1), -2^i)
  const buckets = classicBuckets(
    h({
      scale: 0,
      negative: { offset: 0, counts: [1, 3] },
      zeroCount: 1,
      positive: { offset: -1, counts: [1, 2] },
    }),
  );
  assert.deepEqual(buckets, [
    [-2, 3],
    [-1, 4],
    [0, 5],
    [1, 6],
    [2, 8],
  ]);
});

test('uses the zero threshold as the zero bucket bound and exact powers at fine scales', () => {
  const buckets = classicBuckets(
    h({ scale: 1, zeroCount: 2, zeroThreshold: 0.001, positive: { offset: 1, counts: [1, 1] } }),
  );
  assert.equal(buckets[0]?.[0], 0.001);
  assert.equal(buckets[1]?.[0], 2, 'index 1 at scale 1 ends at sqrt(2)^2');
  assert.ok(Math.abs((buckets[2]?.[0] ?? 0) - 2 ** 1.5) < 1e-12);
});

test('skips bounds that overflow a double, folding their counts into +Inf', () => {
  const buckets = classicBuckets(h({ scale: -10, positive: { offset: 0, counts: [1] } }));
  assert.deepEqual(
    buckets,
    [[0, 0]],
    'base 2^1024 overflows at once: only the zero bucket has a finite bound',
  );
});
