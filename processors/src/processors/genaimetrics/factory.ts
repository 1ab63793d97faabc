import type { Consumer } from '../../component/component.ts';
import type { ProcessorFactory } from '../../component/factory.ts';
import type { Processor } from '../../component/processor.ts';
import { CONFIG_SCHEMA, type GenAiMetricsConfig, parseGenAiMetricsConfig, pipelineRefs } from './config.ts';
import { GenAiMetricsProcessor } from './processor.ts';

/**
 * `llm_metrics`: GenAI metrics derived from spans, fed into metrics pipelines like a Collector
 * connector, but placed in the traces pipeline as a processor so it sees every span before sampling.
 */
export const genAiMetricsFactory: ProcessorFactory<GenAiMetricsConfig> = {
  kind: 'processor',
  type: 'llm_metrics',
  mutatesData: false,
  signals: ['traces'],
  schema: CONFIG_SCHEMA,
  parse: (block) => parseGenAiMetricsConfig(block),
  emitsTo: (cfg) => pipelineRefs(cfg),
  // Only ever created for traces (signals above), so the signal is 'traces' here.
  create(set, cfg, signal, next) {
    return new GenAiMetricsProcessor(set, cfg, next as unknown as Consumer<'traces'>) as unknown as Processor<
      typeof signal
    >;
  },
};
