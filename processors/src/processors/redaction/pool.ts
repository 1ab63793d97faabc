import { Worker } from 'node:worker_threads';
import { BackpressureError } from '../../component/errors.ts';
import { decodeRequest, encodeRequest } from '../../otlp/codec.ts';
import type { RequestBySignal } from '../../otlp/model.ts';
import type { Signal } from '../../otlp/schema.ts';
import type { FailClosedReason } from './entities.ts';
import { type JobReply, type JobRequest, READY } from './worker-protocol.ts';

export interface PoolOptions {
  readonly size: number;
  /** A job running longer than this is abandoned: its worker is terminated and replaced. */
  readonly timeoutMs: number;
  /** Requests waiting for a free worker, at most; more are refused with back-pressure. */
  readonly maxQueued: number;
  /** The processor's config block: each worker compiles its own copy of the rules from it. */
  readonly block: Record<string, unknown>;
  /** The worker's module; tests substitute one that crashes or hangs. */
  readonly workerUrl?: URL;
}

export interface PoolResult<S extends Signal> {
  readonly data: RequestBySignal[S];
  readonly redactions: readonly (readonly [string, number])[];
  readonly failClosed: readonly (readonly [FailClosedReason, number])[];
}

/** Why a request could not be redacted by a worker; the `reason` label of the fail-closed counter. */
export type WorkerFailureReason = 'error' | 'worker_crash' | 'worker_timeout';

/** The pool could not redact a request: the caller refuses it (fail closed), never passes it on. */
export class WorkerFailure extends Error {
  override readonly name = 'WorkerFailure';
  readonly reason: WorkerFailureReason;
  constructor(reason: WorkerFailureReason, message: string) {
    super(message);
    this.reason = reason;
  }
}

interface Job {
  readonly id: number;
  readonly signal: Signal;
  readonly body: ArrayBuffer;
  readonly resolve: (reply: JobReply & { ok: true }) => void;
  readonly reject: (err: Error) => void;
  timer?: NodeJS.Timeout;
}

interface Slot {
  worker: Worker;
  /** The worker has compiled its rules: a job sent now runs at once, so its timeout is fair. */
  ready: boolean;
  job: Job | undefined;
  /** Settles the first worker's start: ready, or failed before it was. */
  started?: { resolve: () => void; reject: (err: Error) => void };
}

/** A worker that fails with no job in flight (it cannot even start) is restarted after this long. */
const RESTART_DELAY_MS = 1000;

/**
 * Redacts requests on `size` worker threads, one request per worker at a time, first come first
 * served. A request waits while every worker is busy, up to `maxQueued` of them; beyond that it is
 * refused with back-pressure (the receiver answers 503 with Retry-After). A worker that crashes or
 * overruns the timeout is terminated and replaced, and its request is rejected with a
 * {@link WorkerFailure}: the caller drops it and counts the reason, it never passes unredacted.
 */
export class RedactionPool {
  readonly #o: PoolOptions;
  readonly #url: URL;
  readonly #slots: Slot[] = [];
  readonly #queue: Job[] = [];
  readonly #started: Promise<void>[] = [];
  #nextId = 1;
  #closed = false;

