import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Registry } from 'prom-client';
import { EVENTS_DROPPED_TOTAL, RateLimitedEventRecorder } from './event-limit.ts';
import { type AdmissionEvent, MemoryEventRecorder } from './events.ts';

const event = (type: 'Normal' | 'Warning', reason: string): AdmissionEvent => ({
  regarding: { apiVersion: 'v1', kind: 'Pod', name: 'p', namespace: 'ns' },
  type,
  reason,
  message: 'm',
});

describe('RateLimitedEventRecorder', () => {
  it('lets a burst through, then one per refill, per type, and counts what it drops', async () => {
    let now = 1_000_000;
    const inner = new MemoryEventRecorder();
    const registry = new Registry();
    const limited = new RateLimitedEventRecorder(inner, registry, {
      limits: { Normal: { burst: 3, perSecond: 1 }, Warning: { burst: 2, perSecond: 10 } },
      now: () => now,
    });
    for (let i = 0; i < 5; i++) await limited.record(event('Normal', 'Injected'));
    for (let i = 0; i < 3; i++) await limited.record(event('Warning', 'InternalError'));
    assert.deepEqual(
      inner.events.map((e) => e.type),
      ['Normal', 'Normal', 'Normal', 'Warning', 'Warning'],
    );
    now += 999;
    await limited.record(event('Normal', 'Injected'));
    assert.equal(inner.events.length, 5, 'no Normal token before a second has passed');
    now += 1;
    await limited.record(event('Normal', 'Injected'));
    now += 100;
    await limited.record(event('Warning', 'InternalError'));
    assert.equal(inner.events.length, 7);
    const dropped = (await registry.getSingleMetric(EVENTS_DROPPED_TOTAL)?.get())?.values ?? [];
    const by = Object.fromEntries(dropped.map((v) => [`${v.labels.type}/${v.labels.reason}`, v.value]));
    assert.deepEqual(by, { 'Normal/Injected': 3, 'Warning/InternalError': 1 });
  });
});
