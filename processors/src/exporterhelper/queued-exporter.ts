import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { CreateSettings } from '../component/component.ts';
import { BackpressureError } from '../component/errors.ts';
import type { Exporter } from '../component/exporter.ts';
import type { PartialSuccess } from '../otlp/codec.ts';
import type { RequestBySignal } from '../otlp/model.ts';
import type { Signal } from '../otlp/schema.ts';
import { DiskQueue, type StorageSettings } from './disk-queue.ts';
import { ByteBoundedQueue, type QueueItem, type Reservation } from './queue.ts';
import { Backoff, type RetrySettings } from './retry.ts';

export type SendResult =
  | { readonly kind: 'ok'; readonly partial?: PartialSuccess }
  | { readonly kind: 'retryable'; readonly message: string; readonly retryAfterMs?: number }
  | { readonly kind: 'permanent'; readonly message: string };

/** The transport half of an exporter: one attempt to deliver one encoded batch. */
export interface Sender {
  send(body: Uint8Array, signal: AbortSignal): Promise<SendResult>;
  /** True when encoded requests can be concatenated into one (protobuf repeated fields merge). */
  readonly canConcat: boolean;
  close?(): Promise<void>;
}

/** The Collector's `sending_queue` block, bounded in bytes. */
export interface QueueSettings {
  readonly queueSizeBytes: number;
  readonly numConsumers: number;
  /** Largest batch one send carries (sending_queue.batch.max_size, in bytes). */
  readonly maxBatchBytes: number;
  /** sending_queue.storage: keep a durable copy so a killed process loses nothing it acknowledged. */
  readonly storage?: StorageSettings;
}

/** What became of a batch: finished (sent or dropped, counted) or kept on disk for the next start. */
type Outcome = 'finished' | 'kept';

/**
 * The exporterhelper of this distribution: a byte-bounded queue in front of `numConsumers` senders
 * that batch, retry with backoff (honouring Retry-After) and drop only with a counted reason. A slow
 * backend fills its own queue and pushes back on senders; it never blocks another exporter.
 */
export class QueuedExporter<S extends Signal> implements Exporter<S> {
  readonly #set: CreateSettings;
  readonly #signal: S;
  readonly #encode: (data: RequestBySignal[S]) => Uint8Array;
  readonly #protobuf: boolean;
  readonly #sender: Sender;
  readonly #q: QueueSettings;
  readonly #retry: RetrySettings;
  readonly #queue: ByteBoundedQueue;
  readonly #abort = new AbortController();
  #disk: DiskQueue | undefined;
  /** Items of batches given up at the shutdown deadline that stay on disk (not dropped). */
  #keptItems = 0;
  #workers: Promise<void>[] = [];
  #stopping = false;

