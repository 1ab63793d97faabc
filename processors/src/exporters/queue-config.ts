import type { FieldError } from '../component/factory.ts';
import { DURATION, durationField, SIZE, sizeField } from '../config/schema-helpers.ts';
import type { QueueSettings } from '../exporterhelper/queued-exporter.ts';
import { DEFAULT_RETRY, type RetrySettings } from '../exporterhelper/retry.ts';

/** `sending_queue`, `retry_on_failure` and `timeout`, shared by the OTLP exporters as in the Collector. */
export const QUEUE_RETRY_SCHEMA = {
  timeout: { ...DURATION, default: '30s' },
  sending_queue: {
    type: 'object',
    additionalProperties: false,
    default: {},
    properties: {
      enabled: {
        const: true,
        default: true,
        description: 'the queue is what lets the receiver answer early; it cannot be turned off',
      },
      sizer: { const: 'bytes', default: 'bytes' },
      queue_size: { ...SIZE, default: 64 * 1024 * 1024 },
      num_consumers: { type: 'integer', minimum: 1, maximum: 256, default: 4 },
      batch: {
        type: 'object',
        additionalProperties: false,
        default: {},
        properties: { max_size: { ...SIZE, default: 4 * 1024 * 1024 } },
      },
      storage: {
        type: 'object',
        additionalProperties: false,
        required: ['directory'],
        description:
          'keep the queue on disk (one folder per exporter and signal below directory): nothing acknowledged to a sender is lost when the process dies',
        properties: {
          directory: { type: 'string', minLength: 1 },
          fsync: {
            type: 'boolean',
            default: true,
            description:
              'fdatasync each accepted request before answering the sender (false: page cache only)',
          },
        },
      },
    },
  },
  retry_on_failure: {
    type: 'object',
    additionalProperties: false,
    default: {},
    properties: {
      enabled: { type: 'boolean', default: true },
      initial_interval: { ...DURATION, default: '5s' },
      max_interval: { ...DURATION, default: '30s' },
      max_elapsed_time: { ...DURATION, default: '300s' },
      multiplier: { type: 'number', exclusiveMinimum: 1, default: 1.5 },
      randomization_factor: { type: 'number', minimum: 0, maximum: 1, default: 0.5 },
    },
  },
} as const;

export function parseQueueRetry(
  block: Record<string, unknown>,
  errors: FieldError[],
): { queue: QueueSettings; retry: RetrySettings; timeoutMs: number } {
  const q = (block.sending_queue ?? {}) as Record<string, unknown>;
  const r = (block.retry_on_failure ?? {}) as Record<string, unknown>;
  const batch = (q.batch ?? {}) as Record<string, unknown>;
  const storage = q.storage as { directory?: string; fsync?: boolean } | undefined;
  return {
    timeoutMs: durationField('timeout', String(block.timeout ?? '30s'), errors),
    queue: {
      queueSizeBytes: sizeField(
        'sending_queue.queue_size',
        (q.queue_size as string | number) ?? 64 * 1024 * 1024,
        errors,
      ),
      numConsumers: Number(q.num_consumers ?? 4),
      maxBatchBytes: sizeField(
        'sending_queue.batch.max_size',
        (batch.max_size as string | number) ?? 4 * 1024 * 1024,
        errors,
      ),
      ...(storage?.directory
        ? { storage: { directory: storage.directory, fsync: storage.fsync !== false } }
        : {}),
    },
    retry: {
      enabled: r.enabled !== false,
      initialIntervalMs: durationField(
        'retry_on_failure.initial_interval',
        String(r.initial_interval ?? '5s'),
        errors,
      ),
      maxIntervalMs: durationField('retry_on_failure.max_interval', String(r.max_interval ?? '30s'), errors),
      maxElapsedMs: durationField(
        'retry_on_failure.max_elapsed_time',
        String(r.max_elapsed_time ?? '300s'),
        errors,
      ),
      multiplier: Number(r.multiplier ?? DEFAULT_RETRY.multiplier),
      randomizationFactor: Number(r.randomization_factor ?? DEFAULT_RETRY.randomizationFactor),
    },
  };
}
