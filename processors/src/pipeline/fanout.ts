import type { Consumer } from '../component/component.ts';
import type { Exporter } from '../component/exporter.ts';
import type { Reservation } from '../exporterhelper/queue.ts';
import { countItems } from '../otlp/count.ts';
import type { RequestBySignal, TracesRequest } from '../otlp/model.ts';
import { receivedBytes } from '../otlp/received-bytes.ts';
import type { Signal } from '../otlp/schema.ts';
import { patchedBytes } from '../otlp/span-appends.ts';

/** What a pipeline's processors leave of the received bytes (see FanoutConsumer). */
export type BytesMode = 'received' | 'appended' | 'encode';

/**
 * The end of a pipeline: hands one request to every exporter, all or none. Each exporter encodes
 * it once and reserves queue room; if any has no room, every reservation is released and the error
 * goes back to the receiver, so a retrying sender never duplicates data at the exporters that had room.
 */
export class FanoutConsumer<S extends Signal> implements Consumer<S> {
  readonly #signal: S;
  readonly #exporters: readonly Exporter<S>[];
  readonly #bytes: BytesMode;

  /**
   * `bytes`: `received` when no processor before this fan-out changes data (see received-bytes.ts),
   * `appended` when they only append span attributes (see span-appends.ts), else `encode`.
   */
  constructor(signal: S, exporters: readonly Exporter<S>[], bytes: BytesMode = 'encode') {
    this.#signal = signal;
    this.#exporters = exporters;
    this.#bytes = bytes;
  }

  #raw(data: RequestBySignal[S]): Uint8Array | undefined {
    if (this.#bytes === 'encode') return undefined;
    const bytes = receivedBytes(data);
    if (!bytes || this.#bytes === 'received') return bytes;
    return this.#signal === 'traces' ? patchedBytes(data as TracesRequest, bytes) : undefined;
  }

  async consume(data: RequestBySignal[S]): Promise<void> {
    const items = countItems(this.#signal, data);
    const reserved: Reservation[] = [];
    const raw = this.#raw(data);
    try {
      for (const e of this.#exporters) reserved.push(e.prepare(data, items, raw));
    } catch (err) {
      for (const r of reserved) r.release();
      throw err;
    }
    for (const r of reserved) r.commit();
  }
}
