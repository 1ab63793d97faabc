import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { int64ToNumber } from '../../metrics/cardinality/int64.ts';
import { decodeRequest, encodeRequest } from '../../otlp/codec.ts';
import type {
  HistogramDataPoint,
  MetricsRequest,
  NumberDataPoint,
  SummaryDataPoint,
} from '../../otlp/model.ts';
import { TEMPORALITY_CUMULATIVE } from '../../otlp/model.ts';
import { CardinalityLimitProcessor } from './processor.ts';
import {
  at,
  compile,
  cumulativeSum,
  deltaSum,
  exponentialPoint,
  gauge,
  histogram,
  histogramPoint,
  metricsNamed,
  numberPoint,
  numberValue,
  plain,
  request,
  resourceMetrics,
  selfMetric,
  settings,
  setup,
  sink,
  summaryPoint,
} from './testkit.ts';

const TOKENS = 'gen_ai.client.token.usage.total';
const OVERFLOW = { 'otel.metric.overflow': true };

/** Delta token counts for users u0..u(n-1), user i having used i+1 tokens. */
function tokensFor(users: number, from = 0): NumberDataPoint[] {
  return Array.from({ length: users }, (_, k) =>
    numberPoint({ 'gen_ai.request.model': 'gpt-4o', 'user.id': `u${from + k}` }, from + k + 1),
  );
}

function onlyMetric(req: MetricsRequest | undefined, name = TOKENS) {
  assert.ok(req);
  const found = metricsNamed(req, name);
  assert.equal(found.length, 1, `one ${name} metric`);
  return found[0]?.metric;
}

const numberPoints = (req: MetricsRequest | undefined, name = TOKENS): NumberDataPoint[] =>
  (onlyMetric(req, name)?.sum?.dataPoints ??
    onlyMetric(req, name)?.gauge?.dataPoints ??
    []) as NumberDataPoint[];

