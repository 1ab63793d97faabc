import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { AnyValue, KeyValue } from '../../otlp/model.ts';
import { AttributeFilter } from './attribute-filter.ts';
import { globMatch } from './glob.ts';
import { OTHER_VALUE } from './overflow.ts';
import { ValueCaps } from './value-caps.ts';

const kv = (key: string, value: AnyValue): KeyValue => ({ key, value });
const str = (s: string): AnyValue => ({ stringValue: s });
const user = (id: string): KeyValue[] => [kv('user.id', str(id)), kv('model', str('gpt-4o'))];
const attrValue = (attrs: KeyValue[], key: string) => attrs.find((a) => a.key === key)?.value;

describe('ValueCaps', () => {
  test('lets the first N distinct values through and replaces the rest with __other__', () => {
    const caps = new ValueCaps([{ key: 'user.id', maxValues: 3 }]);
    const capped: string[] = [];
    const out = ['a', 'b', 'a', 'c', 'd', 'e', 'b'].map((id) => {
      const attrs = user(id);
      caps.apply(attrs, 0, (k) => capped.push(k));
      return attrValue(attrs, 'user.id')?.stringValue;
    });
    assert.deepEqual(out, ['a', 'b', 'a', 'c', OTHER_VALUE, OTHER_VALUE, 'b']);
    assert.deepEqual(capped, ['user.id', 'user.id']);
    assert.equal(caps.valuesOf('user.id'), 3);
  });

  test('leaves other keys alone, and a literal __other__ passes without taking a slot', () => {
    const caps = new ValueCaps([{ key: 'user.id', maxValues: 1 }]);
    const a = user(OTHER_VALUE);
    assert.equal(caps.apply(a, 0), 0);
    const b = user('u1');
    assert.equal(caps.apply(b, 0), 0);
    assert.deepEqual(attrValue(b, 'model'), str('gpt-4o'));
    assert.equal(caps.apply(user('u2'), 0), 1);
  });

  test('counts typed values apart (the string "1" and the int 1 take two slots)', () => {
    const caps = new ValueCaps([{ key: 'n', maxValues: 2 }]);
    assert.equal(caps.apply([kv('n', str('1'))], 0), 0);
    assert.equal(caps.apply([kv('n', { intValue: 1 })], 0), 0);
    assert.equal(caps.apply([kv('n', { doubleValue: 1 })], 0), 1);
  });

  test('values idle for the TTL give their slot back; values in use keep it', () => {
    const caps = new ValueCaps([{ key: 'user.id', maxValues: 2 }], { ttlMs: 1000 });
    caps.apply(user('a'), 0);
    caps.apply(user('b'), 0);
    caps.apply(user('a'), 800);
    const c = user('c');
    caps.apply(c, 900);
    assert.equal(attrValue(c, 'user.id')?.stringValue, OTHER_VALUE);
    const c2 = user('c');
    caps.apply(c2, 1100);
    assert.equal(attrValue(c2, 'user.id')?.stringValue, 'c', 'b idled out');
    const a = user('a');
    caps.apply(a, 1100);
    assert.equal(attrValue(a, 'user.id')?.stringValue, 'a');
  });

  test('memory stays at max_values under a storm of distinct values', () => {
    const caps = new ValueCaps([{ key: 'user.id', maxValues: 100 }], { ttlMs: 60_000 });
    let replaced = 0;
    for (let i = 0; i < 200_000; i++) replaced += caps.apply(user(`u${i}`), i / 100);
    assert.equal(replaced, 200_000 - 100);
    assert.equal(caps.size, 100);
  });
});

describe('AttributeFilter', () => {
  const keys = (attrs: KeyValue[]) => attrs.map((a) => a.key);
  const all = () =>
    ['user.id', 'user.email', 'user', 'session.id', 'gen_ai.request.model', 'otel.metric.overflow'].map((k) =>
      kv(k, str('x')),
    );

  test('deny-list drops matching keys in place (globs: `user.*`, `*.id`)', () => {
    const f = new AttributeFilter({ exclude: ['user.*', '*.id'] });
    const attrs = all();
    assert.equal(f.apply(attrs), 3);
    assert.deepEqual(keys(attrs), ['user', 'gen_ai.request.model', 'otel.metric.overflow']);
  });

  test('allow-list keeps only matching keys, and the deny-list applies after it', () => {
    const f = new AttributeFilter({ include: ['gen_ai.*', 'user*'], exclude: ['user.email'] });
    const attrs = all();
    f.apply(attrs);
    assert.deepEqual(keys(attrs), ['user.id', 'user', 'gen_ai.request.model', 'otel.metric.overflow']);
  });

  test('always keeps otel.metric.overflow; an empty filter is inactive and keeps everything', () => {
    const f = new AttributeFilter({ include: ['nothing'] });
    const attrs = all();
    f.apply(attrs);
    assert.deepEqual(keys(attrs), ['otel.metric.overflow']);
    const none = new AttributeFilter({});
    assert.equal(none.active, false);
    const kept = all();
    assert.equal(none.apply(kept), 0);
    assert.equal(kept.length, 6);
  });

  test('globs: `*` spans dots, matching is case-sensitive and linear', () => {
    assert.equal(globMatch('user.*', 'user.id'), true);
    assert.equal(globMatch('user.*', 'user'), false);
    assert.equal(globMatch('*.id', 'gen_ai.response.id'), true);
    assert.equal(globMatch('gen_ai.*.id', 'gen_ai.tool.call.id'), true);
    assert.equal(globMatch('User.*', 'user.id'), false);
    assert.equal(globMatch(`${'*a'.repeat(30)}b`, 'a'.repeat(10_000)), false);
  });
});
