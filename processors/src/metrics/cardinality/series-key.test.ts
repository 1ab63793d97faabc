import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import Long from 'long';
import { decodeRequest } from '../../otlp/codec.ts';
import type { AnyValue, KeyValue } from '../../otlp/model.ts';
import { OVERFLOW_SERIES_KEY, overflowAttributes } from './overflow.ts';
import { boundedKey, MAX_STORED_KEY_CHARS, seriesKey, valueKey } from './series-key.ts';

const kv = (key: string, value: AnyValue): KeyValue => ({ key, value });
const str = (s: string): AnyValue => ({ stringValue: s });

function permutations<T>(xs: readonly T[]): T[][] {
  if (xs.length <= 1) return [[...xs]];
  return xs.flatMap((x, i) => permutations([...xs.slice(0, i), ...xs.slice(i + 1)]).map((p) => [x, ...p]));
}

describe('seriesKey', () => {
  test('is the same whatever the attribute order, including inside kvlist values', () => {
    const nested = (order: number[]) =>
      kv('ctx', {
        kvlistValue: { values: order.map((i) => kv(`k${i}`, { intValue: i })) },
      });
    const attrs = [
      kv('gen_ai.request.model', str('gpt-4o')),
      kv('user.id', str('u-1')),
      kv('http.status_code', { intValue: 200 }),
      kv('cache.hit', { boolValue: true }),
      kv('ratio', { doubleValue: 0.5 }),
    ];
    const keys = new Set(permutations(attrs).map((p) => seriesKey([...p, nested([0, 1, 2])])));
    assert.equal(keys.size, 1);
    assert.equal(seriesKey([...attrs, nested([2, 0, 1])]), seriesKey([nested([1, 2, 0]), ...attrs]));
  });

  test('is stable: the same text for the same set, in every process', () => {
    assert.equal(seriesKey([]), '');
    assert.equal(seriesKey(undefined), '');
    assert.equal(
      seriesKey([kv('b', { intValue: 2 }), kv('a', str('x'))]),
      // `<key length>:<key>` then the type-tagged value, entries sorted.
      '1:as1:x1:bi2;',
    );
    assert.equal(OVERFLOW_SERIES_KEY, seriesKey(overflowAttributes()));
    assert.equal(OVERFLOW_SERIES_KEY, '20:otel.metric.overflowt');
  });

  test('tells types apart: "1", 1, 1.0 and true are four different values', () => {
    const keys = [str('1'), { intValue: 1 }, { doubleValue: 1 }, { boolValue: true }].map((v) =>
      seriesKey([kv('a', v)]),
    );
    assert.equal(new Set(keys).size, 4);
  });

  test('an int is the same value whether it is a Long (protobuf) or a number', () => {
    assert.equal(
      seriesKey([kv('n', { intValue: Long.fromNumber(42) })]),
      seriesKey([kv('n', { intValue: 42 })]),
    );
    const big = Long.fromString('9007199254740993');
    assert.equal(valueKey({ intValue: big }), 'i9007199254740993;');
    assert.equal(valueKey({ intValue: Long.fromNumber(-5) }), 'i-5;');
  });

  test('cannot be fooled by separators or digits inside keys and values', () => {
    const pairs: [KeyValue[], KeyValue[]][] = [
      [[kv('a', str('b1:c'))], [kv('a', str('b')), kv('c', str(''))]],
      [[kv('a1:b', str('x'))], [kv('a', str('')), kv('b', str('x'))]],
      [
        [kv('a', { arrayValue: { values: [str('x'), str('y')] } })],
        [kv('a', { arrayValue: { values: [str('xy')] } })],
      ],
      [[kv('a', { kvlistValue: { values: [kv('b', str('c'))] } })], [kv('a', str('1:bs1:c'))]],
      [[kv('', str(''))], []],
    ];
    for (const [x, y] of pairs) assert.notEqual(seriesKey(x), seriesKey(y), JSON.stringify([x, y]));
  });

  test('reads protobuf-decoded values by presence, not by their prototype defaults', () => {
    const req = decodeRequest(
      'metrics',
      Buffer.from(
        JSON.stringify({
          resourceMetrics: [
            {
              scopeMetrics: [
                {
                  metrics: [
                    {
                      name: 'm',
                      gauge: {
                        dataPoints: [
                          {
                            asInt: '1',
                            attributes: [
                              { key: 'b', value: { boolValue: false } },
                              { key: 'i', value: { intValue: '0' } },
                              { key: 's', value: { stringValue: '' } },
                              { key: 'n', value: {} },
                            ],
                          },
                        ],
                      },
                    },
                  ],
                },
              ],
            },
          ],
        }),
      ),
      'json',
    );
    const attrs = req.resourceMetrics[0]?.scopeMetrics[0]?.metrics[0]?.gauge?.dataPoints[0]?.attributes;
    assert.equal(seriesKey(attrs), '1:bf1:ii0;1:nn1:ss0:');
  });

  test('boundedKey keeps short keys and stores long ones as a fixed-size digest', () => {
    const short = 'x'.repeat(MAX_STORED_KEY_CHARS);
    assert.equal(boundedKey(short), short);
    const a = boundedKey(`1:a${'x'.repeat(10_000)}`);
    const b = boundedKey(`1:a${'x'.repeat(9_999)}y`);
    assert.match(a, /^#[A-Za-z0-9+/]{43}=$/);
    assert.notEqual(a, b);
    // Lone surrogates are hashed as UTF-16 code units, so they stay distinct.
    assert.notEqual(boundedKey(`\uD800${short}`), boundedKey(`\uDC00${short}`));
  });
});
