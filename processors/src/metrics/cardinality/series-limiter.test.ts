import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ExpiringSet } from './expiring-set.ts';
import { DEFAULT_MAX_SERIES_PER_METRIC, SeriesLimiter } from './series-limiter.ts';

const key = (i: number) => `7:user.ids${String(i).length}:${i}`;

describe('SeriesLimiter', () => {
  test('tracks the first `limit` attribute sets of a metric and refuses the rest', () => {
    const l = new SeriesLimiter();
    for (let i = 0; i < DEFAULT_MAX_SERIES_PER_METRIC; i++) assert.equal(l.admit('m', key(i), 0), true);
    assert.equal(l.admit('m', key(DEFAULT_MAX_SERIES_PER_METRIC), 0), false);
    assert.equal(l.admit('m', key(0), 1), true, 'a tracked set stays tracked');
    assert.equal(l.admit('m', key(DEFAULT_MAX_SERIES_PER_METRIC - 1), 1), true);
    assert.equal(l.admit('other', key(DEFAULT_MAX_SERIES_PER_METRIC), 1), true, 'limits are per metric');
    assert.equal(l.size, DEFAULT_MAX_SERIES_PER_METRIC + 1);
    assert.deepEqual(l.stats, { admitted: 2001, refused: 1, expired: 0, refusedMetric: 0 });
  });

  test('applies per-metric overrides, asked once per metric name; 0 refuses every set', () => {
    const asked: string[] = [];
    const l = new SeriesLimiter({
      maxSeriesPerMetric: 3,
      limitFor: (m) => {
        asked.push(m);
        return m === 'wide' ? 5 : m === 'none' ? 0 : undefined;
      },
    });
    const admitted = (m: string) => [...Array(10).keys()].filter((i) => l.admit(m, key(i), 0)).length;
    assert.equal(admitted('wide'), 5);
    assert.equal(admitted('none'), 0);
    assert.equal(admitted('plain'), 3);
    assert.deepEqual(asked, ['wide', 'none', 'plain']);
    assert.equal(l.limitOf('wide'), 5);
  });

  test('a storm of a million distinct sets keeps exactly `limit` tracked', () => {
    const l = new SeriesLimiter({ maxSeriesPerMetric: 2000, ttlMs: 60_000 });
    let admitted = 0;
    for (let i = 0; i < 1_000_000; i++) {
      // Time moves (1 ms per 100 points, 10 s in all) but stays within the TTL: nothing expires.
      if (l.admit('gen_ai.client.token.usage', key(i), i / 100)) admitted++;
      if (l.size > 2000) assert.fail(`size ${l.size} after ${i}`);
    }
    assert.equal(admitted, 2000);
    assert.equal(l.size, 2000);
    assert.equal(l.stats.refused, 998_000);
  });

  test('expiry frees the slots of idle sets, never before the TTL, and keeps the ones in use', () => {
    const expired: string[] = [];
    const l = new SeriesLimiter({
      maxSeriesPerMetric: 10,
      ttlMs: 1000,
      onExpire: (m, k) => expired.push(`${m}/${k}`),
    });
    for (let i = 0; i < 10; i++) l.admit('m', key(i), 0);
    for (let i = 0; i < 5; i++) l.admit('m', key(i), 900); // still in use
    assert.equal(l.admit('m', key(100), 999), false, 'full: nothing idle for a whole TTL yet');
    assert.equal(l.admit('m', key(100), 1000 + 1000 / 16), true, 'the five idle sets expired');
    assert.equal(l.size, 6);
    assert.deepEqual(
      expired,
      [5, 6, 7, 8, 9].map((i) => `m/${key(i)}`),
    );
    for (let i = 101; i < 105; i++) assert.equal(l.admit('m', key(i), 1100), true);
    assert.equal(l.admit('m', key(105), 1100), false, 'full again');
    for (let i = 0; i < 5; i++) assert.equal(l.admit('m', key(i), 1100), true, 'kept while in use');
    assert.equal(l.stats.expired, 5);
  });

  test('under a storm with churn, tracked sets never exceed the limit and expired ones are forgotten', () => {
    const l = new SeriesLimiter({ maxSeriesPerMetric: 100, ttlMs: 1000 });
    let admitted = 0;
    for (let i = 0; i < 200_000; i++) {
      if (l.admit('m', key(i), i)) admitted++; // 1 ms per point: every set idles out
      if (l.size > 100) assert.fail(`size ${l.size}`);
    }
    // Every ~TTL the whole table turns over.
    assert.ok(admitted > 100 * 150, `admitted ${admitted}`);
    assert.equal(l.stats.admitted - l.stats.expired, l.size);
  });

  test('caps the number of metric names; an idle metric is forgotten whole and frees its name', () => {
    const l = new SeriesLimiter({ maxMetrics: 2, ttlMs: 1000 });
    assert.equal(l.admit('a', key(1), 0), true);
    assert.equal(l.admit('a', key(2), 0), true);
    assert.equal(l.admit('b', key(1), 0), true);
    assert.equal(l.admit('c', key(1), 0), false, 'a third name is not tracked: its points overflow');
    assert.equal(l.isTracked('c'), false);
    assert.equal(l.stats.refusedMetric, 1);
    assert.equal(l.admit('b', key(1), 1000), true, 'b stays in use');
    assert.equal(l.admit('c', key(1), 1100), true, 'a idled out, its name slot went to c');
    assert.equal(l.isTracked('a'), false);
    assert.equal(l.metricCount, 2);
    assert.equal(l.size, 2);
    assert.equal(l.stats.expired, 2);
  });

  test('caps tracked sets across metrics', () => {
    const l = new SeriesLimiter({ maxSeriesPerMetric: 10, maxTotalSeries: 15 });
    const admitted = (m: string) => [...Array(10).keys()].filter((i) => l.admit(m, key(i), 0)).length;
    assert.equal(admitted('a'), 10);
    assert.equal(admitted('b'), 5);
    assert.equal(l.size, 15);
  });

  test('ttl 0 never forgets', () => {
    const l = new SeriesLimiter({ maxSeriesPerMetric: 1, ttlMs: 0 });
    assert.equal(l.admit('m', key(1), 0), true);
    l.sweep(1e12);
    assert.equal(l.admit('m', key(2), 1e12), false);
    assert.equal(l.size, 1);
  });

  test('stores very long keys as digests: memory per set is bounded whatever the values', () => {
    const l = new SeriesLimiter({ maxSeriesPerMetric: 2 });
    const long = (c: string) => `6:prompts100000:${c.repeat(100_000)}`;
    assert.equal(l.admit('m', long('a'), 0), true);
    assert.equal(l.admit('m', long('b'), 0), true);
    assert.equal(l.admit('m', long('a'), 0), true);
    assert.equal(l.admit('m', long('c'), 0), false);
  });

  test('sweep() forgets idle sets without waiting for the next point', () => {
    const l = new SeriesLimiter({ ttlMs: 1000 });
    l.admit('a', key(1), 0);
    l.admit('b', key(1), 0);
    l.admit('b', key(2), 900);
    l.sweep(1500);
    assert.equal(l.size, 1);
    assert.equal(l.seriesOf('b'), 1);
  });
});

describe('ExpiringSet', () => {
  test('sweeps from the head only as far as entries have expired', () => {
    const s = new ExpiringSet(160); // slack 10
    s.add('a', 0);
    s.add('b', 50);
    s.add('c', 100);
    assert.equal(s.touch('a', 5), true); // within slack: not moved
    assert.equal(s.sweep(169), 0);
    assert.equal(s.sweep(170), 1);
    assert.deepEqual([...s.keys()], ['b', 'c']);
    assert.equal(s.touch('b', 200), true); // moved to the tail
    assert.deepEqual([...s.keys()], ['c', 'b']);
    assert.equal(s.sweep(270), 1);
    assert.deepEqual([...s.keys()], ['b']);
  });
});
