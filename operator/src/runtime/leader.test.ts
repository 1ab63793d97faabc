import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FakeClock, settle } from './clock.ts';
import { formatMicroTime, type LeaderElectionRecord, LeaderElector, type LeaseLock } from './leader.ts';

/** The apiserver's side of one Lease: a record and a version bumped by every write. */
class LeaseStore {
  record: LeaderElectionRecord | undefined;
  version = 0;
  writes = 0;
}

function conflict(): Error {
  return Object.assign(new Error('Conflict'), { code: 409 });
}

/** One candidate's client for the store, with optimistic concurrency and injectable failures. */
class FakeLock implements LeaseLock {
  #seen = -1;
  /** 'fail': every call rejects at once; 'hang': every call waits until its signal aborts. */
  mode: 'ok' | 'fail' | 'hang' = 'ok';
  readonly store: LeaseStore;
  constructor(store: LeaseStore) {
    this.store = store;
  }

  describe(): string {
    return 'ns/lease';
  }

  async #gate(signal: AbortSignal): Promise<void> {
    if (this.mode === 'fail') throw new Error('connect ECONNREFUSED');
    if (this.mode === 'hang') {
      await new Promise((_resolve, reject) => {
        signal.addEventListener('abort', () => reject(new Error('aborted')), { once: true });
      });
    }
  }

  async get(signal: AbortSignal): Promise<LeaderElectionRecord | undefined> {
    await this.#gate(signal);
    this.#seen = this.store.version;
    return this.store.record === undefined ? undefined : { ...this.store.record };
  }

  /** Runs before every create/update reaches the store. */
  beforeWrite: () => void = () => {};

  async create(record: LeaderElectionRecord, signal: AbortSignal): Promise<void> {
    await this.#gate(signal);
    this.beforeWrite();
    if (this.store.record !== undefined) throw conflict();
    this.#write(record);
  }

  async update(record: LeaderElectionRecord, signal: AbortSignal): Promise<void> {
    await this.#gate(signal);
    this.beforeWrite();
    if (this.store.version !== this.#seen) throw conflict();
    this.#write(record);
  }

  #write(record: LeaderElectionRecord): void {
    this.store.record = { ...record };
    this.store.version++;
    this.store.writes++;
    this.#seen = this.store.version;
  }
}

interface Candidate {
  readonly elector: LeaderElector;
  readonly lock: FakeLock;
  readonly stop: AbortController;
  readonly done: Promise<void>;
  readonly log: string[];
  leadingSignal?: AbortSignal;
}

const timings = { leaseDurationMs: 15_000, renewDeadlineMs: 10_000, retryPeriodMs: 2_000, jitterFactor: 0 };

function candidate(
  identity: string,
  store: LeaseStore,
  clock: FakeClock,
  extra: { releaseOnCancel?: boolean; work?: (signal: AbortSignal) => Promise<void> } = {},
): Candidate {
  const lock = new FakeLock(store);
  const stop = new AbortController();
  const log: string[] = [];
  const c: Partial<Candidate> & { log: string[] } = { log, lock, stop };
  const elector = new LeaderElector({
    lock,
    identity,
    clock,
    ...timings,
    releaseOnCancel: extra.releaseOnCancel,
    onStartedLeading: async (signal) => {
      log.push('started');
      c.leadingSignal = signal;
      await extra.work?.(signal);
    },
    onStoppedLeading: () => log.push('stopped'),
    onNewLeader: (id) => log.push(`leader:${id}`),
  });
  return Object.assign(c, { elector, done: elector.run(stop.signal) }) as Candidate;
}

