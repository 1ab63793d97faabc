import type { ExporterFactory, FieldError } from '../../component/factory.ts';
import { QueuedExporter, type QueueSettings } from '../../exporterhelper/queued-exporter.ts';
import type { RetrySettings } from '../../exporterhelper/retry.ts';
import { encodeRequest } from '../../otlp/codec.ts';
import { parseQueueRetry, QUEUE_RETRY_SCHEMA } from '../queue-config.ts';
import { OtlpGrpcSender } from './sender.ts';

export interface OtlpGrpcExporterConfig {
  readonly endpoint: string;
  readonly insecure: boolean;
  readonly compression: 'gzip' | 'none';
  readonly headers: Readonly<Record<string, string>>;
  readonly timeoutMs: number;
  readonly queue: QueueSettings;
  readonly retry: RetrySettings;
}

/** `otlp_grpc` (alias `otlp`): the Collector's OTLP/gRPC exporter. */
export const otlpGrpcExporterFactory: ExporterFactory<OtlpGrpcExporterConfig> = {
  kind: 'exporter',
  type: 'otlp_grpc',
  aliases: ['otlp'],
  signals: ['traces', 'metrics', 'logs'],
  schema: {
    type: 'object',
    additionalProperties: false,
    required: ['endpoint'],
    properties: {
      endpoint: { type: 'string', minLength: 1 },
      tls: {
        type: 'object',
        additionalProperties: false,
        default: {},
        properties: { insecure: { type: 'boolean', default: false } },
      },
      compression: { enum: ['gzip', 'none', ''], default: 'gzip' },
      headers: { type: 'object', additionalProperties: { type: 'string' }, default: {} },
      ...QUEUE_RETRY_SCHEMA,
    },
  },
  parse(block) {
    const errors: FieldError[] = [];
    let endpoint = String(block.endpoint);
    let insecure = ((block.tls ?? {}) as { insecure?: boolean }).insecure === true;
    // Accept a URL too, as the Collector does: http:// means plaintext.
    const m = /^(https?):\/\/([^/]+)\/?$/.exec(endpoint);
    if (m?.[2]) {
      endpoint = m[2];
      if (m[1] === 'http') insecure = true;
    }
    if (!/^[^:/\s]+:\d{1,5}$/.test(endpoint) && !/^\[[^\]]+\]:\d{1,5}$/.test(endpoint)) {
      errors.push({ path: 'endpoint', message: `must be host:port, got "${String(block.endpoint)}"` });
    }
    const qr = parseQueueRetry(block, errors);
    if (errors.length > 0) return errors;
    return {
      endpoint,
      insecure,
      compression: block.compression === 'gzip' ? 'gzip' : 'none',
      headers: (block.headers ?? {}) as Record<string, string>,
      ...qr,
    };
  },
  create(set, cfg, signal) {
    const sender = new OtlpGrpcSender({
      endpoint: cfg.endpoint,
      insecure: cfg.insecure,
      signal,
      compression: cfg.compression,
      headers: cfg.headers,
      timeoutMs: cfg.timeoutMs,
      reconnectBackoff: { initialMs: cfg.retry.initialIntervalMs, maxMs: cfg.retry.maxIntervalMs },
    });
    return new QueuedExporter(
      set,
      signal,
      (d) => encodeRequest(signal, d, 'protobuf'),
      sender,
      cfg.queue,
      cfg.retry,
      true,
    );
  },
};
