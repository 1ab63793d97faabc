import type { ExporterFactory, FieldError } from '../../component/factory.ts';
import { QueuedExporter, type QueueSettings } from '../../exporterhelper/queued-exporter.ts';
import type { RetrySettings } from '../../exporterhelper/retry.ts';
import { type Encoding, encodeRequest } from '../../otlp/codec.ts';
import type { Signal } from '../../otlp/schema.ts';
import { parseQueueRetry, QUEUE_RETRY_SCHEMA } from '../queue-config.ts';
import { OtlpHttpSender } from './sender.ts';

export interface OtlpHttpExporterConfig {
  readonly urls: Readonly<Record<Signal, string>>;
  readonly encoding: Encoding;
  readonly compression: 'gzip' | 'none';
  readonly headers: Readonly<Record<string, string>>;
  readonly timeoutMs: number;
  readonly queue: QueueSettings;
  readonly retry: RetrySettings;
}

const PATHS: Readonly<Record<Signal, string>> = {
  traces: 'v1/traces',
  metrics: 'v1/metrics',
  logs: 'v1/logs',
};

function validUrl(path: string, value: string, errors: FieldError[]): string {
  try {
    const u = new URL(value);
    if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new Error('scheme must be http or https');
  } catch (err) {
    errors.push({ path, message: `invalid URL "${value}": ${(err as Error).message}` });
  }
  return value;
}

/**
 * `otlp_http` (alias `otlphttp`): the Collector's OTLP/HTTP exporter. `endpoint` is a base URL that
 * gets `/v1/<signal>` appended; `traces_endpoint` etc. are used as given. Headers carry e.g.
 * `DD-API-KEY` for Datadog's intake or `X-Scope-OrgID` for Tempo.
 */
export const otlpHttpExporterFactory: ExporterFactory<OtlpHttpExporterConfig> = {
  kind: 'exporter',
  type: 'otlp_http',
  aliases: ['otlphttp'],
  signals: ['traces', 'metrics', 'logs'],
  schema: {
    type: 'object',
    additionalProperties: false,
    properties: {
      endpoint: { type: 'string' },
      traces_endpoint: { type: 'string' },
      metrics_endpoint: { type: 'string' },
      logs_endpoint: { type: 'string' },
      encoding: { enum: ['proto', 'json'], default: 'proto' },
      compression: { enum: ['gzip', 'none', ''], default: 'gzip' },
      headers: { type: 'object', additionalProperties: { type: 'string' }, default: {} },
      ...QUEUE_RETRY_SCHEMA,
    },
  },
  parse(block) {
    const errors: FieldError[] = [];
    const base = typeof block.endpoint === 'string' ? block.endpoint.replace(/\/+$/, '') : undefined;
    // The base URL is checked once, as written: one error for one bad field, not one per signal.
    if (base !== undefined) validUrl('endpoint', String(block.endpoint), errors);
    const urls = {} as Record<Signal, string>;
    for (const signal of ['traces', 'metrics', 'logs'] as const) {
      const own = block[`${signal}_endpoint`];
      if (typeof own === 'string') urls[signal] = validUrl(`${signal}_endpoint`, own, errors);
      else if (base !== undefined) urls[signal] = `${base}/${PATHS[signal]}`;
    }
    if (base === undefined && Object.keys(urls).length === 0) {
      errors.push({
        path: 'endpoint',
        message: 'must be set (or traces_endpoint / metrics_endpoint / logs_endpoint)',
      });
    }
    const qr = parseQueueRetry(block, errors);
    if (errors.length > 0) return errors;
    return {
      urls,
      encoding: block.encoding === 'json' ? 'json' : 'protobuf',
      compression: block.compression === 'gzip' ? 'gzip' : 'none',
      headers: (block.headers ?? {}) as Record<string, string>,
      ...qr,
    };
  },
  create(set, cfg, signal) {
    const url = cfg.urls[signal];
    if (!url) throw new Error(`exporter ${set.id} has no ${signal} endpoint`);
    const sender = new OtlpHttpSender({
      url,
      signal,
      encoding: cfg.encoding,
      compression: cfg.compression,
      headers: cfg.headers,
      timeoutMs: cfg.timeoutMs,
    });
    return new QueuedExporter(
      set,
      signal,
      (d) => encodeRequest(signal, d, cfg.encoding),
      sender,
      cfg.queue,
      cfg.retry,
      cfg.encoding === 'protobuf',
    );
  },
};
