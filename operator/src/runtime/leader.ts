import { HttpMethod, type KubeConfig } from '@kubernetes/client-node';
import { type Logger, pino } from 'pino';
import { type Clock, realClock, sleep } from './clock.ts';
import { describeError, isNotFound } from './errors.ts';
import { kubeRequest } from './kube-request.ts';

/** The leader-election view of a `coordination.k8s.io/v1` Lease spec (client-go's LeaderElectionRecord). */
export interface LeaderElectionRecord {
  /** '' when nobody holds the lease (after a release). */
  readonly holderIdentity: string;
  readonly leaseDurationSeconds: number;
  /** MicroTime strings, RFC 3339 with 6 fractional digits (the apiserver rejects fewer). */
  readonly acquireTime?: string;
  readonly renewTime?: string;
  readonly leaseTransitions: number;
}

/**
 * Storage of the record with optimistic concurrency (client-go's resourcelock.Interface). `update`
 * is conditional on the resourceVersion of this lock's last get/create/update and fails (409) if the
 * Lease changed since.
 */
export interface LeaseLock {
  /** The current record, or undefined if the Lease does not exist. */
  get(signal: AbortSignal): Promise<LeaderElectionRecord | undefined>;
  /** Creates the Lease; fails (409) if it exists. */
  create(record: LeaderElectionRecord, signal: AbortSignal): Promise<void>;
  update(record: LeaderElectionRecord, signal: AbortSignal): Promise<void>;
  /** namespace/name, for logs. */
  describe(): string;
}

interface LeaseObject {
  apiVersion?: string;
  kind?: string;
  metadata?: { name?: string; namespace?: string; resourceVersion?: string; [k: string]: unknown };
  spec?: {
    holderIdentity?: string;
    leaseDurationSeconds?: number;
    acquireTime?: string;
    renewTime?: string;
    leaseTransitions?: number;
    [k: string]: unknown;
  };
}

function toRecord(spec: LeaseObject['spec']): LeaderElectionRecord {
  return {
    holderIdentity: spec?.holderIdentity ?? '',
    leaseDurationSeconds: spec?.leaseDurationSeconds ?? 0,
    acquireTime: spec?.acquireTime,
    renewTime: spec?.renewTime,
    leaseTransitions: spec?.leaseTransitions ?? 0,
  };
}

function toSpec(r: LeaderElectionRecord): NonNullable<LeaseObject['spec']> {
  const spec: NonNullable<LeaseObject['spec']> = {
    holderIdentity: r.holderIdentity,
    leaseDurationSeconds: r.leaseDurationSeconds,
    leaseTransitions: r.leaseTransitions,
  };
  if (r.acquireTime !== undefined) spec.acquireTime = r.acquireTime;
  if (r.renewTime !== undefined) spec.renewTime = r.renewTime;
  return spec;
}

/**
 * A {@link LeaseLock} on the Lease `namespace/name` of `kc`'s apiserver. Plain JSON through
 * kubeRequest: client-node's typed CoordinationV1Api serializes a plain `Date` with milliseconds,
 * which the apiserver refuses for MicroTime fields (400 "cannot parse .123Z as .000000").
 */
export function leaseLock(kc: KubeConfig, namespace: string, name: string): LeaseLock {
  const collection = `/apis/coordination.k8s.io/v1/namespaces/${encodeURIComponent(namespace)}/leases`;
  const path = `${collection}/${encodeURIComponent(name)}`;
  let last: LeaseObject | undefined;
  return {
    describe: () => `${namespace}/${name}`,
    async get(signal) {
      try {
        last = await kubeRequest<LeaseObject>(kc, { path, signal });
      } catch (err) {
        if (!isNotFound(err)) throw err;
        last = undefined;
        return undefined;
      }
      return toRecord(last.spec);
    },
    async create(record, signal) {
      last = await kubeRequest<LeaseObject>(kc, {
        method: HttpMethod.POST,
        path: collection,
        body: {
          apiVersion: 'coordination.k8s.io/v1',
          kind: 'Lease',
          metadata: { name, namespace },
          spec: toSpec(record),
        },
        signal,
      });
    },
    async update(record, signal) {
      if (last === undefined) throw new Error(`lease ${namespace}/${name}: update before get or create`);
      last = await kubeRequest<LeaseObject>(kc, {
        method: HttpMethod.PUT,
        path,
        body: { ...last, spec: { ...last.spec, ...toSpec(record) } },
        signal,
      });
    },
  };
}