  constructor(
    set: CreateSettings,
    signal: S,
    encode: (data: RequestBySignal[S]) => Uint8Array,
    sender: Sender,
    queue: QueueSettings,
    retry: RetrySettings,
    /** The encoder writes OTLP protobuf, so received protobuf bytes can stand in for it. */
    protobuf = false,
  ) {
    this.#protobuf = protobuf;
    this.#set = set;
    this.#signal = signal;
    this.#encode = encode;
    this.#sender = sender;
    this.#q = queue;
    this.#retry = retry;
    this.#queue = new ByteBoundedQueue(queue.queueSizeBytes, (used) =>
      set.telemetry.queueSize(set.id, signal, used),
    );
    set.telemetry.queueCapacity(set.id, signal, queue.queueSizeBytes);
    set.telemetry.queueSize(set.id, signal, 0);
  }

  prepare(data: RequestBySignal[S], items: number, unchanged?: Uint8Array): Reservation {
    const t = this.#set.telemetry;
    if (this.#stopping) {
      t.exporterEnqueueFailed(this.#set.id, this.#signal, items);
      throw new BackpressureError(`exporter ${this.#set.id} is shutting down`, 5);
    }
    const body = unchanged && this.#protobuf ? unchanged : this.#encode(data);
    const full = () => {
      t.exporterEnqueueFailed(this.#set.id, this.#signal, items);
      return new BackpressureError(
        `sending queue of exporter ${this.#set.id} is full (${this.#queue.usedBytes} of ${this.#queue.capacityBytes} bytes)`,
        5,
      );
    };
    if (!this.#queue.fits(body.length)) throw full();
    let seq: number | undefined;
    if (this.#disk) {
      try {
        seq = this.#disk.append(body, items);
      } catch (err) {
        t.exporterEnqueueFailed(this.#set.id, this.#signal, items);
        this.#set.logger.error({ err }, 'cannot write to the sending queue storage');
        throw new BackpressureError(
          `sending queue storage of exporter ${this.#set.id}: ${(err as Error).message}`,
          5,
        );
      }
    }
    const reservation = this.#queue.tryReserve(seq === undefined ? { body, items } : { body, items, seq });
    if (!reservation) throw full();
    if (seq === undefined) return reservation;
    const disk = this.#disk;
    return {
      commit: () => reservation.commit(),
      release: () => {
        reservation.release();
        // The fan-out refused the request as a whole: the sender was told so and will send it again.
        disk?.ack(seq);
      },
    };
  }

  async start(): Promise<void> {
    const storage = this.#q.storage;
    if (storage) {
      // One folder per exporter and signal: each is its own queue, and ids like otlp_http/a are paths.
      const directory = join(storage.directory, this.#set.id.replace(/[^A-Za-z0-9_.-]/g, '_'), this.#signal);
      const { queue, recovery } = DiskQueue.open({ ...storage, directory }, this.#q.queueSizeBytes);
      this.#disk = queue;
      for (const r of recovery.items) this.#queue.restore({ body: r.body, items: r.items, seq: r.seq });
      if (recovery.corruptRecords > 0) {
        this.#set.telemetry.drop(this.#set.id, this.#signal, 'storage_corrupt', recovery.corruptItems);
        this.#set.logger.error(
          { records: recovery.corruptRecords, items: recovery.corruptItems, directory },
          'corrupt records in the sending queue storage, skipped',
        );
      }
      if (recovery.files > 0)
        this.#set.logger.info(
          {
            requests: recovery.items.length,
            items: recovery.items.reduce((n, r) => n + r.items, 0),
            bytes: this.#queue.usedBytes,
            directory,
          },
          'sending queue replayed from storage',
        );
    }
    this.#workers = Array.from({ length: this.#q.numConsumers }, () => this.#work());
  }

  async #work(): Promise<void> {
    for (;;) {
      // Past the shutdown deadline whatever is still queued is counted as dropped by shutdown().
      if (this.#abort.signal.aborted) return;
      const first = await this.#queue.take();
      if (!first) return;
      const batch: QueueItem[] = [first];
      let size = first.body.length;
      if (this.#sender.canConcat) {
        for (let next = this.#queue.takeIfFits(this.#q.maxBatchBytes - size); next; ) {
          batch.push(next);
          size += next.body.length;
          next = this.#queue.takeIfFits(this.#q.maxBatchBytes - size);
        }
      }
      const outcome = await this.#deliver(batch);
      for (const item of batch) {
        this.#queue.finished(item);
        if (outcome === 'finished' && item.seq !== undefined) this.#disk?.ack(item.seq);
        if (outcome === 'kept') this.#keptItems += item.items;
      }
    }
  }

  async #deliver(batch: QueueItem[]): Promise<Outcome> {
    const t = this.#set.telemetry;
    const id = this.#set.id;
    const items = batch.reduce((n, b) => n + b.items, 0);
    const body =
      batch.length === 1 ? (batch[0]?.body ?? new Uint8Array()) : Buffer.concat(batch.map((b) => b.body));
    const backoff = new Backoff(this.#retry);
    for (let attempt = 1; ; attempt++) {
      let result: SendResult;
      try {
        result = await this.#sender.send(body, this.#abort.signal);
      } catch (err) {
        result = { kind: 'retryable', message: (err as Error).message };
      }
      if (result.kind === 'ok') {
        const rejected = Math.min(result.partial?.rejected ?? 0, items);
        t.exporterSent(id, this.#signal, items - rejected);
        if (rejected > 0 || result.partial?.errorMessage) {
          t.exporterSendFailed(id, this.#signal, rejected);
          t.drop(id, this.#signal, 'permanent_error', rejected);
          this.#set.logger.warn(
            { rejected, message: result.partial?.errorMessage },
            'backend accepted part of a batch',
          );
        }
        return 'finished';
      }
      const delay =
        result.kind === 'retryable' && this.#retry.enabled && !this.#abort.signal.aborted
          ? backoff.next(result.retryAfterMs)
          : undefined;
      if (delay === undefined && this.#disk && result.kind === 'retryable' && this.#abort.signal.aborted) {
        // Not a drop: the batch stays on disk and the next start sends it.
        return 'kept';
      }
      if (delay === undefined) {
        const reason =
          result.kind === 'permanent'
            ? 'permanent_error'
            : this.#abort.signal.aborted
              ? 'shutdown'
              : 'retries_exhausted';
        t.exporterSendFailed(id, this.#signal, items);
        t.drop(id, this.#signal, reason, items);
        this.#set.logger.error({ items, attempts: attempt, reason, error: result.message }, 'dropping data');
        return 'finished';
      }
      this.#set.logger.info(
        { attempt, delayMs: Math.round(delay), error: result.message },
        'export failed, will retry',
      );
      try {
        await sleep(delay, undefined, { signal: this.#abort.signal });
      } catch {
        // Aborted at the shutdown deadline; the next attempt fails fast and the batch is counted.
      }
    }
  }

  async shutdown(deadline: number): Promise<void> {
    if (this.#stopping) return;
    this.#stopping = true;
    this.#queue.close();
    const left = Math.max(deadline - Date.now(), 0);
    const timer = setTimeout(() => this.#abort.abort(), left);
    await Promise.all(this.#workers);
    clearTimeout(timer);
    const rest = this.#queue.drain();
    for (const item of rest) {
      if (!this.#disk) this.#set.telemetry.drop(this.#set.id, this.#signal, 'shutdown', item.items);
      this.#queue.finished(item);
    }
    const kept = this.#keptItems + rest.reduce((n, i) => n + i.items, 0);
    if (this.#disk && kept > 0)
      this.#set.logger.info(
        { items: kept, directory: this.#q.storage?.directory },
        'sending queue kept in storage for the next start',
      );
    this.#disk?.close();
    await this.#sender.close?.();
  }
}
