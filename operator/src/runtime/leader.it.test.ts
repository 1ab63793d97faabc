import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { type ControlPlane, startControlPlane } from '../../../test/harness/control-plane.ts';
import { kubeRequest } from '../../../test/harness/kube-apply.ts';
import { LeaderElector, leaseLock } from './leader.ts';

const NS = 'default';

interface LeaseJson {
  spec?: {
    holderIdentity?: string;
    leaseTransitions?: number;
    renewTime?: string;
    leaseDurationSeconds?: number;
  };
}

async function lease(cp: ControlPlane, name: string): Promise<LeaseJson> {
  const res = await kubeRequest(cp, 'GET', `/apis/coordination.k8s.io/v1/namespaces/${NS}/leases/${name}`);
  assert.equal(res.status, 200, res.body);
  return JSON.parse(res.body) as LeaseJson;
}

async function eventually(what: string, cond: () => boolean | Promise<boolean>, ms = 15_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

/** Short real timings: lease 2 s, renew deadline 1.5 s, retry 0.25 s. */
const timings = { leaseDurationMs: 2_000, renewDeadlineMs: 1_500, retryPeriodMs: 250, jitterFactor: 0.2 };

function candidate(
  cp: ControlPlane,
  leaseName: string,
  identity: string,
  opts: { releaseOnCancel?: boolean; renewDeadlineMs?: number; retryPeriodMs?: number } = {},
) {
  const stop = new AbortController();
  const events: string[] = [];
  let leading: AbortSignal | undefined;
  const elector = new LeaderElector({
    lock: leaseLock(cp.kubeConfig(), NS, leaseName),
    identity,
    ...timings,
    ...opts,
    onStartedLeading: async (signal) => {
      leading = signal;
      events.push('started');
      await new Promise((r) => signal.addEventListener('abort', r, { once: true }));
    },
    onStoppedLeading: () => events.push('stopped'),
  });
  const done = elector.run(stop.signal);
  return { elector, stop, events, done, leadingSignal: () => leading };
}

describe('LeaderElector on a real kube-apiserver', () => {
  let cp: ControlPlane;
  before(async () => {
    cp = await startControlPlane();
  });
  after(async () => {
    await cp?.stop();
  });

  it('should let exactly one of two candidates lead, and the other take over once the leader releases', async () => {
    const a = candidate(cp, 'pair', 'a');
    const b = candidate(cp, 'pair', 'b');
    await eventually('a leader', () => a.elector.isLeader() || b.elector.isLeader());
    const [first, second] = a.elector.isLeader() ? [a, b] : [b, a];
    const firstId = first === a ? 'a' : 'b';
    const secondId = first === a ? 'b' : 'a';
    // Watch for a while (several renewals and acquire attempts): never two leaders.
    for (let i = 0; i < 40; i++) {
      assert.equal(a.elector.isLeader() && b.elector.isLeader(), false, 'two leaders at once');
      assert.equal(first.elector.isLeader(), true);
      await sleep(25);
    }
    const held = await lease(cp, 'pair');
    assert.equal(held.spec?.holderIdentity, firstId);
    assert.equal(held.spec?.leaseDurationSeconds, 2);
    assert.match(held.spec?.renewTime ?? '', /\.\d{6}Z$/, 'MicroTime with 6 fractional digits');
    assert.equal(second.elector.leader(), firstId, 'the follower knows who leads');

    first.stop.abort();
    await first.done;
    assert.deepEqual(first.events, ['started', 'stopped']);
    assert.equal(first.leadingSignal()?.aborted, true);
    await eventually('the follower to take over', () => second.elector.isLeader());
    const taken = await lease(cp, 'pair');
    assert.equal(taken.spec?.holderIdentity, secondId);
    assert.equal(taken.spec?.leaseTransitions, 1);
    second.stop.abort();
    await second.done;
    assert.equal((await lease(cp, 'pair')).spec?.holderIdentity, '', 'released on shutdown');
  });

  it('should let a follower take over from a leader that stopped without releasing, once the lease expires', async () => {
    const a = candidate(cp, 'crash', 'a', { releaseOnCancel: false });
    await eventually('a to lead', () => a.elector.isLeader());
    const b = candidate(cp, 'crash', 'b');
    await sleep(500);
    assert.equal(b.elector.isLeader(), false);
    a.stop.abort(); // like a crash: the lease stays held by a
    await a.done;
    assert.equal((await lease(cp, 'crash')).spec?.holderIdentity, 'a');
    await eventually('b to take over an expired lease', () => b.elector.isLeader());
    assert.equal((await lease(cp, 'crash')).spec?.holderIdentity, 'b');
    b.stop.abort();
    await b.done;
  });

  it('should step down when the apiserver is gone for longer than renewDeadline', async () => {
    // A tight deadline, well inside the few seconds a restart takes.
    const a = candidate(cp, 'outage', 'a', { renewDeadlineMs: 800, retryPeriodMs: 200 });
    await eventually('a to lead', () => a.elector.isLeader());
    await cp.restartApiServer(); // several seconds without an apiserver
    await eventually('a to step down', () => a.events.includes('stopped'));
    assert.equal(a.elector.isLeader(), false);
    assert.equal(a.leadingSignal()?.aborted, true);
    await a.done; // run() returns after losing leadership; the caller decides what next
    assert.deepEqual(a.events, ['started', 'stopped']);
  });
});
