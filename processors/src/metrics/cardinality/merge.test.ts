import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import Long from 'long';
import type {
  ExponentialHistogramDataPoint,
  HistogramDataPoint,
  Int64,
  NumberDataPoint,
} from '../../otlp/model.ts';
import { int64ToNumber } from './int64.ts';
import {
  MAX_EXEMPLARS,
  MAX_EXPONENTIAL_BUCKETS,
  mergeExponentialHistogramPoint,
  mergeHistogramPoint,
  mergeNumberPoint,
  mergePoint,
} from './merge.ts';

const num = (v: { asInt?: Int64; asDouble?: number }, time: number, start = 0): NumberDataPoint => ({
  attributes: [],
  exemplars: [],
  startTimeUnixNano: start,
  timeUnixNano: time,
  ...v,
});

function hist(counts: number[], bounds: number[], sum: number, min: number, max: number): HistogramDataPoint {
  return {
    attributes: [],
    exemplars: [],
    count: counts.reduce((a, b) => a + b, 0),
    sum,
    min,
    max,
    bucketCounts: counts,
    explicitBounds: bounds,
    startTimeUnixNano: 10,
    timeUnixNano: 20,
  };
}

/** Count of values per downscaled index, from a point's positive buckets. */
function expCounts(p: ExponentialHistogramDataPoint, scale: number): Map<number, number> {
  const out = new Map<number, number>();
  const shift = (p.scale ?? 0) - scale;
  (p.positive?.bucketCounts ?? []).forEach((c, i) => {
    const j = ((p.positive?.offset ?? 0) + i) >> shift;
    out.set(j, (out.get(j) ?? 0) + int64ToNumber(c));
  });
  return out;
}

describe('merging number points', () => {
  test('sums add exactly, ints in 64 bits beyond 2^53', () => {
    const a = num({ asInt: Long.fromString('9007199254740993') }, 5, 1);
    mergeNumberPoint(a, num({ asInt: 4 }, 7, 2), 'sum');
    assert.equal(String(a.asInt), '9007199254740997');
    assert.equal(a.startTimeUnixNano, 1);
    assert.equal(a.timeUnixNano, 7);
    const b = num({ asInt: 3 }, 5);
    mergeNumberPoint(b, num({ asInt: 4 }, 5), 'sum');
    assert.equal(b.asInt, 7);
  });

  test('int + double becomes a double', () => {
    const a = num({ asInt: 3 }, 5);
    mergeNumberPoint(a, num({ asDouble: 0.5 }, 5), 'sum');
    assert.equal(a.asDouble, 3.5);
    assert.equal(a.asInt, null);
  });

  test('gauges keep the latest value by timeUnixNano, whatever the order', () => {
    const a = num({ asDouble: 1 }, 30);
    mergeNumberPoint(a, num({ asDouble: 2 }, 20), 'last');
    assert.equal(a.asDouble, 1);
    mergeNumberPoint(a, num({ asInt: 9 }, 40), 'last');
    assert.equal(a.asInt, 9);
    assert.equal(a.asDouble, null);
    assert.equal(a.timeUnixNano, 40);
  });

  test('a point flagged NO_RECORDED_VALUE adds nothing; into one, the other point wins', () => {
    const a = num({ asInt: 3 }, 5);
    mergeNumberPoint(a, { ...num({}, 9), flags: 1 }, 'sum');
    assert.equal(a.asInt, 3);
    const b = { ...num({}, 9), flags: 1 };
    mergeNumberPoint(b, num({ asInt: 3 }, 5), 'sum');
    assert.equal(b.asInt, 3);
    assert.equal(b.flags, undefined);
  });

  test(`exemplars are kept up to ${MAX_EXEMPLARS}`, () => {
    const ex = (n: number) => Array.from({ length: n }, (_, i) => ({ filteredAttributes: [], asInt: i }));
    const a = { ...num({ asInt: 1 }, 1), exemplars: ex(5) };
    mergeNumberPoint(a, { ...num({ asInt: 1 }, 1), exemplars: ex(5) }, 'sum');
    assert.equal(a.exemplars.length, MAX_EXEMPLARS);
  });
});

