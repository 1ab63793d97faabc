import { Counter, type Registry } from 'prom-client';
import type { AdmissionEvent, EventRecorder } from './events.ts';

export const EVENTS_DROPPED_TOTAL = 'llmobs_webhook_events_dropped_total';

export interface EventRate {
  /** Events that may go out at once. */
  readonly burst: number;
  /** Sustained events per second. */
  readonly perSecond: number;
}

export interface EventLimits {
  readonly Normal: EventRate;
  readonly Warning: EventRate;
}

/**
 * An Event is an apiserver write, as costly as the pod it is about: one per admission would double the
 * apiserver's writes in a burst of pod creations. client-go's recorders are held back by their client's
 * rate limit and spam filter; this does the same with one bucket per event type, Warnings getting the
 * larger share since they are the ones someone acts on. What is dropped is counted, and the pod's own
 * annotations (`llmobs.dev/injection-status`, `-reason`) still say what happened to every pod.
 */
export const DEFAULT_EVENT_LIMITS: EventLimits = {
  Normal: { burst: 25, perSecond: 1 },
  Warning: { burst: 50, perSecond: 5 },
};

class Bucket {
  readonly #rate: EventRate;
  #tokens: number;
  #at: number;

  constructor(rate: EventRate, now: number) {
    this.#rate = rate;
    this.#tokens = rate.burst;
    this.#at = now;
  }

  take(now: number): boolean {
    if (now > this.#at) {
      this.#tokens = Math.min(
        this.#rate.burst,
        this.#tokens + ((now - this.#at) / 1000) * this.#rate.perSecond,
      );
      this.#at = now;
    }
    if (this.#tokens < 1) return false;
    this.#tokens -= 1;
    return true;
  }
}

/** Passes Events to `inner` while its type's bucket has tokens, drops and counts the rest. */
export class RateLimitedEventRecorder implements EventRecorder {
  readonly #inner: EventRecorder;
  readonly #now: () => number;
  readonly #buckets: Record<AdmissionEvent['type'], Bucket>;
  readonly #dropped: Counter<'type' | 'reason'>;

  constructor(
    inner: EventRecorder,
    registry: Registry,
    opts: { limits?: EventLimits; now?: () => number } = {},
  ) {
    this.#inner = inner;
    this.#now = opts.now ?? Date.now;
    const limits = opts.limits ?? DEFAULT_EVENT_LIMITS;
    const now = this.#now();
    this.#buckets = { Normal: new Bucket(limits.Normal, now), Warning: new Bucket(limits.Warning, now) };
    this.#dropped =
      (registry.getSingleMetric(EVENTS_DROPPED_TOTAL) as Counter<'type' | 'reason'> | undefined) ??
      new Counter({
        name: EVENTS_DROPPED_TOTAL,
        help: 'Admission Events not written because their type was over its rate (the pod annotations still tell).',
        labelNames: ['type', 'reason'],
        registers: [registry],
      });
  }

  async record(event: AdmissionEvent): Promise<void> {
    if (!this.#buckets[event.type].take(this.#now())) {
      this.#dropped.inc({ type: event.type, reason: event.reason });
      return;
    }
    await this.#inner.record(event);
  }
}
