import type { CreateSettings } from '../../component/component.ts';
import type { Exporter } from '../../component/exporter.ts';
import type { Reservation } from '../../exporterhelper/queue.ts';
import { idToHex } from '../../otlp/ids.ts';
import type { RequestBySignal, TracesRequest } from '../../otlp/model.ts';
import type { Signal } from '../../otlp/schema.ts';
import { otlpTypes } from '../../otlp/schema.ts';

export type Verbosity = 'basic' | 'normal' | 'detailed';

/**
 * Logs what passes, like the Collector's debug exporter: `basic` a count per request, `normal` one
 * line per span, `detailed` the whole request as OTLP/JSON-like data.
 */
export class DebugExporter<S extends Signal> implements Exporter<S> {
  readonly #set: CreateSettings;
  readonly #signal: S;
  readonly #verbosity: Verbosity;

  constructor(set: CreateSettings, signal: S, verbosity: Verbosity) {
    this.#set = set;
    this.#signal = signal;
    this.#verbosity = verbosity;
  }

  prepare(data: RequestBySignal[S], items: number): Reservation {
    return {
      commit: () => {
        this.#log(data, items);
        this.#set.telemetry.exporterSent(this.#set.id, this.#signal, items);
      },
      release: () => {},
    };
  }

  #log(data: RequestBySignal[S], items: number): void {
    const log = this.#set.logger;
    log.info({ signal: this.#signal, items }, `${this.#signal} passed`);
    if (this.#verbosity === 'normal' && this.#signal === 'traces') {
      for (const rs of (data as TracesRequest).resourceSpans) {
        for (const ss of rs.scopeSpans) {
          for (const span of ss.spans) {
            log.info(
              {
                traceId: idToHex(span.traceId ?? new Uint8Array()),
                spanId: idToHex(span.spanId ?? new Uint8Array()),
              },
              span.name ?? '',
            );
          }
        }
      }
    } else if (this.#verbosity === 'detailed') {
      const type = otlpTypes[this.#signal].request;
      log.info(
        { request: type.toObject(data as never, { longs: String, enums: Number, bytes: String }) },
        'detail',
      );
    }
  }

  async start(): Promise<void> {}
  async shutdown(): Promise<void> {}
}
