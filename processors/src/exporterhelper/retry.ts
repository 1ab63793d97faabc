/** The Collector's `retry_on_failure` block, durations in ms. */
export interface RetrySettings {
  readonly enabled: boolean;
  readonly initialIntervalMs: number;
  readonly maxIntervalMs: number;
  /** 0 means retry forever. */
  readonly maxElapsedMs: number;
  readonly multiplier: number;
  readonly randomizationFactor: number;
}

/** The Collector's defaults (exporterhelper): 5 s, 30 s, 300 s, ×1.5, ±50 %. */
export const DEFAULT_RETRY: RetrySettings = {
  enabled: true,
  initialIntervalMs: 5_000,
  maxIntervalMs: 30_000,
  maxElapsedMs: 300_000,
  multiplier: 1.5,
  randomizationFactor: 0.5,
};

/** Exponential backoff with jitter; `next` returns undefined when the elapsed budget is spent. */
export class Backoff {
  readonly #s: RetrySettings;
  readonly #start: number;
  #interval: number;
  readonly #random: () => number;
  readonly #now: () => number;

  constructor(s: RetrySettings, now: () => number = Date.now, random: () => number = Math.random) {
    this.#s = s;
    this.#now = now;
    this.#random = random;
    this.#start = now();
    this.#interval = s.initialIntervalMs;
  }

  /**
   * Delay before the next attempt. A server's Retry-After wins over the computed delay (the OTLP
   * spec asks clients to honour it), but never beyond the elapsed budget.
   */
  next(retryAfterMs?: number): number | undefined {
    const delta = this.#s.randomizationFactor * this.#interval;
    const jittered = this.#interval - delta + this.#random() * 2 * delta;
    this.#interval = Math.min(this.#interval * this.#s.multiplier, this.#s.maxIntervalMs);
    const delay = retryAfterMs !== undefined ? Math.max(retryAfterMs, 0) : jittered;
    if (this.#s.maxElapsedMs > 0 && this.#now() - this.#start + delay > this.#s.maxElapsedMs)
      return undefined;
    return delay;
  }
}

/** Parses Retry-After: delta-seconds or an HTTP date. */
export function parseRetryAfter(value: string | null | undefined, now = Date.now()): number | undefined {
  if (!value) return undefined;
  if (/^\d+$/.test(value.trim())) return Number(value.trim()) * 1000;
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(at - now, 0);
}
