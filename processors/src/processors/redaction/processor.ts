import type { Consumer, CreateSettings } from '../../component/component.ts';
import { BackpressureError, PermanentError } from '../../component/errors.ts';
import type { Processor } from '../../component/processor.ts';
import type { LogsRequest, MetricsRequest, RequestBySignal, TracesRequest } from '../../otlp/model.ts';
import type { Signal } from '../../otlp/schema.ts';
import type { RedactionConfig } from './config.ts';
import { RedactionPool, WorkerFailure } from './pool.ts';
import { Tally } from './redactor.ts';

/** Requests that may wait per worker before more are refused with back-pressure. */
const QUEUED_PER_WORKER = 4;

/**
 * `llm_redaction`: redacts PII and secrets in place in every string-bearing field, then hands the
 * request on. Counts go to /metrics (llmobs_redactions_total, llmobs_redaction_failclosed_total),
 * never onto the data unless `summary` is on. Fails closed: a value that cannot be scanned is
 * replaced, and if the walk itself fails the request is refused (dropped and counted), never
 * passed through unredacted. With `workers: N` requests are redacted on a pool of worker threads
 * with the same rules; a worker that fails or overruns `worker_timeout` gets its request refused
 * (counted as `worker_crash` / `worker_timeout`), and a full pool answers with back-pressure.
 */
export class RedactionProcessor<S extends Signal> implements Processor<S> {
  readonly #set: CreateSettings;
  readonly #cfg: RedactionConfig;
  readonly #signal: S;
  readonly #next: Consumer<S>;
  readonly #workerUrl: URL | undefined;
  #pool: RedactionPool | undefined;
  #stopped = false;

  /** @param workerUrl the worker module, for tests that need a worker which crashes or hangs. */
  constructor(set: CreateSettings, cfg: RedactionConfig, signal: S, next: Consumer<S>, workerUrl?: URL) {
    this.#set = set;
    this.#cfg = cfg;
    this.#signal = signal;
    this.#next = next;
    this.#workerUrl = workerUrl;
  }

  #workers(): RedactionPool | undefined {
    if (this.#cfg.workers === 0) return undefined;
    if (this.#stopped) throw new BackpressureError('llm_redaction is shutting down');
    this.#pool ??= new RedactionPool({
      size: this.#cfg.workers,
      timeoutMs: this.#cfg.workerTimeoutMs,
      maxQueued: this.#cfg.workers * QUEUED_PER_WORKER,
      block: { ...this.#cfg.block },
      ...(this.#workerUrl ? { workerUrl: this.#workerUrl } : {}),
    });
    return this.#pool;
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
    const pool = this.#workers();
    if (pool) return this.#consumeOn(pool, data);
    let tally: Tally;
    try {
      tally = this.redact(data);
    } catch (err) {
      this.#refuse('error', err);
    }
    this.#count(tally.redactions, tally.failClosed);
    return this.#next.consume(data);
  }

  async #consumeOn(pool: RedactionPool, data: RequestBySignal[S]): Promise<void> {
    let out: RequestBySignal[S];
    try {
      const r = await pool.redact(this.#signal, data);
      out = r.data;
      this.#count(r.redactions, r.failClosed);
    } catch (err) {
      if (err instanceof BackpressureError) throw err;
      this.#refuse(err instanceof WorkerFailure ? err.reason : 'error', err);
    }
    return this.#next.consume(out);
  }

  #count(
    redactions: Iterable<readonly [string, number]>,
    failClosed: Iterable<readonly [string, number]>,
  ): void {
    for (const [k, n] of redactions) {
      const [entity = '', key = ''] = k.split('\u0000');
      this.#set.telemetry.redactions(this.#set.id, entity, key, n);
    }
    for (const [reason, n] of failClosed) this.#set.telemetry.redactionFailClosed(this.#set.id, reason, n);
  }

  /** Counts and logs a request that could not be redacted, and refuses it (fail closed). */
  #refuse(reason: string, err: unknown): never {
    this.#set.telemetry.redactionFailClosed(this.#set.id, reason, 1);
    this.#set.logger.error(
      { err, signal: this.#signal, reason },
      'redaction failed; request refused (fail closed)',
    );
    throw new PermanentError(`redaction failed: ${(err as Error).message}`);
  }

  async start(): Promise<void> {
    // Workers compile the rules themselves: a worker that cannot (a key file it cannot read) fails
    // the start here rather than the first request.
    await this.#workers()?.ready();
    this.#set.logger.info(
      { entities: this.#cfg.entities, keyId: this.#cfg.keyId, workers: this.#cfg.workers },
      'llm_redaction ready',
    );
  }

  async shutdown(): Promise<void> {
    this.#stopped = true;
    const pool = this.#pool;
    this.#pool = undefined;
    await pool?.close();
  }
}
