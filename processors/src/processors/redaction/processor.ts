import type { Consumer, CreateSettings } from '../../component/component.ts';
import { PermanentError } from '../../component/errors.ts';
import type { Processor } from '../../component/processor.ts';
import type { LogsRequest, MetricsRequest, RequestBySignal, TracesRequest } from '../../otlp/model.ts';
import type { Signal } from '../../otlp/schema.ts';
import type { RedactionConfig } from './config.ts';
import { Tally } from './redactor.ts';

/**
 * `llm_redaction`: redacts PII and secrets in place in every string-bearing field, then hands the
 * request on. Counts go to /metrics (llmobs_redactions_total, llmobs_redaction_failclosed_total),
 * never onto the data unless `summary` is on. Fails closed: a value that cannot be scanned is
 * replaced, and if the walk itself fails the request is refused (dropped and counted), never
 * passed through unredacted.
 */
export class RedactionProcessor<S extends Signal> implements Processor<S> {
  readonly #set: CreateSettings;
  readonly #cfg: RedactionConfig;
  readonly #signal: S;
  readonly #next: Consumer<S>;

  constructor(set: CreateSettings, cfg: RedactionConfig, signal: S, next: Consumer<S>) {
    this.#set = set;
    this.#cfg = cfg;
    this.#signal = signal;
    this.#next = next;
  }

  /** Redacts `data` in place (exposed for tests and benchmarks). */
  redact(data: RequestBySignal[S]): Tally {
    const tally = new Tally();
    const w = this.#cfg.walker;
    if (this.#signal === 'traces') w.traces(data as TracesRequest, tally);
    else if (this.#signal === 'metrics') w.metrics(data as MetricsRequest, tally);
    else w.logs(data as LogsRequest, tally);
    return tally;
  }

  async consume(data: RequestBySignal[S]): Promise<void> {
    let tally: Tally;
    try {
      tally = this.redact(data);
    } catch (err) {
      this.#set.telemetry.redactionFailClosed(this.#set.id, 'error', 1);
      this.#set.logger.error(
        { err, signal: this.#signal },
        'redaction failed; request refused (fail closed)',
      );
      throw new PermanentError(`redaction failed: ${(err as Error).message}`);
    }
    for (const [k, n] of tally.redactions) {
      const [entity = '', key = ''] = k.split('\u0000');
      this.#set.telemetry.redactions(this.#set.id, entity, key, n);
    }
    for (const [reason, n] of tally.failClosed)
      this.#set.telemetry.redactionFailClosed(this.#set.id, reason, n);
    return this.#next.consume(data);
  }

  async start(): Promise<void> {
    this.#set.logger.info({ entities: this.#cfg.entities, keyId: this.#cfg.keyId }, 'llm_redaction ready');
  }

  async shutdown(): Promise<void> {}
}
