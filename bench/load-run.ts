import type { SenderHandle } from './http-sender.ts';
import type { LoopRun } from './load-loops.ts';

/** What every load result reports, whatever the generator. OK is HTTP 200, or gRPC OK. */
export interface LoadCounts {
  readonly requests: number;
  readonly okRequests: number;
  /** Spans in the requests answered OK: what the target accepted and must deliver (or count as sampled out). */
  readonly okSpans: number;
  /** Responses by HTTP status or gRPC status name, e.g. { "200": 812, "503": 3 } or { OK: 812 }. */
  readonly statuses: Readonly<Record<string, number>>;
  /** Requests that got no response (connection error, timeout). */
  readonly errors: number;
  readonly firstError?: string;
  readonly elapsedMs: number;
  /** Latencies of the OK responses, ms (open loop only). */
  readonly latenciesMs: readonly number[];
  /** Open loop: sends that started more than 5 ms behind their schedule. */
  readonly lateSends: number;
}

/**
 * One phase's sends through one sender and what came back: requests, OK responses and their spans,
 * responses by status, requests without a response (the first one's error kept), latencies of the OK
 * ones when asked. A generator's run extends it with what it sends and what more it counts.
 */
export abstract class CountedRun implements LoopRun {
  requests = 0;
  okRequests = 0;
  okSpans = 0;
  errors = 0;
  firstError: string | undefined;
  lateSends = 0;
  readonly statuses: Record<string, number> = {};
  readonly latenciesMs: number[] = [];
  readonly #sender: SenderHandle;

  constructor(sender: SenderHandle) {
    this.#sender = sender;
  }

  abstract send(recordLatency: boolean): Promise<void>;

  /** Sends `body` of `spans` spans and counts its answer (`onOk` after an OK one); never rejects. */
  protected sendCounted(
    body: Buffer,
    spans: number,
    recordLatency: boolean,
    onOk: () => void,
  ): Promise<void> {
    this.requests++;
    return new Promise<void>((resolve) => {
      const started = performance.now();
      this.#sender.send(body, (status, ok, error) => {
        if (error !== undefined) {
          this.errors++;
          this.firstError ??= error;
        } else this.statuses[status] = (this.statuses[status] ?? 0) + 1;
        if (ok) {
          this.okRequests++;
          this.okSpans += spans;
          onOk();
          if (recordLatency) this.latenciesMs.push(performance.now() - started);
        }
        resolve();
      });
    });
  }

  /** Closes the sender; the counts of the phase that took `elapsedMs`. */
  protected finish(elapsedMs: number): LoadCounts {
    this.#sender.close();
    return {
      requests: this.requests,
      okRequests: this.okRequests,
      okSpans: this.okSpans,
      statuses: this.statuses,
      errors: this.errors,
      ...(this.firstError ? { firstError: this.firstError } : {}),
      elapsedMs,
      latenciesMs: this.latenciesMs,
      lateSends: this.lateSends,
    };
  }
}
