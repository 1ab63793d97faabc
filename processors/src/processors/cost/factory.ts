import type { Consumer } from '../../component/component.ts';
import type { ProcessorFactory } from '../../component/factory.ts';
import type { Processor } from '../../component/processor.ts';
import { CONFIG_SCHEMA, type CostConfig, parseCostConfig } from './config.ts';
import { CostProcessor } from './processor.ts';

/**
 * `llm_cost`: token cost on every LLM span, from the shipped price catalogue plus configured
 * prices, catalogue files and model aliases. Prices are indexed when the config loads.
 */
export const costFactory: ProcessorFactory<CostConfig> = {
  kind: 'processor',
  type: 'llm_cost',
  signals: ['traces'],
  // It only appends span attributes (or says otherwise per request): the received bytes can be patched.
  mutatesData: 'appends',
  schema: CONFIG_SCHEMA,
  parse: (block) => parseCostConfig(block),
  // Only ever created for traces (signals above), so S is 'traces' here.
  create(set, cfg, signal, next) {
    return new CostProcessor(set, cfg, next as unknown as Consumer<'traces'>) as unknown as Processor<
      typeof signal
    >;
  },
};
