/**
 * A set of keys that forgets keys idle for longer than a TTL, in amortised O(1) per operation.
 *
 * The entries live in an insertion-ordered Map, key → stamp, kept in stamp order: a touched key is
 * deleted and re-inserted at the tail, so the least recently used key is always at the head, and
 * expiry only ever looks at the head. Each key is removed at most once per insertion, so sweeping
 * costs O(1) amortised; a sweep that is not due yet costs one comparison.
 *
 * To keep the hot path cheap, a touch re-inserts the key only when its stamp is older than
 * `slack = ttl / 16`; a key therefore expires between `ttl` and `ttl + slack` after it was last
 * seen, never earlier. Pass a monotonic clock (`performance.now()`), in milliseconds: if time goes
 * backwards, expiry is only delayed, never early, and the caller's capacity limits still hold.
 */
export class ExpiringSet {
  readonly #stamps = new Map<string, number>();
  readonly #ttl: number;
  readonly #slack: number;
  /** Earliest time at which the head can have expired. */
  #nextSweep = Number.POSITIVE_INFINITY;

  /** `ttlMs` 0 (or Infinity) means never expire. */
  constructor(ttlMs: number) {
    this.#ttl = ttlMs > 0 && Number.isFinite(ttlMs) ? ttlMs : 0;
    this.#slack = this.#ttl / 16;
  }

  get size(): number {
    return this.#stamps.size;
  }

  has(key: string): boolean {
    return this.#stamps.has(key);
  }

  /** True if the key is in the set; records it as seen at `now`. */
  touch(key: string, now: number): boolean {
    const t = this.#stamps.get(key);
    if (t === undefined) return false;
    if (this.#ttl > 0 && now - t >= this.#slack) {
      this.#stamps.delete(key);
      this.#stamps.set(key, now);
    }
    return true;
  }

  /** Adds a key that is not in the set (call {@link touch} first). */
  add(key: string, now: number): void {
    this.#stamps.delete(key);
    this.#stamps.set(key, now);
    if (this.#ttl > 0 && this.#nextSweep === Number.POSITIVE_INFINITY)
      this.#nextSweep = now + this.#ttl + this.#slack;
  }

  /**
   * Removes the keys idle for longer than the TTL, calling `onExpire` for each; returns how many.
   * Costs one comparison when nothing can have expired yet.
   */
  sweep(now: number, onExpire?: (key: string) => void): number {
    if (now < this.#nextSweep) return 0;
    const horizon = this.#ttl + this.#slack;
    let n = 0;
    for (const [key, t] of this.#stamps) {
      if (t + horizon > now) {
        this.#nextSweep = t + horizon;
        return n;
      }
      this.#stamps.delete(key);
      n++;
      onExpire?.(key);
    }
    this.#nextSweep = Number.POSITIVE_INFINITY;
    return n;
  }

  /** Every key, least recently seen first. */
  keys(): IterableIterator<string> {
    return this.#stamps.keys();
  }

  clear(): void {
    this.#stamps.clear();
    this.#nextSweep = Number.POSITIVE_INFINITY;
  }
}
