import type { AnyFactory } from '../component/factory.ts';
import { debugExporterFactory } from '../exporters/debug/factory.ts';
import { otlpGrpcExporterFactory } from '../exporters/otlpgrpc/factory.ts';
import { otlpHttpExporterFactory } from '../exporters/otlphttp/factory.ts';
import { prometheusExporterFactory } from '../exporters/prometheus/factory.ts';
import { healthCheckFactory } from '../extensions/healthcheck/factory.ts';
import { cardinalityLimitFactory } from '../processors/cardinality/factory.ts';
import { costFactory } from '../processors/cost/factory.ts';
import { evaluationFactory } from '../processors/evaluation/factory.ts';
import { genAiMetricsFactory } from '../processors/genaimetrics/factory.ts';
import { memoryLimiterFactory } from '../processors/memorylimiter/factory.ts';
import { redactionFactory } from '../processors/redaction/factory.ts';
import { samplingFactory } from '../processors/sampling/factory.ts';
import { feedbackReceiverFactory } from '../receivers/feedback/factory.ts';
import { otlpReceiverFactory } from '../receivers/otlp/factory.ts';

export type Section = 'receivers' | 'processors' | 'exporters' | 'extensions';

const KIND_OF: Readonly<Record<Section, AnyFactory['kind']>> = {
  receivers: 'receiver',
  processors: 'processor',
  exporters: 'exporter',
  extensions: 'extension',
};

/** Every component type this distribution is built with, like the Collector builder's manifest. */
export class Registry {
  readonly #byKind = new Map<string, Map<string, AnyFactory>>();

  constructor(factories: readonly AnyFactory[]) {
    for (const f of factories) {
      let m = this.#byKind.get(f.kind);
      if (!m) {
        m = new Map();
        this.#byKind.set(f.kind, m);
      }
      for (const name of [f.type, ...(f.aliases ?? [])]) {
        if (m.has(name)) throw new Error(`duplicate ${f.kind} type ${name}`);
        m.set(name, f);
      }
    }
  }

  lookup(section: Section, type: string): AnyFactory | undefined {
    return this.#byKind.get(KIND_OF[section])?.get(type);
  }

  /** Canonical type names of a section, for "valid values" in errors. */
  types(section: Section): string[] {
    return [...new Set([...(this.#byKind.get(KIND_OF[section])?.values() ?? [])].map((f) => f.type))];
  }
}

export function defaultRegistry(): Registry {
  return new Registry([
    otlpReceiverFactory,
    feedbackReceiverFactory,
    memoryLimiterFactory,
    redactionFactory,
    costFactory,
    cardinalityLimitFactory,
    genAiMetricsFactory,
    samplingFactory,
    evaluationFactory,
    otlpHttpExporterFactory,
    otlpGrpcExporterFactory,
    debugExporterFactory,
    prometheusExporterFactory,
    healthCheckFactory,
  ]);
}
