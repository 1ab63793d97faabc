import { rmSync } from 'node:fs';

/**
 * What a benchmark run has started and where it writes: the stops of its running processes and its
 * folder, so that SIGINT or SIGTERM leaves no process behind and the folder goes unless
 * LLMOBS_KEEP_TMP asks to keep it.
 */
export class RunScope {
  readonly #running = new Set<() => Promise<void>>();
  readonly #log: (msg: string) => void;
  /** The run's folder (configs, logs, payloads), removed at the end unless LLMOBS_KEEP_TMP is set. */
  workDir: string | undefined;

  constructor(log: (msg: string) => void) {
    this.#log = log;
  }

  /** Registers a stop; the stop returned runs it once and forgets it, so a signal does not run it again. */
  readonly track = (stop: () => Promise<void>): (() => Promise<void>) => {
    const once = async () => {
      this.#running.delete(once);
      await stop();
    };
    this.#running.add(once);
    return once;
  };

  /** Newest first, so a target drains into the sink before the sink goes; a failing stop is passed over. */
  async stopAll(): Promise<void> {
    for (const stop of [...this.#running].reverse()) await stop().catch(() => {});
  }

  removeWorkDir(): void {
    if (this.workDir && !process.env.LLMOBS_KEEP_TMP) rmSync(this.workDir, { recursive: true, force: true });
    else if (this.workDir) this.#log(`kept ${this.workDir}`);
  }

  /** On SIGINT or SIGTERM: every tracked stop, the folder, exit 130 (forced after 25 s). */
  stopOnSignals(): void {
    for (const signal of ['SIGINT', 'SIGTERM'] as const)
      process.once(signal, () => {
        this.#log(`${signal}, stopping every process it started`);
        const timer = setTimeout(() => process.exit(130), 25_000);
        void (async () => {
          await this.stopAll();
          this.removeWorkDir();
          clearTimeout(timer);
          process.exit(130);
        })();
      });
  }
}
