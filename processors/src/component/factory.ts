import type { Signal } from '../otlp/schema.ts';
import type { SignalConsumers } from '../receivers/otlp/consumers.ts';
import type { Component, Consumer, CreateSettings } from './component.ts';
import type { Exporter } from './exporter.ts';
import type { Processor } from './processor.ts';

/** A JSON Schema (draft 2020-12 subset that ajv understands) for one component's config block. */
export type ConfigSchema = Readonly<Record<string, unknown>>;

/** A config problem: the path below the component (dotted) and what is wrong. */
export interface FieldError {
  readonly path: string;
  readonly message: string;
}

/**
 * What every factory declares, after the Collector's component factories: its type name (and
 * deprecated aliases), the schema of its config with defaults, and how to turn a validated block
 * into the typed config it is created with. Rules are compiled here, once, never per item.
 */
export interface FactoryBase<C> {
  readonly type: string;
  readonly aliases?: readonly string[];
  readonly schema: ConfigSchema;
  /** Checks what the schema cannot and builds the typed config; returns errors instead of throwing. */
  parse(block: Record<string, unknown>): C | FieldError[];
}

export interface ReceiverFactory<C> extends FactoryBase<C> {
  readonly kind: 'receiver';
  readonly signals: readonly Signal[];
  create(set: CreateSettings, cfg: C, consumers: SignalConsumers): Component;
}

export interface ProcessorFactory<C> extends FactoryBase<C> {
  readonly kind: 'processor';
  /**
   * False only for processors that never change data (e.g. memory_limiter): pipelines made of such
   * processors forward the received bytes. `'appends'` for traces processors whose only change is
   * appending span attributes through `appendSpanAttribute` (calling `markChanged` for anything
   * else): their pipelines send the received bytes with the attributes spliced in. Absent means the
   * processor may change data any way.
   */
  readonly mutatesData?: boolean | 'appends';
  readonly signals: readonly Signal[];
  /**
   * Pipelines this processor feeds with data it derives (e.g. llm_metrics → a metrics pipeline), as
   * the Collector's connectors do; the config loader checks they exist and carry `signal`. Such a
   * pipeline needs no receiver of its own.
   */
  emitsTo?(cfg: C): readonly PipelineRef[];
  create<S extends Signal>(set: CreateSettings, cfg: C, signal: S, next: Consumer<S>): Processor<S>;
}

/** A pipeline a processor's config names, and where in that config (for error paths). */
export interface PipelineRef {
  readonly path: string;
  readonly pipeline: string;
  readonly signal: Signal;
}

export interface ExporterFactory<C> extends FactoryBase<C> {
  readonly kind: 'exporter';
  readonly signals: readonly Signal[];
  create<S extends Signal>(set: CreateSettings, cfg: C, signal: S): Exporter<S>;
}

/** Health of the whole service, as extensions report it. */
export interface ServiceStatus {
  readonly ready: boolean;
  readonly since: Date;
}

export interface ExtensionFactory<C> extends FactoryBase<C> {
  readonly kind: 'extension';
  create(set: CreateSettings, cfg: C, status: () => ServiceStatus): Component;
}

/**
 * Any factory, config type erased. Sound because `parse` and `create` are methods (bivariant in their
 * parameters) and a factory only ever receives the config its own `parse` produced.
 */
export type AnyFactory =
  | ReceiverFactory<unknown>
  | ProcessorFactory<unknown>
  | ExporterFactory<unknown>
  | ExtensionFactory<unknown>;
