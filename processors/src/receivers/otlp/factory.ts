import type { Component } from '../../component/component.ts';
import type { FieldError, ReceiverFactory } from '../../component/factory.ts';
import { DURATION, durationField, parseHostPort, SIZE, sizeField } from '../../config/schema-helpers.ts';
import type { Signal } from '../../otlp/schema.ts';
import { OtlpGrpcServer } from './grpc.ts';
import { HTTP_TIMEOUT_DEFAULTS, type HttpTimeouts, OtlpHttpServer } from './http.ts';

export interface OtlpReceiverConfig {
  readonly grpc?: { host: string; port: number; maxRecvMsgSizeBytes: number };
  readonly http?: {
    host: string;
    port: number;
    maxRequestBodyBytes: number;
    paths: Record<Signal, string>;
    timeouts: HttpTimeouts;
  };
}

const ms = (n: number) => `${n / 1000}s`;

/**
 * The `otlp` receiver, configured exactly like the Collector's: `protocols.grpc` / `protocols.http`,
 * each enabled by being present, listening on localhost unless told otherwise.
 */
export const otlpReceiverFactory: ReceiverFactory<OtlpReceiverConfig> = {
  kind: 'receiver',
  type: 'otlp',
  signals: ['traces', 'metrics', 'logs'],
  schema: {
    type: 'object',
    additionalProperties: false,
    properties: {
      protocols: {
        type: 'object',
        additionalProperties: false,
        properties: {
          grpc: {
            type: ['object', 'null'],
            additionalProperties: false,
            properties: {
              endpoint: { type: 'string', default: 'localhost:4317' },
              max_recv_msg_size_mib: { type: 'integer', minimum: 1, default: 4 },
            },
          },
          http: {
            type: ['object', 'null'],
            additionalProperties: false,
            properties: {
              endpoint: { type: 'string', default: 'localhost:4318' },
              max_request_body_size: { ...SIZE, default: 20 * 1024 * 1024 },
              traces_url_path: { type: 'string', pattern: '^/', default: '/v1/traces' },
              metrics_url_path: { type: 'string', pattern: '^/', default: '/v1/metrics' },
              logs_url_path: { type: 'string', pattern: '^/', default: '/v1/logs' },
              read_header_timeout: { ...DURATION, default: ms(HTTP_TIMEOUT_DEFAULTS.readHeaderMs) },
              read_timeout: { ...DURATION, default: ms(HTTP_TIMEOUT_DEFAULTS.readMs) },
              idle_timeout: { ...DURATION, default: ms(HTTP_TIMEOUT_DEFAULTS.idleMs) },
            },
          },
        },
      },
    },
    required: ['protocols'],
  },
  parse(block) {
    const errors: FieldError[] = [];
    const p = (block.protocols ?? {}) as Record<string, Record<string, unknown> | null | undefined>;
    const cfg: { grpc?: OtlpReceiverConfig['grpc']; http?: OtlpReceiverConfig['http'] } = {};
    if ('grpc' in p) {
      const g = p.grpc ?? {};
      cfg.grpc = {
        ...parseHostPort('protocols.grpc.endpoint', String(g.endpoint ?? 'localhost:4317'), errors),
        maxRecvMsgSizeBytes: Number(g.max_recv_msg_size_mib ?? 4) * 1024 * 1024,
      };
    }
    if ('http' in p) {
      const h = p.http ?? {};
      cfg.http = {
        ...parseHostPort('protocols.http.endpoint', String(h.endpoint ?? 'localhost:4318'), errors),
        maxRequestBodyBytes: sizeField(
          'protocols.http.max_request_body_size',
          (h.max_request_body_size as string | number | undefined) ?? 20 * 1024 * 1024,
          errors,
        ),
        paths: {
          traces: String(h.traces_url_path ?? '/v1/traces'),
          metrics: String(h.metrics_url_path ?? '/v1/metrics'),
          logs: String(h.logs_url_path ?? '/v1/logs'),
        },
        timeouts: {
          readHeaderMs: durationField(
            'protocols.http.read_header_timeout',
            String(h.read_header_timeout ?? ms(HTTP_TIMEOUT_DEFAULTS.readHeaderMs)),
            errors,
          ),
          readMs: durationField(
            'protocols.http.read_timeout',
            String(h.read_timeout ?? ms(HTTP_TIMEOUT_DEFAULTS.readMs)),
            errors,
          ),
          idleMs: durationField(
            'protocols.http.idle_timeout',
            String(h.idle_timeout ?? ms(HTTP_TIMEOUT_DEFAULTS.idleMs)),
            errors,
          ),
        },
      };
      const { readHeaderMs, readMs } = cfg.http.timeouts;
      // Node refuses a header timeout longer than the whole-request one; it could never fire anyway.
      if (readMs > 0 && readHeaderMs > readMs)
        errors.push({ path: 'protocols.http.read_header_timeout', message: 'must not exceed read_timeout' });
    }
    if (!cfg.grpc && !cfg.http)
      errors.push({ path: 'protocols', message: 'must enable at least one of grpc, http' });
    return errors.length > 0 ? errors : cfg;
  },
  create(set, cfg, consumers): Component {
    const ctx = { receiverId: set.id, telemetry: set.telemetry, logger: set.logger };
    const parts: { start(): Promise<void>; shutdown(deadline: number): Promise<void> }[] = [];
    if (cfg.grpc) parts.push(new OtlpGrpcServer(cfg.grpc, { ...ctx, transport: 'grpc' }, consumers));
    if (cfg.http) {
      parts.push(
        new OtlpHttpServer(
          {
            host: cfg.http.host,
            port: cfg.http.port,
            maxRequestBodyBytes: cfg.http.maxRequestBodyBytes,
            paths: cfg.http.paths,
            timeouts: cfg.http.timeouts,
          },
          { ...ctx, transport: 'http' },
          consumers,
        ),
      );
    }
    return {
      async start() {
        for (const p of parts) await p.start();
      },
      async shutdown(deadline) {
        await Promise.all(parts.map((p) => p.shutdown(deadline)));
      },
    };
  },
};
