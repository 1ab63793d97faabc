import type { Consumer, CreateSettings } from '../../component/component.ts';
import { BackpressureError } from '../../component/errors.ts';
import type { Processor } from '../../component/processor.ts';
import type { RequestBySignal } from '../../otlp/model.ts';
import type { Signal } from '../../otlp/schema.ts';

export interface MemoryLimiterConfig {
  readonly checkIntervalMs: number;
  /** Hard limit on the process's resident memory, bytes. */
  readonly limitBytes: number;
  /** Head-room below the hard limit where refusing starts (the soft limit is limit - spike). */
  readonly spikeLimitBytes: number;
}

/**
 * The Collector's memory_limiter: above the soft limit, refuse new data with a retryable error so
 * senders back off, instead of growing until the kernel kills the process and everything queued is lost.
 */
export class MemoryLimiterProcessor<S extends Signal> implements Processor<S> {
  readonly #set: CreateSettings;
  readonly #cfg: MemoryLimiterConfig;
  readonly #next: Consumer<S>;
  readonly #rss: () => number;
  #timer: NodeJS.Timeout | undefined;
  #refusing = false;

  constructor(
    set: CreateSettings,
    cfg: MemoryLimiterConfig,
    next: Consumer<S>,
    rss: () => number = () => process.memoryUsage.rss(),
  ) {
    this.#set = set;
    this.#cfg = cfg;
    this.#next = next;
    this.#rss = rss;
  }

  check(): void {
    const used = this.#rss();
    const refusing = used > this.#cfg.limitBytes - this.#cfg.spikeLimitBytes;
    if (refusing !== this.#refusing) {
      this.#set.logger.warn(
        { rssBytes: used, limitBytes: this.#cfg.limitBytes },
        refusing ? 'memory above soft limit, refusing data' : 'memory back under soft limit',
      );
      if (refusing) global.gc?.();
    }
    this.#refusing = refusing;
  }

  async consume(data: RequestBySignal[S]): Promise<void> {
    if (this.#refusing)
      throw new BackpressureError('memory limiter: data refused, process memory is above the soft limit', 5);
    return this.#next.consume(data);
  }

  async start(): Promise<void> {
    this.check();
    this.#timer = setInterval(() => this.check(), this.#cfg.checkIntervalMs);
    this.#timer.unref();
  }

  async shutdown(): Promise<void> {
    clearInterval(this.#timer);
  }
}