describe('LeaderElector', () => {
  it('should create an absent lease, lead, and renew it every retryPeriod', async () => {
    const clock = new FakeClock();
    const store = new LeaseStore();
    const a = candidate('a', store, clock);
    await settle();
    assert.equal(a.elector.isLeader(), true);
    assert.deepEqual(a.log, ['leader:a', 'started']);
    assert.equal(store.record?.holderIdentity, 'a');
    assert.equal(store.record?.leaseDurationSeconds, 15);
    assert.equal(store.record?.renewTime, formatMicroTime(clock.now()));
    assert.match(store.record?.renewTime ?? '', /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/);
    const acquired = store.record?.acquireTime;
    await clock.advance(2_000);
    assert.equal(store.writes, 2);
    assert.equal(store.record?.renewTime, formatMicroTime(clock.now()));
    assert.equal(store.record?.acquireTime, acquired, 'a renewal keeps acquireTime');
    a.stop.abort();
    await a.done;
  });

  it('should not take a lease that its holder keeps renewing', async () => {
    const clock = new FakeClock();
    const store = new LeaseStore();
    const a = candidate('a', store, clock);
    await settle();
    const b = candidate('b', store, clock);
    await clock.advance(60_000);
    assert.equal(a.elector.isLeader(), true);
    assert.equal(b.elector.isLeader(), false);
    assert.equal(b.elector.leader(), 'a');
    assert.deepEqual(b.log, ['leader:a']);
    b.stop.abort();
    a.stop.abort();
    await Promise.all([a.done, b.done]);
  });

  it('should take over an abandoned lease leaseDuration after it last saw it change', async () => {
    const clock = new FakeClock();
    const store = new LeaseStore();
    // A record written by a crashed leader, stamped far in the past: the timestamps in it are not trusted.
    store.record = {
      holderIdentity: 'crashed',
      leaseDurationSeconds: 15,
      acquireTime: formatMicroTime(0),
      renewTime: formatMicroTime(0),
      leaseTransitions: 4,
    };
    const b = candidate('b', store, clock);
    await settle();
    assert.equal(b.elector.isLeader(), false, 'first sight of the record starts the clock');
    await clock.advance(14_000);
    assert.equal(b.elector.isLeader(), false);
    await clock.advance(2_000);
    assert.equal(b.elector.isLeader(), true);
    assert.equal(store.record?.holderIdentity, 'b');
    assert.equal(store.record?.leaseTransitions, 5);
    b.stop.abort();
    await b.done;
  });

  it('should step down when renewals keep failing past renewDeadline', async () => {
    const clock = new FakeClock();
    const store = new LeaseStore();
    const a = candidate('a', store, clock, {
      work: (s) => new Promise((r) => s.addEventListener('abort', () => r())),
    });
    await settle();
    assert.equal(a.elector.isLeader(), true);
    a.lock.mode = 'fail';
    await clock.advance(8_000); // failed renewals at 2, 4, 6, 8 s
    assert.equal(a.elector.isLeader(), true, 'still within renewDeadline');
    assert.equal(a.leadingSignal?.aborted, false);
    await clock.advance(2_000); // 10 s since the last renewal
    assert.equal(a.elector.isLeader(), false);
    assert.equal(a.leadingSignal?.aborted, true);
    assert.deepEqual(a.log, ['leader:a', 'started', 'stopped']);
    await a.done; // run() returns after losing
  });

  it('should step down at renewDeadline even when the apiserver never answers', async () => {
    const clock = new FakeClock();
    const store = new LeaseStore();
    const a = candidate('a', store, clock);
    await settle();
    a.lock.mode = 'hang';
    await clock.advance(9_999);
    assert.equal(a.elector.isLeader(), true);
    await clock.advance(1);
    assert.equal(a.elector.isLeader(), false);
    await a.done;
  });

  it('should step down at once when another holder shows up', async () => {
    const clock = new FakeClock();
    const store = new LeaseStore();
    const a = candidate('a', store, clock);
    await settle();
    store.record = { ...(store.record as LeaderElectionRecord), holderIdentity: 'usurper' };
    store.version++;
    await clock.advance(2_000);
    assert.equal(a.elector.isLeader(), false);
    assert.deepEqual(a.log, ['leader:a', 'started', 'leader:usurper', 'stopped']);
    await a.done;
  });

  it('should release the lease on cancellation, after its work has drained, so a successor takes over at once', async () => {
    const clock = new FakeClock();
    const store = new LeaseStore();
    let drained = false;
    const a = candidate('a', store, clock, {
      work: async (signal) => {
        await new Promise((r) => signal.addEventListener('abort', r));
        await settle(1);
        assert.equal(store.record?.holderIdentity, 'a', 'still held while work drains');
        drained = true;
      },
    });
    await settle();
    const b = candidate('b', store, clock);
    await clock.advance(4_000);
    a.stop.abort();
    await a.done;
    assert.equal(drained, true);
    assert.equal(store.record?.holderIdentity, '');
    assert.deepEqual(a.log.slice(-1), ['stopped']);
    await clock.advance(2_000); // b's next attempt, far short of leaseDuration
    assert.equal(b.elector.isLeader(), true);
    assert.equal(store.record?.holderIdentity, 'b');
    assert.equal(store.record?.leaseTransitions, 1);
    b.stop.abort();
    await b.done;
  });

  it('should keep the lease held on cancellation when releaseOnCancel is false', async () => {
    const clock = new FakeClock();
    const store = new LeaseStore();
    const a = candidate('a', store, clock, { releaseOnCancel: false });
    await settle();
    a.stop.abort();
    await a.done;
    assert.equal(store.record?.holderIdentity, 'a');
    assert.deepEqual(a.log, ['leader:a', 'started', 'stopped']);
  });

  it('should release, without leading, a lease it acquired just as it was cancelled', async () => {
    const clock = new FakeClock();
    const store = new LeaseStore();
    const lock = new FakeLock(store);
    const stop = new AbortController();
    lock.beforeWrite = () => stop.abort(); // the create is already on its way when the abort comes
    const log: string[] = [];
    const elector = new LeaderElector({
      lock,
      identity: 'a',
      clock,
      ...timings,
      onStartedLeading: () => {
        log.push('started');
      },
      onStoppedLeading: () => log.push('stopped'),
    });
    await elector.run(stop.signal);
    assert.deepEqual(log, []);
    assert.equal(elector.isLeader(), false);
    assert.equal(store.writes, 2, 'created, then released');
    assert.equal(store.record?.holderIdentity, '');
  });

  it('should reject timings that cannot work', () => {
    const base = { lock: new FakeLock(new LeaseStore()), identity: 'x', onStartedLeading: () => {} };
    assert.throws(
      () => new LeaderElector({ ...base, leaseDurationMs: 10_000, renewDeadlineMs: 10_000 }),
      /leaseDuration/,
    );
    assert.throws(
      () => new LeaderElector({ ...base, renewDeadlineMs: 2_000, retryPeriodMs: 2_000 }),
      /renewDeadline/,
    );
    assert.throws(() => new LeaderElector({ ...base, identity: '' }), /identity/);
    assert.doesNotThrow(() => new LeaderElector(base));
  });
});
