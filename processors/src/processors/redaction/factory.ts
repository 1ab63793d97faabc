import type { ProcessorFactory } from '../../component/factory.ts';
import { CONFIG_SCHEMA, parseRedactionConfig, type RedactionConfig } from './config.ts';
import { RedactionProcessor } from './processor.ts';

/**
 * `llm_redaction`: PII and secret redaction for LLM telemetry (traces, metrics, logs). Every rule,
 * including user patterns (RE2, linear time) and the HMAC key, is compiled when the config loads.
 */
export const redactionFactory: ProcessorFactory<RedactionConfig> = {
  kind: 'processor',
  type: 'llm_redaction',
  signals: ['traces', 'metrics', 'logs'],
  schema: CONFIG_SCHEMA,
  parse: (block) => parseRedactionConfig(block),
  create(set, cfg, signal, next) {
    return new RedactionProcessor(set, cfg, signal, next);
  },
};
