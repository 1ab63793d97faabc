/** A reservation against the cost cap, settled with the call's real cost when it answers. */
export interface Spend {
  readonly at: number;
  readonly bound: number;
  settled: boolean;
}

/**
 * Caps on judge spending: calls per minute and cost per hour, over sliding windows. A call reserves
 * an upper bound of its cost before it starts and settles to the real cost when it answers, so calls
 * in flight together can never overshoot the cap. Memory is bounded by the caps themselves.
 */
export class JudgeBudget {
  readonly #maxPerMinute: number;
  readonly #maxCostPerHour: number;
  readonly #calls: number[] = [];
  readonly #spent: { at: number; cost: number }[] = [];
  #hourCost = 0;
  #reserved = 0;

  /** Infinity disables a cap. */
  constructor(maxPerMinute: number, maxCostPerHour: number) {
    this.#maxPerMinute = maxPerMinute;
    this.#maxCostPerHour = maxCostPerHour;
  }

  /**
   * A reservation when the call may start now; `rate` or `cost` when the cap is reached (skip the
   * call); `wait` when only the reservations of calls in flight stand in the way (try again when one
   * settles).
   */
  take(now: number, costBound: number): 'rate' | 'cost' | 'wait' | Spend {
    while (this.#calls.length > 0 && (this.#calls[0] as number) <= now - 60_000) this.#calls.shift();
    while (this.#spent.length > 0 && (this.#spent[0]?.at as number) <= now - 3_600_000) {
      this.#hourCost -= this.#spent.shift()?.cost ?? 0;
    }
    if (this.#calls.length >= this.#maxPerMinute) return 'rate';
    if (this.#hourCost + costBound > this.#maxCostPerHour) return 'cost';
    if (this.#hourCost + this.#reserved + costBound > this.#maxCostPerHour) return 'wait';
    this.#calls.push(now);
    this.#reserved += costBound;
    return { at: now, bound: costBound, settled: false };
  }

  /** Replaces a reservation by what the call really cost (0 for a call that failed before spending). */
  settle(spend: Spend, actual: number, now = spend.at): void {
    if (spend.settled) return;
    spend.settled = true;
    this.#reserved -= spend.bound;
    if (actual > 0) {
      this.#spent.push({ at: now, cost: actual });
      this.#hourCost += actual;
    }
  }

  /** Cost spent in the last hour (settled calls). */
  get hourCost(): number {
    return this.#hourCost;
  }

  /** Upper bound of what calls in flight may still cost. */
  get reserved(): number {
    return this.#reserved;
  }
}
