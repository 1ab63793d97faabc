import type { Logger } from 'pino';
import type { Component, Consumer, CreateSettings } from '../component/component.ts';
import type { Exporter } from '../component/exporter.ts';
import type { ServiceStatus } from '../component/factory.ts';
import type { ConfiguredComponent, ServiceConfig } from '../config/validate.ts';
import type { RequestBySignal } from '../otlp/model.ts';
import { otlpTypes, type Signal } from '../otlp/schema.ts';
import { countingProcessor } from '../pipeline/counting.ts';
import { type BytesMode, FanoutConsumer } from '../pipeline/fanout.ts';
import type { SignalConsumers } from '../receivers/otlp/consumers.ts';
import type { SelfTelemetry } from '../telemetry/self-telemetry.ts';

/** Feeds one request to several pipelines; each but the last gets its own copy, since processors mutate. */
class MultiPipelineConsumer<S extends Signal> implements Consumer<S> {
  readonly #signal: S;
  readonly #entries: readonly Consumer<S>[];
  constructor(signal: S, entries: readonly Consumer<S>[]) {
    this.#signal = signal;
    this.#entries = entries;
  }
  async consume(data: RequestBySignal[S]): Promise<void> {
    const type = otlpTypes[this.#signal].request;
    const last = this.#entries.length - 1;
    for (let i = 0; i < last; i++) {
      const copy = type.decode(type.encode(data as never).finish()) as unknown as RequestBySignal[S];
      await this.#entries[i]?.consume(copy);
    }
    await this.#entries[last]?.consume(data);
  }
}

/**
 * One running configuration: extensions, exporters, pipelines of processors, receivers. Started
 * downstream-first so a receiver never accepts data before its exporters can take it, and shut
 * down upstream-first so in-flight data drains into the exporters' queues, then out.
 */
export class Service {
  readonly #extensions: Component[] = [];
  readonly #exporters: Component[] = [];
  readonly #processors: Component[] = [];
  readonly #receivers: Component[] = [];
  readonly #logger: Logger;

  constructor(cfg: ServiceConfig, logger: Logger, telemetry: SelfTelemetry, status: () => ServiceStatus) {
    this.#logger = logger;
    // Pipeline entries, filled as pipelines are built; processors that feed a pipeline look theirs up when they emit.
    const pipelineEntries = new Map<string, { signal: Signal; entry: Consumer<Signal> }>();
    const pipeline = <S extends Signal>(pid: string, signal: S): Consumer<S> | undefined => {
      const p = pipelineEntries.get(pid);
      return p && p.signal === signal ? (p.entry as unknown as Consumer<S>) : undefined;
    };
    const settings = (id: string, kind: string): CreateSettings => ({
      id,
      logger: logger.child({ component: id, kind }),
      telemetry,
      pipeline,
    });
    const need = (m: ReadonlyMap<string, ConfiguredComponent>, id: string) => {
      const c = m.get(id);
      if (!c) throw new Error(`component ${id} is not configured`);
      return c;
    };

    for (const id of cfg.serviceExtensions) {
      const c = need(cfg.extensions, id);
      if (c.factory.kind !== 'extension') throw new Error(`${id} is not an extension`);
      this.#extensions.push(c.factory.create(settings(id, 'extension'), c.config, status));
    }

    // One exporter instance per id and signal, shared by every pipeline of that signal (as the Collector does).
    const exporters = new Map<string, Exporter<Signal>>();
    const exporterFor = <S extends Signal>(id: string, signal: S): Exporter<S> => {
      const key = `${id}\u0000${signal}`;
      let e = exporters.get(key);
      if (!e) {
        const c = need(cfg.exporters, id);
        if (c.factory.kind !== 'exporter') throw new Error(`${id} is not an exporter`);
        e = c.factory.create(settings(id, 'exporter'), c.config, signal) as Exporter<Signal>;
        exporters.set(key, e);
        this.#exporters.push(e);
      }
      return e as unknown as Exporter<S>;
    };

    const entries = new Map<string, { signal: Signal; consumers: Consumer<Signal>[] }[]>();
    for (const p of cfg.pipelines) {
      const signal = p.signal;
      const mutations = p.processors.map((id) => {
        const f = cfg.processors.get(id)?.factory;
        return f?.kind === 'processor' ? f.mutatesData : undefined;
      });
      const bytes: BytesMode = mutations.every((m) => m === false)
        ? 'received'
        : signal === 'traces' && mutations.every((m) => m === false || m === 'appends')
          ? 'appended'
          : 'encode';
      let next: Consumer<Signal> = new FanoutConsumer(
        signal,
        p.exporters.map((id) => exporterFor(id, signal)),
        bytes,
      );
      for (const id of [...p.processors].reverse()) {
        const c = need(cfg.processors, id);
        if (c.factory.kind !== 'processor') throw new Error(`${id} is not a processor`);
        const factory = c.factory;
        const proc = countingProcessor(
          id,
          signal,
          telemetry,
          (n) => factory.create(settings(id, 'processor'), c.config, signal, n),
          next,
        );
        this.#processors.push(proc);
        next = proc;
      }
      pipelineEntries.set(p.id, { signal, entry: next });
      for (const rid of p.receivers) {
        const list = entries.get(rid) ?? [];
        const slot = list.find((s) => s.signal === signal);
        if (slot) slot.consumers.push(next);
        else list.push({ signal, consumers: [next] });
        entries.set(rid, list);
      }
    }

    for (const [rid, slots] of entries) {
      const c = need(cfg.receivers, rid);
      if (c.factory.kind !== 'receiver') throw new Error(`${rid} is not a receiver`);
      const consumers: Partial<Record<Signal, Consumer<Signal>>> = {};
      for (const s of slots) {
        consumers[s.signal] =
          s.consumers.length === 1 ? s.consumers[0] : new MultiPipelineConsumer(s.signal, s.consumers);
      }
      this.#receivers.push(
        c.factory.create(settings(rid, 'receiver'), c.config, consumers as SignalConsumers),
      );
    }
  }

  async start(): Promise<void> {
    const started: Component[] = [];
    try {
      for (const group of [this.#extensions, this.#exporters, this.#processors, this.#receivers]) {
        for (const c of group) {
          await c.start();
          started.push(c);
        }
      }
    } catch (err) {
      const deadline = Date.now() + 1000;
      for (const c of started.reverse()) await c.shutdown(deadline);
      throw err;
    }
  }

  /** Stops taking data, then drains queues until `deadline` (epoch ms); what is left is counted as dropped. */
  async shutdown(deadline: number): Promise<void> {
    await this.shutdownListeners(deadline);
    // Upstream first (the list is built last-to-first): a processor that holds data (llm_sampling,
    // llm_evaluation) flushes it into processors that are still running.
    for (const c of [...this.#processors].reverse()) await c.shutdown(deadline);
    await Promise.all(this.#exporters.map((c) => c.shutdown(deadline)));
    this.#logger.debug('service stopped');
  }

  /**
   * First half of a shutdown: receivers and extensions stop listening. Hot reload calls this alone
   * to free the ports for the new configuration while the old exporters keep draining.
   */
  async shutdownListeners(deadline: number): Promise<void> {
    await Promise.all(this.#receivers.map((c) => c.shutdown(deadline)));
    for (const c of this.#extensions) await c.shutdown(deadline);
  }
}
