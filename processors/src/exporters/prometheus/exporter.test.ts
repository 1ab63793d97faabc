import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { afterEach, describe, mock, test } from 'node:test';
import { decodeRequest } from '../../otlp/codec.ts';
import type { MetricsRequest } from '../../otlp/model.ts';
import { sweepIntervalMs } from './exporter.ts';
import {
  at,
  expHistogram,
  exporterFor,
  expPoint,
  gauge,
  histogram,
  histogramPoint,
  numberPoint,
  request,
  sampleValue,
  sum,
  summary,
} from './testkit.ts';

/** Requests without resource or scope, so that samples read `name{point labels}`. */
const bare = { resource: {}, scope: { name: '' } } as const;

describe('temporality', () => {
  test('sums delta counters into running totals', async () => {
    const e = exporterFor();
    e.push(request([sum('llm.calls', [numberPoint(5, { start: 0, time: 10 })], { delta: true })], bare));
    e.push(request([sum('llm.calls', [numberPoint(3, { start: 10, time: 20 })], { delta: true })], bare));
    assert.deepEqual(e.samples(), ['llm_calls_total 8']);
    // A gap (a restarted producer, or a batch lost upstream) still adds: the counter stays monotonic.
    e.push(request([sum('llm.calls', [numberPoint(2, { start: 30, time: 40 })], { delta: true })], bare));
    assert.deepEqual(e.samples(), ['llm_calls_total 10']);
    assert.equal(await e.sent(), 3);
    assert.equal(await e.dropped(), 0);
  });

  test('sums delta histograms into running buckets', () => {
    const e = exporterFor();
    const point = (start: number, counts: number[], s: number) =>
      histogramPoint({ bounds: [1, 5], counts, sum: s, start, time: start + 10 });
    e.push(request([histogram('latency', [point(0, [1, 0, 2], 10)], { delta: true, unit: 's' })], bare));
    e.push(request([histogram('latency', [point(10, [0, 3, 1], 8)], { delta: true, unit: 's' })], bare));
    assert.deepEqual(e.samples(), [
      'latency_seconds_bucket{le="1"} 1',
      'latency_seconds_bucket{le="5"} 4',
      'latency_seconds_bucket{le="+Inf"} 7',
      'latency_seconds_sum 18',
      'latency_seconds_count 7',
    ]);
  });

  test('starts a delta histogram over when its bucket bounds change', () => {
    const e = exporterFor();
    e.push(
      request(
        [histogram('h', [histogramPoint({ bounds: [1], counts: [1, 1], time: 1 })], { delta: true })],
        bare,
      ),
    );
    e.push(
      request(
        [histogram('h', [histogramPoint({ bounds: [2], counts: [0, 1], time: 2 })], { delta: true })],
        bare,
      ),
    );
    assert.deepEqual(e.samples(), ['h_bucket{le="2"} 0', 'h_bucket{le="+Inf"} 1', 'h_count 1']);
  });

  test('sums delta exponential histograms and serves them as classic buckets', () => {
    const e = exporterFor();
    const m = (p: Parameters<typeof expPoint>[0]) =>
      request([expHistogram('size', [expPoint(p)], { delta: true, unit: 'By' })], bare);
    e.push(m({ scale: 0, positive: { offset: 0, counts: [1, 1] }, zeroCount: 1, sum: 5, start: 0, time: 1 }));
    e.push(m({ scale: 1, positive: { offset: 2, counts: [2] }, sum: 7, start: 1, time: 2 }));
    // scale 1 index 2 is (2, 2.83] which is inside scale 0 index 1, (2, 4]
    assert.deepEqual(e.samples(), [
      'size_bytes_bucket{le="0"} 1',
      'size_bytes_bucket{le="2"} 2',
      'size_bytes_bucket{le="4"} 5',
      'size_bytes_bucket{le="+Inf"} 5',
      'size_bytes_sum 12',
      'size_bytes_count 5',
    ]);
  });

  test('accumulates delta non-monotonic sums into a gauge (the Collector drops them)', () => {
    const e = exporterFor();
    e.push(
      request([sum('queue.depth', [numberPoint(5, { time: 1 })], { delta: true, monotonic: false })], bare),
    );
    e.push(
      request(
        [sum('queue.depth', [numberPoint(-2, { start: 1, time: 2 })], { delta: true, monotonic: false })],
        bare,
      ),
    );
    assert.equal(sampleValue(e.samples(), 'queue_depth'), 3);
    assert.match(e.exporter.exposition(), /# TYPE queue_depth gauge/);
  });

  test('drops a delta point sent twice (same start and time) and counts it', async () => {
    const e = exporterFor();
    const req = () =>
      request([sum('calls', [numberPoint(4, { start: 0, time: 10 })], { delta: true })], bare);
    e.push(req());
    e.push(req());
    assert.deepEqual(e.samples(), ['calls_total 4']);
    assert.equal(await e.dropped(), 1);
  });

  test('keeps cumulative values as sent and refuses points older than the one shown', async () => {
    const e = exporterFor();
    e.push(request([sum('calls', [numberPoint(10, { time: 2 })])], bare));
    e.push(request([sum('calls', [numberPoint(7, { time: 1 })])], bare));
    assert.deepEqual(e.samples(), ['calls_total 10']);
    assert.equal(await e.dropped(), 1);
    e.push(request([sum('calls', [numberPoint(3, { time: 3 })])], bare));
    assert.deepEqual(e.samples(), ['calls_total 3'], 'a lower cumulative value is a reset, served as sent');
  });

  test('keeps the latest gauge and summary', () => {
    const e = exporterFor();
    e.push(request([gauge('temp', [numberPoint(1.5, { time: 1 })])], bare));
    e.push(request([gauge('temp', [numberPoint(2.5, { time: 2 })])], bare));
    e.push(request([summary('rpc', [{ quantiles: [[0.5, 1]], count: 1, sum: 1 }])], bare));
    e.push(request([summary('rpc', [{ quantiles: [[0.5, 3]], count: 2, sum: 4 }])], bare));
    assert.deepEqual(e.samples(), ['rpc{quantile="0.5"} 3', 'rpc_sum 4', 'rpc_count 2', 'temp 2.5']);
  });

  test('removes a series on a point flagged "no recorded value"', () => {
    const e = exporterFor();
    e.push(
      request(
        [
          gauge('g', [
            numberPoint(1, { attributes: { k: 'a' } }),
            numberPoint(2, { attributes: { k: 'b' } }),
          ]),
        ],
        bare,
      ),
    );
    e.push(
      request([gauge('g', [numberPoint(undefined, { attributes: { k: 'a' }, flags: 1, time: 2 })])], bare),
    );
    assert.deepEqual(e.samples(), ['g{k="b"} 2']);
  });
});

describe('expiration', () => {
  afterEach(() => mock.timers.reset());

  test('expires series not updated within metric_expiration, on scrape and on a timer', async () => {
    mock.timers.enable({ apis: ['Date', 'setInterval'], now: 1_000_000 });
    const e = exporterFor({ metric_expiration: '1m' });
    await e.exporter.start();
    try {
      e.push(request([gauge('old', [numberPoint(1)]), gauge('kept', [numberPoint(1)])], bare));
      mock.timers.tick(50_000);
      e.push(request([gauge('kept', [numberPoint(2, { time: 2 })])], bare));
      mock.timers.tick(10_001);
      assert.deepEqual(e.samples(), ['kept 2'], 'old went at 60 s; kept was refreshed at 50 s');
      mock.timers.tick(60_000);
      assert.equal(e.exporter.store.seriesCount, 0, 'the timer sweeps without any scrape');
      assert.deepEqual(e.samples(), []);
    } finally {
      await e.exporter.shutdown();
    }
  });

  test('sweeps every quarter of metric_expiration, between 1 s and 1 min', () => {
    assert.equal(sweepIntervalMs(300_000), 60_000);
    assert.equal(sweepIntervalMs(60_000), 15_000);
    assert.equal(sweepIntervalMs(100), 1_000);
  });

  test('frees an expired family name for a metric of another type', async () => {
    mock.timers.enable({ apis: ['Date'], now: 1_000_000 });
    const e = exporterFor({ metric_expiration: '10s' });
    e.push(request([gauge('x', [numberPoint(1)])], bare));
    e.push(request([histogram('x', [histogramPoint({ bounds: [], counts: [], count: 2 })])], bare));
    assert.equal(await e.dropped(), 1, 'x is a gauge while it lives');
    mock.timers.tick(10_001);
    e.push(request([histogram('x', [histogramPoint({ bounds: [], counts: [], count: 2 })])], bare));
    assert.deepEqual(e.samples(), ['x_bucket{le="+Inf"} 2', 'x_count 2']);
  });
});

describe('conflicts and invalid points', () => {
  test('keeps the first type for a name and counts the conflicting points as invalid', async () => {
    const e = exporterFor();
    e.push(request([gauge('tokens', [numberPoint(1)])], bare));
    e.push(
      request(
        [
          histogram('tokens', [
            histogramPoint({ bounds: [1], counts: [1, 0] }),
            histogramPoint({ bounds: [1], counts: [0, 1], attributes: { a: 'b' } }),
          ]),
          sum('tokens', [numberPoint(3)], { monotonic: false }),
        ],
        bare,
      ),
    );
    assert.deepEqual(
      e.samples(),
      ['tokens 3'],
      'the non-monotonic sum is a gauge too, and replaces the value',
    );
    assert.equal(await e.dropped(), 2);
    assert.equal(await e.sent(), 2);
  });

  test('refuses a metric whose samples another family already writes', async () => {
    const e = exporterFor();
    e.push(request([histogram('rpc', [histogramPoint({ bounds: [1], counts: [1, 0] })])], bare));
    e.push(request([gauge('rpc_count', [numberPoint(99)]), gauge('target_info', [numberPoint(99)])], bare));
    assert.equal(await e.dropped(), 2);
    assert.ok(!e.samples().some((l) => l.endsWith(' 99')));
  });

  test('counts every data point it cannot represent as dropped (invalid)', async () => {
    const e = exporterFor();
    e.push(
      request(
        [
          gauge('no.value', [numberPoint(undefined)]),
          sum('no.temporality', [numberPoint(1), numberPoint(2)], { temporality: 0 }),
          histogram('short.buckets', [histogramPoint({ bounds: [1, 2], counts: [1, 1] })]),
          histogram('unsorted.bounds', [histogramPoint({ bounds: [2, 1], counts: [1, 1, 1] })]),
          histogram('nan.bound', [histogramPoint({ bounds: [Number.NaN], counts: [1, 1] })]),
          histogram('bad.count', [histogramPoint({ bounds: [1], counts: [1, 1], count: 5 })]),
          expHistogram('bad.scale', [expPoint({ scale: 21 })]),
          expHistogram('bad.exp.count', [expPoint({ scale: 0, zeroCount: 1, count: 3 })]),
          summary('bad.quantile', [{ quantiles: [[1.5, 1]], count: 1, sum: 1 }]),
          gauge('@@@', [numberPoint(1)]),
          gauge('fine', [numberPoint(1)]),
        ],
        bare,
      ),
    );
    assert.deepEqual(e.samples(), ['fine 1']);
    assert.equal(await e.dropped(), 11);
    assert.equal(await e.sent(), 1);
  });

  test('a count-only histogram (no buckets) is served with its +Inf bucket', () => {
    const e = exporterFor();
    e.push(
      request([histogram('h', [histogramPoint({ bounds: [1, 2], counts: [], count: 4, sum: 2 })])], bare),
    );
    assert.deepEqual(e.samples(), ['h_bucket{le="+Inf"} 4', 'h_sum 2', 'h_count 4']);
  });
});

describe('prepare, commit, release', () => {
  test('release discards the update; commit applies it once', async () => {
    const e = exporterFor();
    const req = () => request([sum('calls', [numberPoint(5, { start: 0, time: 1 })], { delta: true })], bare);
    const released = e.prepare(req());
    released.release();
    released.commit();
    assert.deepEqual(e.samples(), [], 'nothing of a released request is served');
    assert.equal(await e.sent(), 0);

    const r = e.prepare(req());
    assert.deepEqual(e.samples(), [], 'prepare alone changes nothing');
    r.commit();
    r.commit();
    assert.deepEqual(e.samples(), ['calls_total 5']);
    assert.equal(await e.sent(), 1);
  });

  test('drops and counts a request it cannot even translate, instead of failing the pipeline', async () => {
    const e = exporterFor();
    const broken = {
      resourceMetrics: [{ scopeMetrics: [{ metrics: [{ name: 'x', gauge: { dataPoints: [null] } }] }] }],
    };
    const r = e.prepare(broken as unknown as MetricsRequest);
    r.commit();
    assert.equal(await e.dropped(), 1);
    assert.deepEqual(e.samples(), []);
  });

  test('applies deltas on commit, so two prepared requests both count whatever the order', () => {
    const e = exporterFor();
    const first = e.prepare(
      request([sum('c', [numberPoint(5, { start: 0, time: 1 })], { delta: true })], bare),
    );
    const second = e.prepare(
      request([sum('c', [numberPoint(3, { start: 1, time: 2 })], { delta: true })], bare),
    );
    second.commit();
    first.commit();
    assert.deepEqual(e.samples(), ['c_total 8']);
  });
});

describe('labels', () => {
  test('maps service attributes to job and instance and the other resource attributes to target_info', () => {
    const e = exporterFor();
    e.push(
      request([gauge('g', [numberPoint(1)])], {
        resource: {
          'service.namespace': 'shop',
          'service.name': 'chat',
          'service.instance.id': 'pod-1',
          'k8s.pod.name': 'chat-7d9',
        },
        scope: { name: '' },
      }),
    );
    assert.deepEqual(e.samples(), [
      'g{instance="pod-1",job="shop/chat"} 1',
      'target_info{instance="pod-1",job="shop/chat",k8s_pod_name="chat-7d9"} 1',
    ]);
  });

  test('writes no target_info for an empty resource, one per distinct resource otherwise', () => {
    const e = exporterFor();
    e.push(request([gauge('g', [numberPoint(1)])], bare));
    assert.ok(!e.exporter.exposition().includes('target_info'));
    e.push(
      request([gauge('g', [numberPoint(1, { attributes: { r: '1' } })])], {
        resource: { 'service.name': 'a' },
        scope: { name: '' },
      }),
    );
    e.push(
      request([gauge('g', [numberPoint(1, { attributes: { r: '2' } })])], {
        resource: { 'service.name': 'b' },
        scope: { name: '' },
      }),
    );
    assert.deepEqual(
      e.samples().filter((l) => l.startsWith('target_info')),
      ['target_info{job="a"} 1', 'target_info{job="b"} 1'],
    );
  });

  test('adds otel_scope_* labels (name, version, schema url, attributes) unless without_scope_info', () => {
    const opts = {
      resource: {},
      scope: { name: 'openai', version: '1.2', attributes: { 'lib.flavour': 'sync' } },
      schemaUrl: 'https://opentelemetry.io/schemas/1.26.0',
    };
    const e = exporterFor();
    e.push(request([gauge('g', [numberPoint(1)])], opts));
    assert.deepEqual(e.samples(), [
      'g{otel_scope_lib_flavour="sync",otel_scope_name="openai",otel_scope_schema_url="https://opentelemetry.io/schemas/1.26.0",otel_scope_version="1.2"} 1',
    ]);
    const without = exporterFor({ without_scope_info: true });
    without.push(request([gauge('g', [numberPoint(1)])], opts));
    assert.deepEqual(without.samples(), ['g 1']);
  });

  test('copies resource attributes to labels with resource_to_telemetry_conversion', () => {
    const resource = {
      'service.name': 'chat',
      'k8s.namespace.name': 'llm',
      'deployment.environment': 'prod',
    };
    const on = exporterFor({ resource_to_telemetry_conversion: { enabled: true } });
    on.push(
      request([gauge('g', [numberPoint(1, { attributes: { 'k8s.namespace.name': 'from-point' } })])], {
        resource,
        scope: { name: '' },
      }),
    );
    assert.equal(
      on.samples()[0],
      'g{deployment_environment="prod",job="chat",k8s_namespace_name="from-point",service_name="chat"} 1',
      'a point attribute wins over a resource attribute of the same name',
    );
    const excluding = exporterFor({
      resource_to_telemetry_conversion: { enabled: true, exclude_service_attributes: true },
    });
    excluding.push(request([gauge('g', [numberPoint(1)])], { resource, scope: { name: '' } }));
    assert.equal(
      excluding.samples()[0],
      'g{deployment_environment="prod",job="chat",k8s_namespace_name="llm"} 1',
    );
  });

  test('joins attributes that collide after sanitising with ";" in the order of their keys', () => {
    const e = exporterFor();
    e.push(
      request(
        [gauge('g', [numberPoint(1, { attributes: { a_b: 'second', 'a.b': 'first', 'a-b': 'zeroth' } })])],
        bare,
      ),
    );
    assert.deepEqual(e.samples(), ['g{a_b="zeroth;first;second"} 1']);
  });

  test('const_labels win over attributes; le and quantile stay the exporter’s own', () => {
    const e = exporterFor({ const_labels: { env: 'prod', 'team.name': 'ml' } });
    e.push(
      request(
        [
          gauge('g', [numberPoint(1, { attributes: { env: 'dev', job: 'spoofed' } })]),
          histogram('h', [histogramPoint({ bounds: [1], counts: [1, 0], attributes: { le: 'x' } })]),
          summary('s', [{ quantiles: [[0.5, 1]], count: 1, sum: 1, attributes: { quantile: 'x' } }]),
        ],
        { resource: { 'service.name': 'chat' }, scope: { name: '' } },
      ),
    );
    const lines = e.samples();
    assert.ok(lines.includes('g{env="prod",job="chat",team_name="ml"} 1'), lines.join('\n'));
    assert.ok(lines.includes('h_bucket{env="prod",job="chat",team_name="ml",le="1"} 1'), lines.join('\n'));
    assert.ok(lines.includes('s{env="prod",job="chat",team_name="ml",quantile="0.5"} 1'), lines.join('\n'));
    assert.ok(
      lines.includes('target_info{job="chat"} 1'),
      'target_info has no const labels, as in the Collector',
    );
  });

  test('prefixes metric names and target_info with the namespace', () => {
    const e = exporterFor({ namespace: 'llm' });
    e.push(
      request([sum('calls', [numberPoint(1)])], {
        resource: { 'service.name': 'chat' },
        scope: { name: '' },
      }),
    );
    assert.deepEqual(e.samples(), ['llm_calls_total{job="chat"} 1', 'llm_target_info{job="chat"} 1']);
  });

  test('add_metric_suffixes: false keeps the names as written, escaped', () => {
    const e = exporterFor({ add_metric_suffixes: false });
    e.push(
      request(
        [
          sum('gen_ai.client.calls', [numberPoint(1)], { unit: 's' }),
          gauge('ratio.g', [numberPoint(1)], { unit: '1' }),
        ],
        bare,
      ),
    );
    assert.deepEqual(e.samples(), ['gen_ai_client_calls 1', 'ratio_g 1']);
  });

  test('reads what protobufjs decodes: Long integers, unset oneof fields left on the prototype', () => {
    const json = JSON.stringify({
      resourceMetrics: [
        {
          resource: { attributes: [{ key: 'service.name', value: { stringValue: 'chat' } }] },
          scopeMetrics: [
            {
              scope: { name: 'openai' },
              metrics: [
                {
                  name: 'g',
                  gauge: { dataPoints: [{ asInt: '9007199254740993', timeUnixNano: '1700000000000000000' }] },
                },
                { name: 'd', gauge: { dataPoints: [{ asDouble: 0 }] } },
                {
                  name: 'tokens',
                  sum: {
                    aggregationTemporality: 1,
                    isMonotonic: true,
                    dataPoints: [{ asInt: '7', attributes: [{ key: 'n', value: { intValue: '-3' } }] }],
                  },
                },
              ],
            },
          ],
        },
      ],
    });
    const e = exporterFor();
    e.push(decodeRequest('metrics', new TextEncoder().encode(json), 'json'));
    assert.deepEqual(e.samples(), [
      'd{job="chat",otel_scope_name="openai"} 0',
      'g{job="chat",otel_scope_name="openai"} 9.007199254740992e+15',
      'target_info{job="chat"} 1',
      'tokens_total{job="chat",n="-3",otel_scope_name="openai"} 7',
    ]);
  });

  test('at(): test timestamps are exact fixed64 values', () => {
    assert.equal(at(1).toString(), '1700000001000000000');
  });
});

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => resolve(port));
    });
  });
}

