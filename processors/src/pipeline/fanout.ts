import type { Consumer } from '../component/component.ts';
import type { Exporter } from '../component/exporter.ts';
import type { Reservation } from '../exporterhelper/queue.ts';
import { countItems } from '../otlp/count.ts';
import type { RequestBySignal } from '../otlp/model.ts';
import { receivedBytes } from '../otlp/received-bytes.ts';
import type { Signal } from '../otlp/schema.ts';

/**
 * The end of a pipeline: hands one request to every exporter, all or none. Each exporter encodes
 * it once and reserves queue room; if any has no room, every reservation is released and the error
 * goes back to the receiver, so a retrying sender never duplicates data at the exporters that had room.
 */
export class FanoutConsumer<S extends Signal> implements Consumer<S> {
  readonly #signal: S;
  readonly #exporters: readonly Exporter<S>[];
  readonly #unchangedByPipeline: boolean;

  /** `unchangedByPipeline`: no processor before this fan-out changes data (see received-bytes.ts). */
  constructor(signal: S, exporters: readonly Exporter<S>[], unchangedByPipeline = false) {
    this.#signal = signal;
    this.#exporters = exporters;
    this.#unchangedByPipeline = unchangedByPipeline;
  }

  async consume(data: RequestBySignal[S]): Promise<void> {
    const items = countItems(this.#signal, data);
    const reserved: Reservation[] = [];
    const raw = this.#unchangedByPipeline ? receivedBytes(data) : undefined;
    try {
      for (const e of this.#exporters) reserved.push(e.prepare(data, items, raw));
    } catch (err) {
      for (const r of reserved) r.release();
      throw err;
    }
    for (const r of reserved) r.commit();
  }
}
