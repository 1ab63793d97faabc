import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  type Condition,
  findCondition,
  formatTime,
  isConditionTrue,
  MAX_CONDITION_MESSAGE_LENGTH,
  removeCondition,
  setCondition,
} from './conditions.ts';

const t0 = new Date('2026-03-01T10:00:00.789Z');
const t1 = new Date('2026-03-01T10:05:00.000Z');

function ready(overrides: Partial<Condition> = {}) {
  return {
    type: 'Ready',
    status: 'True',
    reason: 'Reconciled',
    message: 'all good',
    observedGeneration: 1,
    ...overrides,
  } as const;
}

describe('setCondition', () => {
  it('should append a new condition with lastTransitionTime = now, in whole seconds', () => {
    const conds: Condition[] = [];
    assert.equal(setCondition(conds, ready(), t0), true);
    assert.deepEqual(conds, [{ ...ready(), lastTransitionTime: '2026-03-01T10:00:00Z' }]);
  });

  it('should report no change when nothing differs', () => {
    const conds: Condition[] = [];
    setCondition(conds, ready(), t0);
    const before = structuredClone(conds);
    assert.equal(setCondition(conds, ready(), t1), false);
    assert.deepEqual(conds, before);
  });

  it('should keep lastTransitionTime when only reason and message change', () => {
    const conds: Condition[] = [];
    setCondition(conds, ready(), t0);
    assert.equal(setCondition(conds, ready({ reason: 'StillFine', message: 'still good' }), t1), true);
    assert.equal(conds[0]?.lastTransitionTime, '2026-03-01T10:00:00Z');
    assert.equal(conds[0]?.reason, 'StillFine');
    assert.equal(conds[0]?.message, 'still good');
  });

  it('should move lastTransitionTime when the status changes', () => {
    const conds: Condition[] = [];
    setCondition(conds, ready(), t0);
    assert.equal(setCondition(conds, ready({ status: 'False', reason: 'ReconcileError' }), t1), true);
    assert.equal(conds[0]?.status, 'False');
    assert.equal(conds[0]?.lastTransitionTime, '2026-03-01T10:05:00Z');
  });

  it('should track observedGeneration per condition without moving lastTransitionTime', () => {
    const conds: Condition[] = [];
    setCondition(conds, ready(), t0);
    setCondition(conds, { ...ready(), type: 'ProcessorReady', observedGeneration: 1 }, t0);
    assert.equal(setCondition(conds, ready({ observedGeneration: 2 }), t1), true);
    assert.equal(findCondition(conds, 'Ready')?.observedGeneration, 2);
    assert.equal(findCondition(conds, 'Ready')?.lastTransitionTime, '2026-03-01T10:00:00Z');
    assert.equal(findCondition(conds, 'ProcessorReady')?.observedGeneration, 1);
  });

  it('should use an explicit lastTransitionTime when one is given', () => {
    const conds: Condition[] = [];
    setCondition(conds, { ...ready(), lastTransitionTime: '2020-01-01T00:00:00Z' }, t0);
    assert.equal(conds[0]?.lastTransitionTime, '2020-01-01T00:00:00Z');
  });

  it('should leave other conditions and their order alone', () => {
    const conds: Condition[] = [];
    setCondition(conds, { ...ready(), type: 'A' }, t0);
    setCondition(conds, { ...ready(), type: 'B' }, t0);
    setCondition(conds, { ...ready(), type: 'A', status: 'False' }, t1);
    assert.deepEqual(
      conds.map((c) => [c.type, c.status]),
      [
        ['A', 'False'],
        ['B', 'True'],
      ],
    );
  });

  it('should truncate a message longer than the API allows', () => {
    const conds: Condition[] = [];
    setCondition(conds, ready({ message: 'x'.repeat(MAX_CONDITION_MESSAGE_LENGTH + 10) }), t0);
    assert.equal(conds[0]?.message.length, MAX_CONDITION_MESSAGE_LENGTH);
    assert.match(conds[0]?.message ?? '', /truncated\)$/);
    assert.equal(
      setCondition(conds, ready({ message: 'x'.repeat(MAX_CONDITION_MESSAGE_LENGTH + 10) }), t1),
      false,
      'the same long message again is no change',
    );
  });
});

describe('condition helpers', () => {
  it('should remove a condition by type and say whether it was there', () => {
    const conds: Condition[] = [];
    setCondition(conds, ready(), t0);
    assert.equal(removeCondition(conds, 'Missing'), false);
    assert.equal(removeCondition(conds, 'Ready'), true);
    assert.deepEqual(conds, []);
  });

  it('should tell whether a condition is True, optionally for a generation', () => {
    const conds: Condition[] = [];
    assert.equal(isConditionTrue(undefined, 'Ready'), false);
    setCondition(conds, ready({ observedGeneration: 3 }), t0);
    assert.equal(isConditionTrue(conds, 'Ready'), true);
    assert.equal(isConditionTrue(conds, 'Ready', 3), true);
    assert.equal(isConditionTrue(conds, 'Ready', 4), false);
    setCondition(conds, ready({ status: 'Unknown' }), t1);
    assert.equal(isConditionTrue(conds, 'Ready'), false);
  });

  it('should format metav1.Time as RFC 3339 UTC seconds', () => {
    assert.equal(formatTime(new Date('2026-12-31T23:59:59.999Z')), '2026-12-31T23:59:59Z');
  });
});
