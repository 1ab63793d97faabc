import type { KeyValue } from '../../otlp/model.ts';
import { ExpiringSet } from './expiring-set.ts';
import { OTHER_VALUE } from './overflow.ts';
import { boundedKey, has, valueKey } from './series-key.ts';
import { DEFAULT_SERIES_TTL_MS } from './series-limiter.ts';

export interface ValueCap {
  /** An exact attribute key (no globs: each matched key would need its own cap). */
  readonly key: string;
  /** Distinct values kept; later values become `__other__`. */
  readonly maxValues: number;
}

interface Cap {
  readonly values: ExpiringSet;
  readonly max: number;
}

/**
 * Per-attribute value caps: for each configured key, at most `maxValues` distinct values pass; any
 * other value is replaced by the string `__other__`, so the attribute stays (and dashboards still
 * group by it) but its cardinality is bounded.
 *
 * Which values keep a slot: **first come, with idle expiry** — a value keeps its slot while it keeps
 * appearing and gives it back after `ttlMs` without a point, as series do in the SeriesLimiter.
 * Chosen over top-K by frequency (space-saving, count-min) because a value's membership is stable: a
 * top-K set reshuffles as counts move, so a value flips between its own series and `__other__`,
 * which breaks both series (jagged rates, resets on cumulative sums) exactly around the heavy
 * hitters users look at. The cost: values that arrive first squat their slots until they go idle.
 * Memory: at most `maxValues` keys (≤ 256 characters each) per configured key.
 *
 * The caps are shared by every metric that carries the key (the same 100 `user.id`s pass on every
 * metric), and the literal `__other__` always passes without taking a slot.
 */
export class ValueCaps {
  readonly #caps = new Map<string, Cap>();
  readonly active: boolean;

  constructor(caps: readonly ValueCap[], opts: { readonly ttlMs?: number } = {}) {
    const ttl = opts.ttlMs ?? DEFAULT_SERIES_TTL_MS;
    for (const c of caps) this.#caps.set(c.key, { values: new ExpiringSet(ttl), max: c.maxValues });
    this.active = this.#caps.size > 0;
  }

  /** Values tracked now, across keys. */
  get size(): number {
    let n = 0;
    for (const c of this.#caps.values()) n += c.values.size;
    return n;
  }

  /** Values tracked now for one key. */
  valuesOf(key: string): number {
    return this.#caps.get(key)?.values.size ?? 0;
  }

  /** Configured keys (the bounded label values of a capped-values counter). */
  keys(): IterableIterator<string> {
    return this.#caps.keys();
  }

  /** Forgets values idle for longer than the TTL now (apply does this lazily as it goes). */
  sweep(now: number): void {
    for (const c of this.#caps.values()) c.values.sweep(now);
  }

  /** True if `valueKey` (see `valueKey()`) may pass for `key`; tracks it if there is room. */
  admit(key: string, value: string, now: number): boolean {
    const cap = this.#caps.get(key);
    if (cap === undefined) return true;
    const k = boundedKey(value);
    if (cap.values.touch(k, now)) return true;
    cap.values.sweep(now);
    if (cap.values.size >= cap.max) return false;
    cap.values.add(k, now);
    return true;
  }

  /**
   * Replaces, in place, every value beyond its key's cap with `__other__`; calls `onCapped` with the
   * key for each replacement and returns how many were replaced.
   */
  apply(attrs: KeyValue[], now: number, onCapped?: (key: string) => void): number {
    if (!this.active) return 0;
    let replaced = 0;
    for (const kv of attrs) {
      if (!kv || !this.#caps.has(kv.key)) continue;
      const v = kv.value;
      if (v && has(v, 'stringValue') && v.stringValue === OTHER_VALUE) continue;
      if (this.admit(kv.key, valueKey(v), now)) continue;
      kv.value = { stringValue: OTHER_VALUE };
      replaced++;
      onCapped?.(kv.key);
    }
    return replaced;
  }
}
