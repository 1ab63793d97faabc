/** Cancels a scheduled callback. Calling it after the callback ran, or twice, is a no-op. */
export type Cancel = () => void;

/**
 * Time as the runtime sees it. Everything in `runtime/` that waits (queue delays, informer restarts,
 * leader-election periods) goes through a Clock, so tests can inject {@link FakeClock} and never sleep.
 */
export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
  /** Runs `fn` once after `delayMs` (clamped to ≥ 0). */
  schedule(fn: () => void, delayMs: number): Cancel;
}

/** The wall clock and Node's timers. Timers are not unref'd: a pending delay keeps the process alive. */
export const realClock: Clock = {
  now: () => Date.now(),
  schedule(fn, delayMs) {
    const timer = setTimeout(fn, Math.max(0, delayMs));
    return () => clearTimeout(timer);
  },
};

/**
 * Resolves after `delayMs` on `clock`, or as soon as `signal` aborts (it never rejects: callers check
 * `signal.aborted` afterwards).
 */
export function sleep(clock: Clock, delayMs: number, signal?: AbortSignal): Promise<void> {
  if (signal?.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const onAbort = () => {
      cancel();
      resolve();
    };
    const cancel = clock.schedule(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, delayMs);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

interface FakeTimer {
  readonly seq: number;
  readonly due: number;
  readonly fn: () => void;
}

/** Lets every pending promise continuation (and anything they schedule with setImmediate) run. */
export async function settle(rounds = 3): Promise<void> {
  for (let i = 0; i < rounds; i++) await new Promise<void>((resolve) => setImmediate(resolve));
}

/**
 * A manual clock for tests: time moves only through {@link advance}, which fires due callbacks in
 * order and lets promise continuations run between them, so async loops driven by the clock behave
 * as they would in real time without any real waiting.
 */
export class FakeClock implements Clock {
  #now: number;
  #seq = 0;
  #timers: FakeTimer[] = [];

  constructor(startMs = Date.UTC(2026, 0, 1)) {
    this.#now = startMs;
  }

  now(): number {
    return this.#now;
  }

  schedule(fn: () => void, delayMs: number): Cancel {
    const timer: FakeTimer = { seq: this.#seq++, due: this.#now + Math.max(0, delayMs), fn };
    this.#timers.push(timer);
    return () => {
      this.#timers = this.#timers.filter((t) => t !== timer);
    };
  }

  /** Number of callbacks waiting to fire. */
  pending(): number {
    return this.#timers.length;
  }

  /** Milliseconds until the next callback is due, or undefined when none is scheduled. */
  nextDelay(): number | undefined {
    const next = this.#earliest();
    return next === undefined ? undefined : next.due - this.#now;
  }

  /** Moves time forward by `ms`, firing every callback that falls due on the way, in due order. */
  async advance(ms: number): Promise<void> {
    const target = this.#now + ms;
    await settle();
    for (;;) {
      const next = this.#earliest();
      if (next === undefined || next.due > target) break;
      this.#timers = this.#timers.filter((t) => t !== next);
      this.#now = next.due;
      next.fn();
      await settle();
    }
    this.#now = target;
    await settle();
  }

  #earliest(): FakeTimer | undefined {
    let best: FakeTimer | undefined;
    for (const t of this.#timers) {
      if (best === undefined || t.due < best.due || (t.due === best.due && t.seq < best.seq)) best = t;
    }
    return best;
  }
}
