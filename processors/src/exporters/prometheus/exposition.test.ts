import assert from 'node:assert/strict';
import { test } from 'node:test';
import { escapeHelp, escapeLabelValue, labelBody } from './exposition.ts';
import {
  attrs,
  exporterFor,
  gauge,
  histogram,
  histogramPoint,
  numberPoint,
  request,
  sum,
  summary,
  T0,
} from './testkit.ts';

test('escapes quotes, backslashes and newlines in label values', () => {
  assert.equal(escapeLabelValue('plain'), 'plain');
  assert.equal(escapeLabelValue('say "hi"'), 'say \\"hi\\"');
  assert.equal(escapeLabelValue('C:\\path\\n'), 'C:\\\\path\\\\n');
  assert.equal(escapeLabelValue('two\nlines'), 'two\\nlines');
  assert.equal(escapeLabelValue('\\"\n'), '\\\\\\"\\n');
  assert.equal(
    escapeLabelValue('tab\tand ünïcode ✓'),
    'tab\tand ünïcode ✓',
    'other characters stay as they are',
  );
});

test('escapes backslashes and newlines in HELP, not quotes', () => {
  assert.equal(escapeHelp('Tokens "used"\nper call \\ model'), 'Tokens "used"\\nper call \\\\ model');
});

test('writes label pairs sorted by name, without empty values', () => {
  assert.equal(
    labelBody([
      ['b', '2'],
      ['a', '1'],
      ['empty', ''],
      ['B', 'upper first'],
    ]),
    'B="upper first",a="1",b="2"',
  );
  assert.equal(labelBody([]), '');
});

test('serves escaped label values end to end', () => {
  const e = exporterFor();
  e.push(
    request([gauge('g', [numberPoint(1, { attributes: { prompt: 'say "hi"\nthen \\ bye' } })])], {
      resource: {},
    }),
  );
  assert.deepEqual(e.samples(), ['g{otel_scope_name="llm",prompt="say \\"hi\\"\\nthen \\\\ bye"} 1']);
});

test('writes the whole exposition deterministically: families by name, series by labels, HELP and TYPE', () => {
  const e = exporterFor();
  const metrics = [
    gauge(
      'zeta.level',
      [numberPoint(2, { attributes: { b: 'y' } }), numberPoint(1, { attributes: { b: 'x' } })],
      {
        description: 'Last one',
      },
    ),
    sum('alpha.calls', [numberPoint(3)], { description: 'Calls' }),
    histogram(
      'mid.latency',
      [histogramPoint({ bounds: [0.1, 1], counts: [1, 2, 3], sum: 4.5, attributes: { route: '/chat' } })],
      { unit: 's', description: 'Latency\nin seconds' },
    ),
    summary('rpc.duration', [
      {
        quantiles: [
          [0.99, 9],
          [0.5, 5],
        ],
        count: 10,
        sum: 55,
      },
    ]),
  ];
  e.push(
    request(metrics, {
      resource: { 'service.name': 'chat', 'service.instance.id': 'pod-1', 'host.name': 'n1' },
    }),
  );
  const base = 'instance="pod-1",job="chat",otel_scope_name="llm"';
  const want = [
    '# HELP alpha_calls_total Calls',
    '# TYPE alpha_calls_total counter',
    `alpha_calls_total{${base}} 3`,
    '# HELP mid_latency_seconds Latency\\nin seconds',
    '# TYPE mid_latency_seconds histogram',
    `mid_latency_seconds_bucket{${base},route="/chat",le="0.1"} 1`,
    `mid_latency_seconds_bucket{${base},route="/chat",le="1"} 3`,
    `mid_latency_seconds_bucket{${base},route="/chat",le="+Inf"} 6`,
    `mid_latency_seconds_sum{${base},route="/chat"} 4.5`,
    `mid_latency_seconds_count{${base},route="/chat"} 6`,
    '# TYPE rpc_duration summary',
    `rpc_duration{${base},quantile="0.5"} 5`,
    `rpc_duration{${base},quantile="0.99"} 9`,
    `rpc_duration_sum{${base}} 55`,
    `rpc_duration_count{${base}} 10`,
    '# HELP target_info Target metadata',
    '# TYPE target_info gauge',
    'target_info{host_name="n1",instance="pod-1",job="chat"} 1',
    '# HELP zeta_level Last one',
    '# TYPE zeta_level gauge',
    `zeta_level{b="x",${base}} 1`,
    `zeta_level{b="y",${base}} 2`,
    '',
  ].join('\n');
  assert.equal(e.exporter.exposition(), want);
  // A second, identical request changes nothing in the output.
  e.push(
    request(metrics, {
      resource: { 'service.name': 'chat', 'service.instance.id': 'pod-1', 'host.name': 'n1' },
    }),
  );
  assert.equal(e.exporter.exposition(), want);
});

test('leaves _sum out of a histogram whose points carry no sum', () => {
  const e = exporterFor();
  e.push(request([histogram('h', [histogramPoint({ bounds: [1], counts: [1, 1] })])], { resource: {} }));
  assert.deepEqual(
    e.samples().map((l) => l.replace(/\{.*\}/, '')),
    ['h_bucket 1', 'h_bucket 2', 'h_count 2'],
  );
});

test('appends sample timestamps in ms with send_timestamps', () => {
  const e = exporterFor({ send_timestamps: true });
  e.push(request([gauge('g', [numberPoint(1, { time: 2.5 })])], { resource: {} }));
  const ms = (T0 + 2_500_000_000n) / 1_000_000n;
  assert.deepEqual(e.samples(), [`g{otel_scope_name="llm"} 1 ${ms}`]);
});

test('writes values the way Go does: exponents, infinities, NaN', () => {
  const e = exporterFor();
  e.push(
    request(
      [
        gauge('big', [numberPoint(123456789)]),
        gauge('small', [numberPoint(0.00001)]),
        gauge('inf', [numberPoint(Number.POSITIVE_INFINITY)]),
        gauge('nan', [numberPoint(Number.NaN)]),
      ],
      { resource: {}, scope: { name: '' } },
    ),
  );
  assert.deepEqual(e.samples(), ['big 1.23456789e+08', 'inf +Inf', 'nan NaN', 'small 1e-05']);
});

test('attribute values of every type become label strings', () => {
  const e = exporterFor();
  const point = numberPoint(1);
  point.attributes = [
    ...attrs({ s: 'x', b: true, i: 42, d: 0.25 }),
    { key: 'arr', value: { arrayValue: { values: [{ stringValue: 'a' }, { intValue: 2 }] } } },
    { key: 'map', value: { kvlistValue: { values: [{ key: 'k', value: { boolValue: false } }] } } },
    { key: 'bytes', value: { bytesValue: new Uint8Array([1, 2, 3]) } },
    { key: 'none', value: {} },
  ];
  e.push(request([gauge('g', [point])], { resource: {}, scope: { name: '' } }));
  assert.deepEqual(e.samples(), [
    'g{arr="[\\"a\\",2]",b="true",bytes="AQID",d="0.25",i="42",map="{\\"k\\":false}",s="x"} 1',
  ]);
});
