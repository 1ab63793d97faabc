import type { Consumer } from '../../component/component.ts';
import type { ProcessorFactory } from '../../component/factory.ts';
import type { Processor } from '../../component/processor.ts';
import { CONFIG_SCHEMA, parseSamplingConfig, type SamplingConfig } from './config.ts';
import { SamplingProcessor } from './processor.ts';

/**
 * `llm_sampling`: tail-based sampling per trace. Keeps every trace with errors, guardrail or
 * validation failures, high latency or cost, low evaluation scores or negative feedback, and a
 * consistent, trace-id-based share of the rest. Put it last, after llm_cost and llm_metrics.
 */
export const samplingFactory: ProcessorFactory<SamplingConfig> = {
  kind: 'processor',
  type: 'llm_sampling',
  signals: ['traces'],
  schema: CONFIG_SCHEMA,
  parse: (block) => parseSamplingConfig(block),
  // Only ever created for traces (signals above), so the signal is 'traces' here.
  create(set, cfg, signal, next) {
    return new SamplingProcessor(set, cfg, next as unknown as Consumer<'traces'>) as unknown as Processor<
      typeof signal
    >;
  },
};