  constructor(opts: PoolOptions) {
    this.#o = opts;
    this.#url = opts.workerUrl ?? new URL('./worker.ts', import.meta.url);
    for (let i = 0; i < opts.size; i++) {
      const slot: Slot = { worker: this.#spawn(() => slot), ready: false, job: undefined };
      const started = new Promise<void>((resolve, reject) => {
        slot.started = { resolve, reject };
      });
      started.catch(() => {}); // also reported by ready(), if anyone asks
      this.#started.push(started);
      this.#slots.push(slot);
    }
  }

  /** Resolves when every worker has compiled its rules; rejects if one failed before it could. */
  async ready(): Promise<void> {
    await Promise.all(this.#started);
  }

  async redact<S extends Signal>(signal: S, data: RequestBySignal[S]): Promise<PoolResult<S>> {
    if (this.#closed) throw new BackpressureError('redaction workers are shutting down');
    const idle = this.#slots.some((s) => s.ready && s.job === undefined);
    if (!idle && this.#queue.length >= this.#o.maxQueued)
      throw new BackpressureError('every redaction worker is busy', 1);
    const encoded = encodeRequest(signal, data, 'protobuf');
    // A buffer of its own (the encoder's may be a view of Node's shared pool, which cannot be
    // transferred), so it can be handed over without another copy.
    const body = new Uint8Array(encoded).buffer;
    const reply = await new Promise<JobReply & { ok: true }>((resolve, reject) => {
      this.#queue.push({ id: this.#nextId++, signal, body, resolve, reject });
      this.#dispatch();
    });
    return {
      data: decodeRequest(signal, new Uint8Array(reply.body), 'protobuf'),
      redactions: reply.redactions,
      failClosed: reply.failClosed,
    };
  }

  /** Refuses queued and running requests (retryable) and stops every worker. */
  async close(): Promise<void> {
    this.#closed = true;
    const stopping = new BackpressureError('redaction workers are shutting down');
    for (const job of this.#queue.splice(0)) job.reject(stopping);
    await Promise.all(
      this.#slots.map(async (slot) => {
        const job = slot.job;
        slot.job = undefined;
        if (job) {
          clearTimeout(job.timer);
          job.reject(stopping);
        }
        await slot.worker.terminate();
      }),
    );
  }

  #dispatch(): void {
    for (const slot of this.#slots) {
      if (this.#queue.length === 0) return;
      if (!slot.ready || slot.job !== undefined) continue;
      const job = this.#queue.shift();
      if (!job) return;
      slot.job = job;
      job.timer = setTimeout(
        () =>
          this.#replace(slot, new WorkerFailure('worker_timeout', `no answer in ${this.#o.timeoutMs} ms`)),
        this.#o.timeoutMs,
      );
      // A busy worker keeps the process alive until it answers; an idle one does not.
      slot.worker.ref();
      const msg: JobRequest = { id: job.id, signal: job.signal, body: job.body };
      slot.worker.postMessage(msg, [job.body]);
    }
  }

  #spawn(slotOf: () => Slot): Worker {
    const worker = new Worker(this.#url, { workerData: { block: this.#o.block } });
    worker.unref();
    // Events from a worker that was already replaced are ignored.
    const current = () => slotOf().worker === worker;
    worker.on('message', (reply: JobReply | typeof READY) => {
      const slot = slotOf();
      if (!current()) return;
      if (reply === READY) {
        slot.ready = true;
        slot.started?.resolve();
        slot.started = undefined;
        this.#dispatch();
        return;
      }
      const job = slot.job;
      if (!job || job.id !== reply.id) return;
      clearTimeout(job.timer);
      slot.job = undefined;
      worker.unref();
      if (reply.ok) job.resolve(reply);
      else job.reject(new WorkerFailure('error', reply.message));
      this.#dispatch();
    });
    worker.on('error', (err) => {
      if (current()) this.#replace(slotOf(), new WorkerFailure('worker_crash', err.message));
    });
    worker.on('exit', (code) => {
      if (current() && !this.#closed)
        this.#replace(slotOf(), new WorkerFailure('worker_crash', `worker exited with code ${code}`));
    });
    return worker;
  }

  /** Terminates a slot's worker, rejects its job with `failure`, and starts a new worker in its place. */
  #replace(slot: Slot, failure: WorkerFailure): void {
    const old = slot.worker;
    const job = slot.job;
    slot.job = undefined;
    slot.ready = false;
    slot.started?.reject(failure);
    slot.started = undefined;
    old.removeAllListeners();
    old.on('error', () => {}); // a late error from a thread being torn down is not news
    void old.terminate();
    if (job) {
      clearTimeout(job.timer);
      job.reject(failure);
    }
    if (this.#closed) return;
    const restart = () => {
      if (this.#closed) return;
      slot.worker = this.#spawn(() => slot);
      this.#dispatch();
    };
    // A worker that fails on its own (its config cannot load) is not restarted in a tight loop;
    // requests meanwhile wait for the other workers or, past the queue bound, get back-pressure.
    if (job) restart();
    else setTimeout(restart, RESTART_DELAY_MS).unref();
  }
}
