import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { int64ToNumber } from '../../metrics/cardinality/int64.ts';
import { seriesKey } from '../../metrics/cardinality/series-key.ts';
import type { HistogramDataPoint, Metric, MetricsRequest, NumberDataPoint } from '../../otlp/model.ts';
import { at, deltaSum, histogram, numberValue, request, resourceMetrics, setup } from './testkit.ts';

const TOKENS = 'gen_ai.client.token.usage.total';
const DURATION = 'gen_ai.client.operation.duration';
const MODELS = ['gpt-4o', 'claude-sonnet-4', 'gemini-2.5-pro'];
const BOUNDS = [5, 10, 25, 50, 75, 100, 250, 500, 750, 1000, 2500, 5000, 7500, 10000];
const T = at(0);
const START = at(-60);

/** What came out, summed over every request. */
class Totals {
  tokens = 0;
  count = 0;
  sum = 0;
  readonly buckets = new Array<number>(BOUNDS.length + 1).fill(0);
  /** Distinct attribute sets emitted per metric, over the whole storm. */
  readonly series = new Map<string, Set<string>>();
  /** Most points (series) of one metric in one request. */
  maxPerRequest = 0;

  add(req: MetricsRequest): void {
    for (const rm of req.resourceMetrics)
      for (const sm of rm.scopeMetrics)
        for (const m of sm.metrics) {
          const pts = (m.sum ?? m.histogram)?.dataPoints ?? [];
          this.maxPerRequest = Math.max(this.maxPerRequest, pts.length);
          const seen = this.series.get(m.name ?? '') ?? new Set<string>();
          this.series.set(m.name ?? '', seen);
          for (const p of pts) seen.add(seriesKey(p.attributes));
          if (m.sum) for (const p of m.sum.dataPoints) this.tokens += numberValue(p);
          if (m.histogram)
            for (const p of m.histogram.dataPoints) {
              this.count += int64ToNumber(p.count);
              this.sum += p.sum ?? 0;
              p.bucketCounts.forEach((c, i) => {
                this.buckets[i] = (this.buckets[i] ?? 0) + int64ToNumber(c);
              });
            }
        }
  }
}

/** One batch of the storm: every point a new user; integer values so sums compare exactly. */
function batch(first: number, size: number, inputs: Totals, users: (i: number) => string): MetricsRequest {
  const tokens: NumberDataPoint[] = new Array(size);
  const durations: HistogramDataPoint[] = new Array(size);
  for (let k = 0; k < size; k++) {
    const i = first + k;
    const model = MODELS[i % MODELS.length] as string;
    const user = users(i);
    const used = (i % 997) + 1;
    const ms = (i * 7919) % 12_000;
    inputs.tokens += used;
    inputs.count += 1;
    inputs.sum += ms;
    const counts = new Array<number>(BOUNDS.length + 1).fill(0);
    let b = BOUNDS.findIndex((x) => ms <= x);
    if (b === -1) b = BOUNDS.length;
    counts[b] = 1;
    inputs.buckets[b] = (inputs.buckets[b] ?? 0) + 1;
    tokens[k] = {
      attributes: [
        { key: 'gen_ai.request.model', value: { stringValue: model } },
        { key: 'user.id', value: { stringValue: user } },
      ],
      startTimeUnixNano: START,
      timeUnixNano: T,
      asInt: used,
      exemplars: [],
    };
    durations[k] = {
      attributes: [
        { key: 'gen_ai.request.model', value: { stringValue: model } },
        { key: 'user.id', value: { stringValue: user } },
      ],
      startTimeUnixNano: START,
      timeUnixNano: T,
      count: 1,
      sum: ms,
      min: ms,
      max: ms,
      bucketCounts: counts,
      explicitBounds: BOUNDS,
      exemplars: [],
    };
  }
  const metrics: Metric[] = [deltaSum(TOKENS, tokens), histogram(DURATION, durations)];
  return request(resourceMetrics(metrics, { 'service.name': 'chat-api', 'k8s.pod.name': 'chat-api-7d9f' }));
}

function assertSameTotals(outputs: Totals, inputs: Totals): void {
  assert.equal(outputs.tokens, inputs.tokens, 'sum of every emitted token count = sum of inputs');
  assert.equal(outputs.count, inputs.count, 'histogram counts');
  assert.equal(outputs.sum, inputs.sum, 'histogram sums');
  assert.deepEqual(outputs.buckets, inputs.buckets, 'histogram bucket counts');
}

describe('a storm of distinct user.id values', () => {
  test('1,000,000 users in batches of 10,000: ≤ limit+1 series per metric, exact totals, bounded state', async () => {
    const { p, out, clock } = setup();
    const limit = 2000;
    const inputs = new Totals();
    const outputs = new Totals();
    let maxTracked = 0;
    for (let first = 0; first < 1_000_000; first += 10_000) {
      clock.now = first / 10; // 100 s in all, well within the 10 min TTL
      await p.consume(batch(first, 10_000, inputs, (i) => `user-${i}`));
      outputs.add(out.received.pop() as MetricsRequest);
      maxTracked = Math.max(maxTracked, p.limiter.size);
    }
    assert.ok(
      outputs.maxPerRequest <= limit + 1,
      `max points per metric per request ${outputs.maxPerRequest}`,
    );
    assert.equal(outputs.series.get(TOKENS)?.size, limit + 1, 'over the whole storm');
    assert.equal(outputs.series.get(DURATION)?.size, limit + 1);
    assertSameTotals(outputs, inputs);
    assert.equal(maxTracked, 2 * limit, 'tracked sets never exceed the limit per metric');
    assert.equal(p.limiter.metricCount, 2);
    assert.equal(p.limiter.stats.refused, 2 * (1_000_000 - limit));
  });

  test('with a value cap and users churning past the TTL: __other__ absorbs the rest, state stays bounded', async () => {
    const { p, out, clock } = setup({
      series_ttl: '1m',
      max_series_per_metric: 250,
      attribute_value_caps: [{ key: 'user.id', max_values: 100 }],
    });
    const inputs = new Totals();
    const outputs = new Totals();
    let last: MetricsRequest | undefined;
    for (let first = 0; first < 300_000; first += 5_000) {
      clock.now = first * 2; // 10 s per batch: 10 min in all, the TTL turns over ten times
      // Half the points come from 50 steady users, half from a storm of new ones.
      await p.consume(batch(first, 5_000, inputs, (i) => (i % 2 === 0 ? `steady-${i % 100}` : `storm-${i}`)));
      last = out.received.pop() as MetricsRequest;
      outputs.add(last);
      assert.ok(p.caps.size <= 100, `capped values tracked: ${p.caps.size}`);
      assert.ok(p.limiter.seriesOf(TOKENS) <= 250);
    }
    assertSameTotals(outputs, inputs);
    // 100 user values (steady ones among them) + __other__, times 3 models, at most, in any request.
    assert.ok(outputs.maxPerRequest <= 101 * 3, `max points per metric per request ${outputs.maxPerRequest}`);
    assert.ok(p.limiter.stats.expired > 0, 'idle sets were forgotten');
    // First come, first kept: the steady users took their slots at once and kept them throughout.
    const users = new Set(
      (last?.resourceMetrics[0]?.scopeMetrics[0]?.metrics[0]?.sum?.dataPoints ?? []).map(
        (pt) => pt.attributes.find((a) => a.key === 'user.id')?.value?.stringValue,
      ),
    );
    for (let u = 0; u < 100; u += 2) assert.ok(users.has(`steady-${u}`), `steady-${u}`);
    assert.ok(users.has('__other__'));
  });
});