/** `metav1.MicroTime` text: RFC 3339 in UTC with exactly 6 fractional digits. */
export function formatMicroTime(ms: number): string {
  return new Date(ms).toISOString().replace(/Z$/, '000Z');
}

export const DEFAULT_LEASE_DURATION_MS = 15_000;
export const DEFAULT_RENEW_DEADLINE_MS = 10_000;
export const DEFAULT_RETRY_PERIOD_MS = 2_000;
export const DEFAULT_JITTER_FACTOR = 1.2;

export interface LeaderElectorOptions {
  readonly lock: LeaseLock;
  /** Unique per candidate (e.g. pod name + a random suffix). */
  readonly identity: string;
  /** How long a non-leader waits, after it last saw the lease change, before taking it. Default 15 s. */
  readonly leaseDurationMs?: number;
  /** How long the leader keeps retrying a failing renewal before it steps down. Default 10 s. */
  readonly renewDeadlineMs?: number;
  /** Period of acquire and renew attempts. Default 2 s. */
  readonly retryPeriodMs?: number;
  /** Acquire attempts wait retryPeriod · (1 + random · jitterFactor). Default 1.2; 0 in tests. */
  readonly jitterFactor?: number;
  /** On cancellation, clear holderIdentity so a successor need not wait out the lease. Default true. */
  readonly releaseOnCancel?: boolean;
  /**
   * Called once leadership is acquired; `signal` aborts when it ends (lost or cancelled). On
   * cancellation the lease is released only after the returned promise settles, so work can drain.
   */
  readonly onStartedLeading: (signal: AbortSignal) => void | Promise<void>;
  /** Called once leadership ends, whether lost or released. */
  readonly onStoppedLeading?: () => void;
  /** Called whenever the observed holder changes (including to this identity). */
  readonly onNewLeader?: (identity: string) => void;
  readonly clock?: Clock;
  readonly logger?: Logger;
  readonly random?: () => number;
}

type Attempt = 'acquired' | 'held-by-other' | 'failed';

/**
 * Lease-based leader election after client-go's leaderelection package: acquire a Lease that is
 * absent, released or expired; renew it every retryPeriod; step down (abort the leading signal and
 * call onStoppedLeading) when renewals keep failing for renewDeadline or another holder shows up;
 * release it on cancellation. Expiry is judged on the local clock from when this candidate last saw
 * the record change, never from the timestamps in it, so clock skew between candidates is harmless.
 */
export class LeaderElector {
  readonly #o: Required<
    Pick<
      LeaderElectorOptions,
      'leaseDurationMs' | 'renewDeadlineMs' | 'retryPeriodMs' | 'jitterFactor' | 'releaseOnCancel'
    >
  > &
    LeaderElectorOptions;
  readonly #clock: Clock;
  readonly #log: Logger;
  readonly #random: () => number;
  #leading = false;
  #started = false;
  #observed: LeaderElectionRecord | undefined;
  #observedKey = '';
  #observedTime = 0;