describe('merging histograms', () => {
  test('identical bounds: counts, buckets and sums add, min/max combine', () => {
    const a = hist([1, 2, 3], [10, 100], 500, 1, 300);
    assert.equal(mergeHistogramPoint(a, hist([4, 0, 1], [10, 100], 150, 0.5, 120)), true);
    assert.deepEqual(a.bucketCounts, [5, 2, 4]);
    assert.equal(a.count, 11);
    assert.equal(a.sum, 650);
    assert.equal(a.min, 0.5);
    assert.equal(a.max, 300);
  });

  test('different bounds are refused and change nothing', () => {
    const a = hist([1, 2, 3], [10, 100], 500, 1, 300);
    const before = structuredClone(a);
    assert.equal(mergeHistogramPoint(a, hist([1, 2, 3], [10, 50], 5, 1, 1)), false);
    assert.deepEqual(a, before);
  });

  test('an unknown sum or min on either side makes the merged one unknown', () => {
    const a = hist([1], [], 5, 5, 5);
    const b: HistogramDataPoint = { ...hist([2], [], 0, 0, 0), sum: null, min: null };
    mergeHistogramPoint(a, b);
    assert.equal(a.sum, null);
    assert.equal(a.min, null);
    assert.equal(a.max, 5);
    assert.equal(a.count, 3);
  });

  test('Long counts (as protobuf decodes them) add exactly', () => {
    const a = hist([0, 0], [1], 0, 0, 0);
    a.bucketCounts = [Long.fromNumber(2, true), Long.fromNumber(3, true)];
    a.count = Long.fromNumber(5, true);
    const b = hist([1, 1], [1], 0, 0, 0);
    mergeHistogramPoint(a, b);
    assert.deepEqual(a.bucketCounts.map(int64ToNumber), [3, 4]);
    assert.equal(int64ToNumber(a.count), 7);
  });
});

describe('merging exponential histograms', () => {
  const exp = (scale: number, offset: number, counts: number[]): ExponentialHistogramDataPoint => ({
    attributes: [],
    exemplars: [],
    scale,
    count: counts.reduce((a, b) => a + b, 0) + 1,
    zeroCount: 1,
    sum: 10,
    positive: { offset, bucketCounts: counts },
    min: 0,
    max: 9,
  });

  test('same scale: buckets align by offset and add', () => {
    const a = exp(3, 2, [1, 1]);
    mergeExponentialHistogramPoint(a, exp(3, 3, [5, 5]));
    assert.equal(a.scale, 3);
    assert.deepEqual(a.positive, { offset: 2, bucketCounts: [1, 6, 5] });
    assert.equal(a.count, 14);
    assert.equal(a.zeroCount, 2);
    assert.equal(a.sum, 20);
  });

  test('different scales: both downscale to the smaller one, no count lost', () => {
    const a = exp(4, -3, [1, 2, 3, 4, 5]);
    const b = exp(2, 7, [10, 20]);
    const want = expCounts(a, 2);
    for (const [k, v] of expCounts(b, 2)) want.set(k, (want.get(k) ?? 0) + v);
    mergeExponentialHistogramPoint(a, b);
    assert.equal(a.scale, 2);
    for (const [k, v] of want) assert.equal(expCounts(a, 2).get(k) ?? 0, v, `bucket ${k}`);
    assert.equal(a.count, 15 + 1 + 30 + 1);
  });

  test(`keeps at most ${MAX_EXPONENTIAL_BUCKETS} buckets, downscaling further when ranges are far apart`, () => {
    const a = exp(5, -500, [1, 1]);
    const b = exp(5, 500, [2]);
    mergeExponentialHistogramPoint(a, b);
    assert.ok((a.positive?.bucketCounts.length ?? 0) <= MAX_EXPONENTIAL_BUCKETS);
    assert.ok((a.scale ?? 0) < 5);
    const total = (a.positive?.bucketCounts ?? []).reduce<number>((s, c) => s + int64ToNumber(c), 0);
    assert.equal(total, 4);
  });

  test('summaries cannot be merged', () => {
    const s = { attributes: [], quantileValues: [], count: 1, sum: 1 };
    assert.equal(mergePoint('summary', s, { ...s }), false);
  });
});
