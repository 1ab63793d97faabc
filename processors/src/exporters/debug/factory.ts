import type { ExporterFactory } from '../../component/factory.ts';
import { DebugExporter, type Verbosity } from './exporter.ts';

export interface DebugExporterConfig {
  readonly verbosity: Verbosity;
}

/** `debug`: logs what passes, like the Collector's debug exporter. */
export const debugExporterFactory: ExporterFactory<DebugExporterConfig> = {
  kind: 'exporter',
  type: 'debug',
  signals: ['traces', 'metrics', 'logs'],
  schema: {
    type: 'object',
    additionalProperties: false,
    properties: {
      verbosity: { enum: ['basic', 'normal', 'detailed'], default: 'basic' },
      sampling_initial: { type: 'integer' },
      sampling_thereafter: { type: 'integer' },
    },
  },
  parse(block) {
    return { verbosity: (block.verbosity as Verbosity | undefined) ?? 'basic' };
  },
  create(set, cfg, signal) {
    return new DebugExporter(set, signal, cfg.verbosity);
  },
};
