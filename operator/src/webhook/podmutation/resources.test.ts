import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { V1Container } from '@kubernetes/client-node';
import { formatCpu, formatMemory, initContainerResources, parseQuantity } from './resources.ts';
import { settings } from './testdata.ts';

describe('parseQuantity', () => {
  const cases: readonly [string | number, number | undefined][] = [
    ['100m', 0.1],
    ['1', 1],
    ['1.5', 1.5],
    [2, 2],
    ['128Mi', 128 * 2 ** 20],
    ['1Gi', 2 ** 30],
    ['1G', 1e9],
    ['1e3', 1000],
    ['500k', 5e5],
    ['12x', undefined],
    ['', undefined],
  ];
  for (const [q, want] of cases)
    test(`${JSON.stringify(q)} → ${want}`, () => assert.equal(parseQuantity(q), want));
});

describe('format', () => {
  test('cpu as millicores, rounded up', () => {
    assert.equal(formatCpu(0.05), '50m');
    assert.equal(formatCpu(0.0001), '1m');
  });
  test('memory as Mi when whole, bytes otherwise', () => {
    assert.equal(formatMemory(64 * 2 ** 20), '64Mi');
    assert.equal(formatMemory(1e9), '1000000000');
  });
});

describe('initContainerResources keeps the pod’s scheduling', () => {
  const c = (resources: V1Container['resources']): V1Container => ({ name: 'x', image: 'i', resources });
  const d = settings.initContainerResources;

  test('requests never exceed the summed app requests', () => {
    const r = initContainerResources([c({ requests: { cpu: '10m', memory: '32Mi' } })], d);
    assert.deepEqual(r?.requests, { cpu: '10m', memory: '32Mi' });
  });

  test('limits never exceed the summed app limits', () => {
    const r = initContainerResources(
      [c({ limits: { cpu: '100m', memory: '100Mi' } }), c({ limits: { cpu: '100m', memory: '28Mi' } })],
      d,
    );
    assert.deepEqual(r?.limits, { cpu: '200m', memory: '128Mi' });
  });

  test('an unbounded container leaves the default limit', () => {
    const r = initContainerResources([c({ limits: { memory: '1Gi' } }), c({ requests: { cpu: '1' } })], d);
    assert.deepEqual(r?.limits, { cpu: '500m', memory: '256Mi' });
  });

  test('BestEffort stays BestEffort', () => {
    assert.equal(initContainerResources([c(undefined), c({})], d), undefined);
  });
});