describe('HTTP', () => {
  test('serves GET /metrics in text format 0.0.4 (gzip when asked), 404 elsewhere, 405 for other methods', async () => {
    const e = exporterFor();
    e.push(request([gauge('g', [numberPoint(1)])], bare));
    await e.exporter.start();
    try {
      const base = `http://127.0.0.1:${e.exporter.address?.port}`;
      const plain = await fetch(`${base}/metrics`, { headers: { 'accept-encoding': 'identity' } });
      assert.equal(plain.status, 200);
      assert.equal(plain.headers.get('content-type'), 'text/plain; version=0.0.4; charset=utf-8');
      assert.equal(plain.headers.get('content-encoding'), null);
      assert.equal(await plain.text(), '# TYPE g gauge\ng 1\n');
      const zipped = await fetch(`${base}/metrics?x=1`, { headers: { 'accept-encoding': 'gzip' } });
      assert.equal(zipped.headers.get('content-encoding'), 'gzip');
      assert.equal(await zipped.text(), '# TYPE g gauge\ng 1\n', 'fetch unzips it');
      assert.equal((await fetch(`${base}/`)).status, 404);
      assert.equal((await fetch(`${base}/metrics`, { method: 'POST' })).status, 405);
      const head = await fetch(`${base}/metrics`, { method: 'HEAD' });
      assert.equal(head.status, 200);
    } finally {
      await e.exporter.shutdown();
    }
  });

  test('a restarted exporter with the same id and settings takes over the endpoint and keeps the series', async () => {
    const port = await freePort();
    const old = exporterFor({ endpoint: `127.0.0.1:${port}` });
    await old.exporter.start();
    old.push(request([sum('c', [numberPoint(5, { start: 0, time: 1 })], { delta: true })], bare));
    // A reload: the new instance starts before the old one shuts down.
    const fresh = exporterFor({ endpoint: `127.0.0.1:${port}` });
    await fresh.exporter.start();
    fresh.push(request([sum('c', [numberPoint(2, { start: 1, time: 2 })], { delta: true })], bare));
    const url = `http://127.0.0.1:${port}/metrics`;
    assert.match(await (await fetch(url)).text(), /^c_total 7$/m, 'the running total carried over');
    await old.exporter.shutdown();
    assert.match(await (await fetch(url)).text(), /^c_total 7$/m, 'still served after the old one left');
    await fresh.exporter.shutdown();
    await assert.rejects(fetch(url), 'the port is closed once the last holder leaves');
  });

  test('a restarted exporter with other settings starts from an empty state', async () => {
    const port = await freePort();
    const old = exporterFor({ endpoint: `127.0.0.1:${port}` });
    await old.exporter.start();
    old.push(request([gauge('g', [numberPoint(1)])], bare));
    const fresh = exporterFor({ endpoint: `127.0.0.1:${port}`, namespace: 'ns' });
    await fresh.exporter.start();
    try {
      assert.equal(await (await fetch(`http://127.0.0.1:${port}/metrics`)).text(), '');
    } finally {
      await fresh.exporter.shutdown();
      await old.exporter.shutdown();
    }
  });

  test('another exporter id on the same endpoint, or a port in use, fails start with a clear message', async () => {
    const port = await freePort();
    const first = exporterFor({ endpoint: `127.0.0.1:${port}` }, 'prometheus/a');
    await first.exporter.start();
    try {
      const second = exporterFor({ endpoint: `127.0.0.1:${port}` }, 'prometheus/b');
      await assert.rejects(second.exporter.start(), {
        message: `prometheus/b cannot listen on 127.0.0.1:${port}: exporter prometheus/a already serves there`,
      });
      const taken = createServer();
      await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
      const takenPort = (taken.address() as { port: number }).port;
      const third = exporterFor({ endpoint: `127.0.0.1:${takenPort}` });
      await assert.rejects(
        third.exporter.start(),
        new RegExp(`prometheus cannot listen on 127.0.0.1:${takenPort}: .*EADDRINUSE`),
      );
      taken.close();
    } finally {
      await first.exporter.shutdown();
    }
  });
});