describe('cardinality_limit processor', () => {
  test('passes requests under the limit through unchanged', async () => {
    const { p, out } = setup({ max_series_per_metric: 10 });
    const make = () => request(resourceMetrics([deltaSum(TOKENS, tokensFor(5))]));
    await p.consume(make());
    assert.deepEqual(out.received[0], make());
  });

  test('folds series beyond the limit into one otel.metric.overflow=true point; delta totals stay exact', async () => {
    const { p, out, set } = setup({ max_series_per_metric: 3 });
    await p.consume(request(resourceMetrics([deltaSum(TOKENS, tokensFor(5))])));
    const points = numberPoints(out.received[0]);
    assert.deepEqual(
      points.map((pt) => [plain(pt.attributes), numberValue(pt)]),
      [
        [{ 'gen_ai.request.model': 'gpt-4o', 'user.id': 'u0' }, 1],
        [{ 'gen_ai.request.model': 'gpt-4o', 'user.id': 'u1' }, 2],
        [{ 'gen_ai.request.model': 'gpt-4o', 'user.id': 'u2' }, 3],
        [OVERFLOW, 4 + 5],
      ],
    );
    // Next export: tracked users keep their series, new ones overflow.
    await p.consume(request(resourceMetrics([deltaSum(TOKENS, [...tokensFor(1, 1), ...tokensFor(2, 10)])])));
    assert.deepEqual(
      numberPoints(out.received[1]).map((pt) => [plain(pt.attributes), numberValue(pt)]),
      [
        [{ 'gen_ai.request.model': 'gpt-4o', 'user.id': 'u1' }, 2],
        [OVERFLOW, 11 + 12],
      ],
    );
    assert.equal(await selfMetric(set, 'llmobs_cardinality_overflow_points_total', { metric: TOKENS }), 4);
    assert.equal(await selfMetric(set, 'llmobs_cardinality_series', { processor: 'cardinality_limit' }), 3);
  });

  test('one overflow point per resource: the limit counts attribute sets per metric name', async () => {
    const { p, out } = setup({ max_series_per_metric: 2 });
    const pods = ['chat-1', 'chat-2'].map((pod) =>
      resourceMetrics([deltaSum(TOKENS, tokensFor(4))], { 'service.name': 'chat', 'k8s.pod.name': pod }),
    );
    await p.consume(request(...pods));
    const found = metricsNamed(out.received[0] as MetricsRequest, TOKENS);
    assert.equal(found.length, 2);
    for (const { metric } of found) {
      const pts = metric.sum?.dataPoints ?? [];
      assert.deepEqual(
        pts.map((pt) => plain(pt.attributes)['user.id'] ?? 'overflow'),
        ['u0', 'u1', 'overflow'],
      );
      assert.equal(numberValue(pts[2] as NumberDataPoint), 3 + 4);
    }
    assert.equal(p.limiter.size, 2);
  });

  test('cumulative sums: the overflow point is the sum of the overflowed series’ current values', async () => {
    const { p, out } = setup({ max_series_per_metric: 1 });
    const cum = (user: string, v: number, s: number) => numberPoint({ 'user.id': user }, v, at(s));
    await p.consume(
      request(resourceMetrics([cumulativeSum(TOKENS, [cum('a', 100, 0), cum('b', 10, 0), cum('c', 20, 0)])])),
    );
    await p.consume(
      request(
        // Two exports of `b` batched into one request: only its latest reading counts.
        resourceMetrics([
          cumulativeSum(TOKENS, [cum('a', 150, 60), cum('b', 15, 60), cum('c', 25, 60), cum('b', 17, 61)]),
        ]),
      ),
    );
    const [first, second] = out.received.map((r) => numberPoints(r));
    assert.deepEqual(
      first?.map((pt) => [plain(pt.attributes), numberValue(pt)]),
      [
        [{ 'user.id': 'a' }, 100],
        [OVERFLOW, 30],
      ],
    );
    assert.deepEqual(
      second?.map((pt) => [plain(pt.attributes), numberValue(pt)]),
      [
        [{ 'user.id': 'a' }, 150],
        [OVERFLOW, 17 + 25],
      ],
    );
    assert.equal(onlyMetric(out.received[1])?.sum?.aggregationTemporality, TEMPORALITY_CUMULATIVE);
    const overflow = second?.[1];
    assert.equal(String(overflow?.timeUnixNano), String(at(61)), 'the latest time of the merged points');
  });

  test('gauges: the overflow point carries the latest value', async () => {
    const { p, out } = setup({ max_series_per_metric: 1 });
    const g = (user: string, v: number, s: number) => numberPoint({ 'user.id': user }, v, at(s));
    await p.consume(
      request(resourceMetrics([gauge('queue.depth', [g('a', 1, 0), g('b', 7, 5), g('c', 3, 2)])])),
    );
    assert.deepEqual(
      numberPoints(out.received[0], 'queue.depth').map((pt) => [plain(pt.attributes), numberValue(pt)]),
      [
        [{ 'user.id': 'a' }, 1],
        [OVERFLOW, 7],
      ],
    );
  });

  test('histograms with the same bounds merge into the overflow point: counts, buckets and sums add', async () => {
    const { p, out } = setup({ max_series_per_metric: 1 });
    const bounds = [0.1, 1, 10];
    const h = (user: string, values: number[]) => histogramPoint({ 'user.id': user }, values, bounds);
    await p.consume(
      request(
        resourceMetrics([
          histogram('gen_ai.client.operation.duration', [
            h('a', [0.05]),
            h('b', [0.5, 5]),
            h('c', [20, 0.2]),
          ]),
        ]),
      ),
    );
    const pts = (onlyMetric(out.received[0], 'gen_ai.client.operation.duration')?.histogram?.dataPoints ??
      []) as HistogramDataPoint[];
    assert.equal(pts.length, 2);
    const o = pts[1] as HistogramDataPoint;
    assert.deepEqual(plain(o.attributes), OVERFLOW);
    assert.equal(int64ToNumber(o.count), 4);
    assert.deepEqual(o.bucketCounts.map(int64ToNumber), [0, 2, 1, 1]);
    assert.equal(o.sum, 25.7);
    assert.equal(o.min, 0.2);
    assert.equal(o.max, 20);
  });

  test('a histogram that cannot merge (other bounds) is dropped and counted, never silently', async () => {
    const { p, out, set } = setup({ max_series_per_metric: 1 });
    await p.consume(
      request(
        resourceMetrics([
          histogram('d', [
            histogramPoint({ u: 'a' }, [1], [1, 2]),
            histogramPoint({ u: 'b' }, [1], [1, 2]),
            histogramPoint({ u: 'c' }, [1], [5]),
          ]),
        ]),
      ),
    );
    const pts = onlyMetric(out.received[0], 'd')?.histogram?.dataPoints ?? [];
    assert.equal(pts.length, 2);
    assert.equal(int64ToNumber(pts[1]?.count), 1);
    assert.equal(
      await selfMetric(set, 'llmobs_dropped_items_total', {
        component: 'cardinality_limit',
        reason: 'unmergeable',
      }),
      1,
    );
  });

  test('exponential histograms at different scales merge into the overflow point without losing counts', async () => {
    const { p, out } = setup({ max_series_per_metric: 1 });
    await p.consume(
      request(
        resourceMetrics([
          {
            name: 'e',
            exponentialHistogram: {
              aggregationTemporality: 1,
              dataPoints: [
                exponentialPoint({ u: 'a' }, 3, 0, [1]),
                exponentialPoint({ u: 'b' }, 3, 4, [1, 2, 3]),
                exponentialPoint({ u: 'c' }, 1, 0, [4, 5]),
              ],
            },
          },
        ]),
      ),
    );
    const pts = onlyMetric(out.received[0], 'e')?.exponentialHistogram?.dataPoints ?? [];
    const o = pts[1];
    assert.equal(o?.scale, 1);
    assert.equal(int64ToNumber(o?.count), 15);
    assert.equal(
      (o?.positive?.bucketCounts ?? []).reduce<number>((s, c) => s + int64ToNumber(c), 0),
      15,
    );
  });

  test('summaries beyond the limit are dropped and counted (they cannot be merged)', async () => {
    const { p, out, set } = setup({ max_series_per_metric: 2 });
    await p.consume(
      request(
        resourceMetrics([
          {
            name: 'rpc.latency',
            summary: {
              dataPoints: [
                summaryPoint({ u: 'a' }, 1, 1),
                summaryPoint({ u: 'b' }, 2, 2),
                summaryPoint({ u: 'c' }, 3, 3),
              ],
            },
          },
        ]),
      ),
    );
    const pts = (onlyMetric(out.received[0], 'rpc.latency')?.summary?.dataPoints ?? []) as SummaryDataPoint[];
    assert.deepEqual(
      pts.map((pt) => plain(pt.attributes)),
      [{ u: 'a' }, { u: 'b' }],
    );
    assert.equal(
      await selfMetric(set, 'llmobs_dropped_items_total', {
        reason: 'cardinality_overflow',
        signal: 'metrics',
      }),
      1,
    );
  });

  test('exclude_attributes removes keys and merges the points that then share a series', async () => {
    const { p, out } = setup({ exclude_attributes: ['user.*', 'session.id'] });
    const pts = tokensFor(4).map((pt, i) => {
      pt.attributes.push(
        { key: 'session.id', value: { stringValue: `s${i}` } },
        { key: 'user.email', value: { stringValue: 'x@y' } },
      );
      return pt;
    });
    await p.consume(request(resourceMetrics([deltaSum(TOKENS, pts)])));
    assert.deepEqual(
      numberPoints(out.received[0]).map((pt) => [plain(pt.attributes), numberValue(pt)]),
      [[{ 'gen_ai.request.model': 'gpt-4o' }, 1 + 2 + 3 + 4]],
    );
    assert.equal(p.limiter.size, 1);
  });

  test('include_attributes keeps only the listed keys (and otel.metric.overflow)', async () => {
    const { p, out } = setup({ include_attributes: ['gen_ai.*'] });
    await p.consume(
      request(resourceMetrics([deltaSum(TOKENS, [...tokensFor(2), numberPoint(OVERFLOW, 5)])])),
    );
    assert.deepEqual(
      numberPoints(out.received[0]).map((pt) => [plain(pt.attributes), numberValue(pt)]),
      [
        [{ 'gen_ai.request.model': 'gpt-4o' }, 3],
        [OVERFLOW, 5],
      ],
    );
  });

  test('attribute_value_caps replace values beyond the cap with __other__ and count them by key', async () => {
    const { p, out, set } = setup({ attribute_value_caps: [{ key: 'user.id', max_values: 2 }] });
    await p.consume(request(resourceMetrics([deltaSum(TOKENS, tokensFor(5))])));
    assert.deepEqual(
      numberPoints(out.received[0]).map((pt) => [plain(pt.attributes)['user.id'], numberValue(pt)]),
      [
        ['u0', 1],
        ['u1', 2],
        ['__other__', 3 + 4 + 5],
      ],
    );
    assert.equal(await selfMetric(set, 'llmobs_cardinality_capped_values_total', { key: 'user.id' }), 3);
  });

  test('an incoming SDK overflow point joins ours: never two overflow series for one metric', async () => {
    const { p, out } = setup({ max_series_per_metric: 1 });
    await p.consume(
      request(resourceMetrics([deltaSum(TOKENS, [numberPoint(OVERFLOW, 100), ...tokensFor(3)])])),
    );
    assert.deepEqual(
      numberPoints(out.received[0]).map((pt) => [plain(pt.attributes), numberValue(pt)]),
      [
        [{ 'gen_ai.request.model': 'gpt-4o', 'user.id': 'u0' }, 1],
        [OVERFLOW, 100 + 2 + 3],
      ],
    );
  });

  test('a metric stream split across entries (or a resource repeated by batching) comes out once', async () => {
    const { p, out } = setup({ max_series_per_metric: 1 });
    const req = request(
      resourceMetrics([deltaSum(TOKENS, tokensFor(2))]),
      resourceMetrics([deltaSum(TOKENS, tokensFor(2, 5)), gauge('other', [numberPoint({}, 1)])]),
    );
    await p.consume(req);
    const got = out.received[0] as MetricsRequest;
    const found = metricsNamed(got, TOKENS);
    assert.equal(found.length, 1);
    assert.deepEqual(
      (found[0]?.metric.sum?.dataPoints ?? []).map((pt) => [
        plain(pt.attributes)['user.id'] ?? 'overflow',
        numberValue(pt),
      ]),
      [
        ['u0', 1],
        ['overflow', 2 + 6 + 7],
      ],
    );
    assert.equal(metricsNamed(got, 'other').length, 1, 'other metrics of the repeated resource stay');
    assert.equal(got.resourceMetrics.length, 2);
  });

  test('per-metric limits by glob, first match wins; 0 folds every point of a metric', async () => {
    const { p, out } = setup({
      max_series_per_metric: 100,
      limits: [
        { metric: 'gen_ai.client.token.*', max_series: 2 },
        { metric: 'debug.*', max_series: 0 },
      ],
    });
    await p.consume(
      request(
        resourceMetrics([
          deltaSum(TOKENS, tokensFor(5)),
          deltaSum('debug.calls', tokensFor(3)),
          deltaSum('calls', tokensFor(5)),
        ]),
      ),
    );
    const got = out.received[0];
    assert.equal(numberPoints(got).length, 3);
    assert.deepEqual(
      numberPoints(got, 'debug.calls').map((pt) => [plain(pt.attributes), numberValue(pt)]),
      [[OVERFLOW, 6]],
    );
    assert.equal(numberPoints(got, 'calls').length, 5);
  });

  test('beyond max_metrics, a new metric name overflows whole and is counted under __other__', async () => {
    const { p, out, set } = setup({ max_metrics: 1 });
    await p.consume(
      request(resourceMetrics([deltaSum('first', tokensFor(2)), deltaSum('second', tokensFor(3))])),
    );
    assert.equal(numberPoints(out.received[0], 'first').length, 2);
    assert.deepEqual(
      numberPoints(out.received[0], 'second').map((pt) => [plain(pt.attributes), numberValue(pt)]),
      [[OVERFLOW, 6]],
    );
    assert.equal(
      await selfMetric(set, 'llmobs_cardinality_overflow_points_total', { metric: '__other__' }),
      3,
    );
    assert.equal(await selfMetric(set, 'llmobs_cardinality_overflow_points_total', { metric: 'second' }), 0);
  });

  test('series idle for series_ttl give their slot to new ones', async () => {
    const { p, out, clock } = setup({ max_series_per_metric: 2, series_ttl: '1m' });
    await p.consume(request(resourceMetrics([deltaSum(TOKENS, tokensFor(2))])));
    clock.now = 30_000;
    await p.consume(request(resourceMetrics([deltaSum(TOKENS, [...tokensFor(1), ...tokensFor(1, 7)])])));
    assert.equal(numberPoints(out.received[1]).length, 2, 'u0 tracked, u7 overflows');
    clock.now = 65_000;
    await p.consume(request(resourceMetrics([deltaSum(TOKENS, tokensFor(1, 7))])));
    assert.deepEqual(plain(numberPoints(out.received[2])[0]?.attributes ?? []), {
      'gen_ai.request.model': 'gpt-4o',
      'user.id': 'u7',
    });
    assert.equal(p.limiter.stats.expired, 1, 'u1 idled out');
  });

  test('sweep() forgets idle series when no points arrive, and the series gauge follows', async () => {
    const { p, set, clock } = setup({
      series_ttl: '1m',
      attribute_value_caps: [{ key: 'user.id', max_values: 5 }],
    });
    await p.consume(request(resourceMetrics([deltaSum(TOKENS, tokensFor(3))])));
    assert.equal(await selfMetric(set, 'llmobs_cardinality_series', {}), 3);
    clock.now = 120_000;
    p.sweep();
    assert.equal(p.limiter.size, 0);
    assert.equal(p.caps.size, 0);
    assert.equal(await selfMetric(set, 'llmobs_cardinality_series', {}), 0);
  });

  test('works on protobuf-decoded requests (Long values) and the result encodes as valid OTLP', async () => {
    const { p, out } = setup({ max_series_per_metric: 1 });
    const wire = encodeRequest(
      'metrics',
      request(
        resourceMetrics([
          deltaSum(TOKENS, tokensFor(3)),
          histogram('d', [
            histogramPoint({ u: 'a' }, [1], [1, 2]),
            histogramPoint({ u: 'b' }, [3, 1.5], [1, 2]),
          ]),
        ]),
      ),
      'protobuf',
    );
    await p.consume(decodeRequest('metrics', wire, 'protobuf'));
    const back = decodeRequest(
      'metrics',
      encodeRequest('metrics', out.received[0] as MetricsRequest, 'protobuf'),
      'protobuf',
    );
    assert.deepEqual(
      numberPoints(back).map((pt) => [plain(pt.attributes)['user.id'] ?? 'overflow', numberValue(pt)]),
      [
        ['u0', 1],
        ['overflow', 5],
      ],
    );
    const h = onlyMetric(back, 'd')?.histogram?.dataPoints[1];
    assert.deepEqual(plain(h?.attributes ?? []), OVERFLOW);
    assert.equal(int64ToNumber(h?.count), 2);
    assert.deepEqual(h?.bucketCounts.map(int64ToNumber), [0, 1, 1]);
  });

  test('is created for metrics only', () => {
    assert.throws(
      () => new CardinalityLimitProcessor(settings(), compile(), 'traces', sink() as never),
      /handles metrics, not traces/,
    );
  });
});
