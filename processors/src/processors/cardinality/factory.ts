import type { ProcessorFactory } from '../../component/factory.ts';
import { type CardinalityConfig, CONFIG_SCHEMA, parseCardinalityConfig } from './config.ts';
import { CardinalityLimitProcessor } from './processor.ts';

/**
 * `cardinality_limit`: a per-metric limit on distinct attribute sets for incoming metrics, with the
 * OTel SDK's `otel.metric.overflow=true` series, per-key value caps and attribute allow/deny globs.
 */
export const cardinalityLimitFactory: ProcessorFactory<CardinalityConfig> = {
  kind: 'processor',
  type: 'cardinality_limit',
  signals: ['metrics'],
  schema: CONFIG_SCHEMA,
  parse: (block) => parseCardinalityConfig(block),
  create(set, cfg, signal, next) {
    return new CardinalityLimitProcessor(set, cfg, signal, next);
  },
};
