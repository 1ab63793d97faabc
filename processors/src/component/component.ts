import type { Logger } from 'pino';
import type { RequestBySignal } from '../otlp/model.ts';
import type { Signal } from '../otlp/schema.ts';
import type { SelfTelemetry } from '../telemetry/self-telemetry.ts';

/** Anything with a lifecycle: receivers, processors, exporters, extensions. */
export interface Component {
  /** Starts listening or sending. Rejects if the component cannot run (e.g. port taken). */
  start(): Promise<void>;
  /**
   * Stops accepting work and flushes what is in flight until `deadline` (epoch ms). Idempotent.
   * Must not reject: anything left unsent by the deadline is counted as dropped.
   */
  shutdown(deadline: number): Promise<void>;
}

/**
 * Takes one decoded request. Resolving means the data is safely handed on (enqueued by every
 * exporter); rejecting means the caller still owns it and should answer the sender with the error.
 * Ownership: the consumer may mutate `data` in place; the caller must not touch it afterwards.
 */
export interface Consumer<S extends Signal> {
  consume(data: RequestBySignal[S]): Promise<void>;
}

/** What every component is created with. */
export interface CreateSettings {
  /** The component id as written in the config, e.g. `otlp_http/tempo`. */
  readonly id: string;
  readonly logger: Logger;
  readonly telemetry: SelfTelemetry;
  /**
   * The entry of a configured pipeline, for processors that feed derived data into one (see
   * ProcessorFactory.emitsTo). Resolved when called, so it works whatever order pipelines are built in.
   */
  readonly pipeline?: <S extends Signal>(id: string, signal: S) => Consumer<S> | undefined;
}
