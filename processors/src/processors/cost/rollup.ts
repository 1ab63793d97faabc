/** What a trace's LLM calls added up to so far. */
export interface TraceTotals {
  cost: number;
  calls: number;
  unpricedCalls: number;
  inputTokens: number;
  outputTokens: number;
}

/**
 * Per-trace sums of LLM cost, kept until the trace's root span arrives. Children end (and are
 * exported) before their root, so by the time the root passes, its trace's calls have been seen —
 * on this replica. Bounded by entries and by age: insertion order is age order, so eviction is a
 * sweep from the head.
 */
export class TraceRollup {
  readonly #traces = new Map<string, { totals: TraceTotals; expires: number }>();
  readonly #max: number;
  readonly #ttlMs: number;
  readonly #onEvict: (reason: 'ttl' | 'capacity', n: number) => void;

  constructor(max: number, ttlMs: number, onEvict: (reason: 'ttl' | 'capacity', n: number) => void) {
    this.#max = max;
    this.#ttlMs = ttlMs;
    this.#onEvict = onEvict;
  }

  get size(): number {
    return this.#traces.size;
  }

  /** The running totals of a trace, created (evicting by age, then by capacity) on its first call. */
  totalsFor(traceId: string, now: number): TraceTotals {
    let e = this.#traces.get(traceId);
    if (!e) {
      this.#sweep(now);
      if (this.#traces.size >= this.#max) {
        const oldest = this.#traces.keys().next().value;
        if (oldest !== undefined) this.#traces.delete(oldest);
        this.#onEvict('capacity', 1);
      }
      e = {
        totals: { cost: 0, calls: 0, unpricedCalls: 0, inputTokens: 0, outputTokens: 0 },
        expires: now + this.#ttlMs,
      };
      this.#traces.set(traceId, e);
    }
    return e.totals;
  }

  /** Removes and returns the trace's totals (its root has arrived). */
  take(traceId: string): TraceTotals | undefined {
    const e = this.#traces.get(traceId);
    if (!e) return undefined;
    this.#traces.delete(traceId);
    return e.totals;
  }

  #sweep(now: number): void {
    let n = 0;
    for (const [id, e] of this.#traces) {
      if (e.expires > now) break;
      this.#traces.delete(id);
      n++;
    }
    if (n > 0) this.#onEvict('ttl', n);
  }
}
