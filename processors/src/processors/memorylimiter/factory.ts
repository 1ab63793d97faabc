import type { FieldError, ProcessorFactory } from '../../component/factory.ts';
import { DURATION, durationField } from '../../config/schema-helpers.ts';
import { type MemoryLimiterConfig, MemoryLimiterProcessor } from './processor.ts';

/** `memory_limiter`, with the Collector's settings (limit_mib, spike_limit_mib default 20 % of it). */
export const memoryLimiterFactory: ProcessorFactory<MemoryLimiterConfig> = {
  kind: 'processor',
  type: 'memory_limiter',
  mutatesData: false,
  signals: ['traces', 'metrics', 'logs'],
  schema: {
    type: 'object',
    additionalProperties: false,
    required: ['check_interval', 'limit_mib'],
    properties: {
      check_interval: DURATION,
      limit_mib: { type: 'integer', minimum: 1 },
      spike_limit_mib: { type: 'integer', minimum: 0 },
    },
  },
  parse(block) {
    const errors: FieldError[] = [];
    const limit = Number(block.limit_mib);
    const spike = block.spike_limit_mib === undefined ? Math.floor(limit / 5) : Number(block.spike_limit_mib);
    if (spike >= limit) errors.push({ path: 'spike_limit_mib', message: 'must be smaller than limit_mib' });
    const checkIntervalMs = durationField('check_interval', String(block.check_interval), errors);
    if (errors.length > 0) return errors;
    return { checkIntervalMs, limitBytes: limit * 1024 * 1024, spikeLimitBytes: spike * 1024 * 1024 };
  },
  create(set, cfg, _signal, next) {
    return new MemoryLimiterProcessor(set, cfg, next);
  },
};
