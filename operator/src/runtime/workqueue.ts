import { type Cancel, type Clock, realClock } from './clock.ts';

export interface WorkQueueOptions {
  /** Delay of the first {@link WorkQueue.addRateLimited} retry; it doubles per consecutive failure. Default 5 ms. */
  readonly baseDelayMs?: number;
  /** Cap on the per-key retry delay. Default 60 s. */
  readonly maxDelayMs?: number;
  /** Clock for delays; tests inject a FakeClock. */
  readonly clock?: Clock;
}

export const DEFAULT_BASE_DELAY_MS = 5;
export const DEFAULT_MAX_DELAY_MS = 60_000;

interface Delayed {
  readonly readyAt: number;
  readonly cancel: Cancel;
}

/**
 * A keyed work queue with client-go / controller-runtime semantics:
 *
 * - **dedupe**: adding a key that is already queued is a no-op;
 * - **single flight**: a key handed out by {@link get} is not handed out again until {@link done};
 *   if it is added meanwhile it is marked dirty and queued again by `done`;
 * - **per-key exponential backoff**: {@link addRateLimited} waits `base · 2^failures` (capped),
 *   {@link forget} resets the count;
 * - **delays**: {@link addAfter}; the earliest pending delay of a key wins.
 *
 * Keys are strings (controllers use `namespace/name`). Ordering is FIFO among ready keys.
 */
export class WorkQueue<K extends string = string> {
  readonly #clock: Clock;
  readonly #baseDelayMs: number;
  readonly #maxDelayMs: number;
  /** Ready keys in FIFO order; never contains a key that is processing. */
  #queue: K[] = [];
  /** Keys that need processing: queued, or re-added while processing. */
  readonly #dirty = new Set<K>();
  readonly #processing = new Set<K>();
  readonly #delayed = new Map<K, Delayed>();
  readonly #failures = new Map<K, number>();
  #getters: Array<(key: K | undefined) => void> = [];
  #shuttingDown = false;
  #drained: Array<() => void> = [];

  constructor(opts: WorkQueueOptions = {}) {
    this.#clock = opts.clock ?? realClock;
    this.#baseDelayMs = opts.baseDelayMs ?? DEFAULT_BASE_DELAY_MS;
    this.#maxDelayMs = opts.maxDelayMs ?? DEFAULT_MAX_DELAY_MS;
    if (!(this.#baseDelayMs > 0) || !(this.#maxDelayMs >= this.#baseDelayMs)) {
      throw new RangeError(`invalid backoff: base ${this.#baseDelayMs} ms, max ${this.#maxDelayMs} ms`);
    }
  }

  /** Marks `key` as needing processing. No-op if already queued, or after {@link shutDown}. */
  add(key: K): void {
    if (this.#shuttingDown || this.#dirty.has(key)) return;
    this.#dirty.add(key);
    if (this.#processing.has(key)) return; // re-queued by done()
    this.#queue.push(key);
    this.#dispatch();
  }

  /**
   * Adds `key` after `delayMs`. If the key already waits for an earlier time, that time is kept;
   * a later pending time is brought forward. `delayMs <= 0` adds at once.
   */
  addAfter(key: K, delayMs: number): void {
    if (this.#shuttingDown) return;
    if (delayMs <= 0) {
      this.add(key);
      return;
    }
    const readyAt = this.#clock.now() + delayMs;
    const pending = this.#delayed.get(key);
    if (pending !== undefined) {
      if (pending.readyAt <= readyAt) return;
      pending.cancel();
    }
    const cancel = this.#clock.schedule(() => {
      this.#delayed.delete(key);
      this.add(key);
    }, delayMs);
    this.#delayed.set(key, { readyAt, cancel });
  }

  /** Adds `key` after its backoff delay and counts one more failure for it. */
  addRateLimited(key: K): void {
    if (this.#shuttingDown) return;
    const delay = this.nextBackoff(key);
    this.#failures.set(key, this.numRequeues(key) + 1);
    this.addAfter(key, delay);
  }

  /** The delay the next {@link addRateLimited} of `key` would use. */
  nextBackoff(key: K): number {
    const failures = this.numRequeues(key);
    // 2^failures overflows to Infinity long after it passed any sane cap, so min() stays correct.
    return Math.min(this.#baseDelayMs * 2 ** failures, this.#maxDelayMs);
  }

  /** Clears the failure count of `key` (call it after a success). Does not remove a pending delay. */
  forget(key: K): void {
    this.#failures.delete(key);
  }

  /** Consecutive {@link addRateLimited} calls since the last {@link forget}. */
  numRequeues(key: K): number {
    return this.#failures.get(key) ?? 0;
  }

  /**
   * The next ready key, waiting for one if needed; `undefined` once the queue is shut down. The
   * caller owns the key until it calls {@link done}.
   */
  get(): Promise<K | undefined> {
    if (this.#queue.length > 0) return Promise.resolve(this.#take());
    if (this.#shuttingDown) return Promise.resolve(undefined);
    return new Promise((resolve) => this.#getters.push(resolve));
  }

  /** Ends processing of `key`; queues it again if it was added while being processed. */
  done(key: K): void {
    if (!this.#processing.delete(key)) return;
    if (this.#dirty.has(key) && !this.#shuttingDown) {
      this.#queue.push(key);
      this.#dispatch();
    }
    if (this.#shuttingDown && this.#processing.size === 0) {
      for (const resolve of this.#drained.splice(0)) resolve();
    }
  }

  /** Keys ready to be handed out (the queue-depth metric); excludes delayed and in-flight keys. */
  len(): number {
    return this.#queue.length;
  }

  /** Keys currently handed out and not yet {@link done}. */
  processing(): number {
    return this.#processing.size;
  }

  /** Keys waiting for an {@link addAfter} / {@link addRateLimited} delay. */
  delayed(): number {
    return this.#delayed.size;
  }

  isShuttingDown(): boolean {
    return this.#shuttingDown;
  }

  /**
   * Stops the queue: further adds are ignored, pending delays are cancelled, queued keys that no
   * worker has picked up are dropped (a level-triggered controller sees them again on its next
   * start), and waiting {@link get} calls return `undefined`. Keys already handed out may still be
   * {@link done}; the returned promise resolves once every one of them is. Idempotent.
   */
  shutDown(): Promise<void> {
    if (!this.#shuttingDown) {
      this.#shuttingDown = true;
      for (const d of this.#delayed.values()) d.cancel();
      this.#delayed.clear();
      this.#queue = [];
      for (const key of [...this.#dirty]) if (!this.#processing.has(key)) this.#dirty.delete(key);
      for (const resolve of this.#getters.splice(0)) resolve(undefined);
    }
    if (this.#processing.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.#drained.push(resolve));
  }

  #take(): K {
    const key = this.#queue.shift() as K;
    this.#processing.add(key);
    this.#dirty.delete(key);
    return key;
  }

  #dispatch(): void {
    while (this.#getters.length > 0 && this.#queue.length > 0) {
      const resolve = this.#getters.shift();
      resolve?.(this.#take());
    }
  }
}