  constructor(opts: LeaderElectorOptions) {
    this.#o = {
      ...opts,
      leaseDurationMs: opts.leaseDurationMs ?? DEFAULT_LEASE_DURATION_MS,
      renewDeadlineMs: opts.renewDeadlineMs ?? DEFAULT_RENEW_DEADLINE_MS,
      retryPeriodMs: opts.retryPeriodMs ?? DEFAULT_RETRY_PERIOD_MS,
      jitterFactor: opts.jitterFactor ?? DEFAULT_JITTER_FACTOR,
      releaseOnCancel: opts.releaseOnCancel ?? true,
    };
    const o = this.#o;
    if (o.identity === '') throw new Error('leader election: identity must not be empty');
    if (!(o.leaseDurationMs > o.renewDeadlineMs)) {
      throw new Error('leader election: leaseDuration must be greater than renewDeadline');
    }
    if (!(o.renewDeadlineMs > o.retryPeriodMs * Math.max(1, o.jitterFactor))) {
      throw new Error('leader election: renewDeadline must be greater than retryPeriod × jitterFactor');
    }
    this.#clock = opts.clock ?? realClock;
    this.#log = (opts.logger ?? pino({ level: 'silent' })).child({
      lease: opts.lock.describe(),
      identity: opts.identity,
    });
    this.#random = opts.random ?? Math.random;
  }

  isLeader(): boolean {
    return this.#leading;
  }

  /** The holder this candidate last saw ('' if none or not yet known). */
  leader(): string {
    return this.#observed?.holderIdentity ?? '';
  }

  /**
   * Campaigns until leadership is acquired, leads until it is lost or `signal` aborts, then returns.
   * Like client-go, it does not campaign again after losing: the caller decides (usually: exit).
   */
  async run(signal: AbortSignal): Promise<void> {
    if (this.#started) throw new Error('leader election: run() may be called once');
    this.#started = true;
    const o = this.#o;

    let acquired = false;
    while (!signal.aborted) {
      acquired = (await this.#tryAcquireOrRenew(signal)) === 'acquired';
      if (acquired) break;
      const wait = o.retryPeriodMs * (1 + this.#random() * o.jitterFactor);
      await sleep(this.#clock, wait, signal);
    }
    if (!acquired) return;
    if (signal.aborted) {
      // Cancelled while the acquiring write was in flight: never lead, but do not sit on the lease.
      if (o.releaseOnCancel) await this.#release();
      return;
    }

    this.#leading = true;
    this.#log.info('acquired leadership');
    const lead = new AbortController();
    const abortLead = () => lead.abort();
    signal.addEventListener('abort', abortLead, { once: true });
    const work = (async () => {
      try {
        await o.onStartedLeading(lead.signal);
      } catch (err) {
        this.#log.error({ err: describeError(err) }, 'onStartedLeading failed');
      }
    })();

    let lastRenew = this.#clock.now();
    let lost = false;
    while (!signal.aborted) {
      await sleep(this.#clock, o.retryPeriodMs, signal);
      if (signal.aborted) break;
      const remaining = lastRenew + o.renewDeadlineMs - this.#clock.now();
      const attempt = remaining > 0 ? await this.#withDeadline(remaining, signal) : 'failed';
      if (signal.aborted) break;
      if (attempt === 'acquired') {
        lastRenew = this.#clock.now();
        continue;
      }
      if (attempt === 'held-by-other') {
        this.#log.warn({ holder: this.leader() }, 'lease taken by another holder; stepping down');
        lost = true;
        break;
      }
      if (this.#clock.now() - lastRenew >= o.renewDeadlineMs) {
        this.#log.warn(
          { renewDeadlineMs: o.renewDeadlineMs },
          'could not renew within renewDeadline; stepping down',
        );
        lost = true;
        break;
      }
    }
    signal.removeEventListener('abort', abortLead);

    this.#leading = false;
    lead.abort();
    if (lost) {
      this.#stopped();
      await work;
      return;
    }
    await work;
    if (o.releaseOnCancel) await this.#release();
    this.#stopped();
  }

  #stopped(): void {
    this.#log.info('stopped leading');
    try {
      this.#o.onStoppedLeading?.();
    } catch (err) {
      this.#log.error({ err: describeError(err) }, 'onStoppedLeading failed');
    }
  }

  /** One renew attempt that gives up (and aborts its request) after `ms` on the injected clock. */
  async #withDeadline(ms: number, outer: AbortSignal): Promise<Attempt> {
    const ac = new AbortController();
    const onOuter = () => ac.abort();
    outer.addEventListener('abort', onOuter, { once: true });
    let timedOut!: () => void;
    const deadline = new Promise<Attempt>((resolve) => {
      timedOut = () => resolve('failed');
    });
    const cancel = this.#clock.schedule(() => {
      ac.abort();
      timedOut();
    }, ms);
    try {
      return await Promise.race([this.#tryAcquireOrRenew(ac.signal), deadline]);
    } finally {
      cancel();
      outer.removeEventListener('abort', onOuter);
    }
  }

  async #tryAcquireOrRenew(signal: AbortSignal): Promise<Attempt> {
    const o = this.#o;
    const now = this.#clock.now();
    const stamp = formatMicroTime(now);
    const leaseDurationSeconds = Math.max(1, Math.ceil(o.leaseDurationMs / 1000));
    let current: LeaderElectionRecord | undefined;
    try {
      current = await o.lock.get(signal);
    } catch (err) {
      this.#log.debug({ err: describeError(err) }, 'could not read lease');
      return 'failed';
    }
    if (current === undefined) {
      const record: LeaderElectionRecord = {
        holderIdentity: o.identity,
        leaseDurationSeconds,
        acquireTime: stamp,
        renewTime: stamp,
        leaseTransitions: 0,
      };
      try {
        await o.lock.create(record, signal);
      } catch (err) {
        this.#log.debug({ err: describeError(err) }, 'could not create lease');
        return 'failed';
      }
      this.#observe(record, this.#clock.now());
      return 'acquired';
    }

    this.#observe(current, now);
    const holder = current.holderIdentity;
    const durationMs =
      current.leaseDurationSeconds > 0 ? current.leaseDurationSeconds * 1000 : o.leaseDurationMs;
    if (holder !== '' && holder !== o.identity && this.#observedTime + durationMs > now) {
      return 'held-by-other';
    }
    const record: LeaderElectionRecord =
      holder === o.identity
        ? { ...current, leaseDurationSeconds, renewTime: stamp }
        : {
            holderIdentity: o.identity,
            leaseDurationSeconds,
            acquireTime: stamp,
            renewTime: stamp,
            leaseTransitions: current.leaseTransitions + 1,
          };
    try {
      await o.lock.update(record, signal);
    } catch (err) {
      this.#log.debug({ err: describeError(err) }, 'could not update lease');
      return 'failed';
    }
    this.#observe(record, this.#clock.now());
    return 'acquired';
  }

  #observe(record: LeaderElectionRecord, now: number): void {
    const key = JSON.stringify([
      record.holderIdentity,
      record.renewTime,
      record.acquireTime,
      record.leaseDurationSeconds,
      record.leaseTransitions,
    ]);
    if (key === this.#observedKey) return;
    const previousHolder = this.#observed?.holderIdentity;
    this.#observed = record;
    this.#observedKey = key;
    this.#observedTime = now;
    if (record.holderIdentity !== previousHolder && record.holderIdentity !== '') {
      try {
        this.#o.onNewLeader?.(record.holderIdentity);
      } catch (err) {
        this.#log.error({ err: describeError(err) }, 'onNewLeader failed');
      }
    }
  }

  /** Clears holderIdentity (leaseDurationSeconds 1) so a successor can take over at once. */
  async #release(): Promise<void> {
    const o = this.#o;
    const ac = new AbortController();
    const cancel = this.#clock.schedule(() => ac.abort(), o.renewDeadlineMs);
    const stamp = formatMicroTime(this.#clock.now());
    try {
      await o.lock.update(
        {
          holderIdentity: '',
          leaseDurationSeconds: 1,
          acquireTime: stamp,
          renewTime: stamp,
          leaseTransitions: this.#observed?.leaseTransitions ?? 0,
        },
        ac.signal,
      );
      this.#log.info('released lease');
    } catch (err) {
      this.#log.warn({ err: describeError(err) }, 'could not release lease');
    } finally {
      cancel();
    }
  }
}
