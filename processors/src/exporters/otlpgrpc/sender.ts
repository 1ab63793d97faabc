import { Client, credentials, Metadata, status } from '@grpc/grpc-js';
import type { Sender, SendResult } from '../../exporterhelper/queued-exporter.ts';
import { decodeResponse } from '../../otlp/codec.ts';
import type { Signal } from '../../otlp/schema.ts';
import { retryInfoDelayMs } from './retry-info.ts';

/** gRPC method of each OTLP export service. */
export const EXPORT_METHOD: Readonly<Record<Signal, string>> = {
  traces: '/opentelemetry.proto.collector.trace.v1.TraceService/Export',
  metrics: '/opentelemetry.proto.collector.metrics.v1.MetricsService/Export',
  logs: '/opentelemetry.proto.collector.logs.v1.LogsService/Export',
};

/**
 * Codes the Collector's otlp exporter retries (as the OTLP spec lists them). RESOURCE_EXHAUSTED is
 * retried only when the server attaches RetryInfo, which says it can recover; every other code is
 * permanent.
 */
const RETRYABLE = new Set<number>([
  status.CANCELLED,
  status.DEADLINE_EXCEEDED,
  status.ABORTED,
  status.OUT_OF_RANGE,
  status.UNAVAILABLE,
  status.DATA_LOSS,
]);

export interface OtlpGrpcSenderOptions {
  /** host:port, as in the Collector's otlp_grpc exporter. */
  readonly endpoint: string;
  readonly insecure: boolean;
  readonly signal: Signal;
  readonly compression: 'gzip' | 'none';
  readonly headers: Readonly<Record<string, string>>;
  readonly timeoutMs: number;
  /**
   * Bounds of the channel's reconnect backoff, from retry_on_failure. Left to grpc-js (1 s growing to
   * 120 s) the channel would still be waiting to redial minutes after a long outage ended, whatever the
   * exporter's retry interval says: every retry in between fails fast with UNAVAILABLE.
   */
  readonly reconnectBackoff?: { readonly initialMs: number; readonly maxMs: number };
}

const identity = (b: Buffer) => b;

export class OtlpGrpcSender implements Sender {
  readonly canConcat = true;
  readonly #o: OtlpGrpcSenderOptions;
  readonly #client: Client;

  constructor(o: OtlpGrpcSenderOptions) {
    this.#o = o;
    this.#client = new Client(
      o.endpoint,
      o.insecure ? credentials.createInsecure() : credentials.createSsl(),
      {
        'grpc.default_compression_algorithm': o.compression === 'gzip' ? 2 : 0,
        'grpc.max_send_message_length': -1,
        ...(o.reconnectBackoff && o.reconnectBackoff.initialMs > 0
          ? {
              'grpc.initial_reconnect_backoff_ms': o.reconnectBackoff.initialMs,
              'grpc.max_reconnect_backoff_ms': Math.max(
                o.reconnectBackoff.maxMs,
                o.reconnectBackoff.initialMs,
              ),
            }
          : {}),
      },
    );
  }

  send(body: Uint8Array, abort: AbortSignal): Promise<SendResult> {
    const md = new Metadata();
    for (const [k, v] of Object.entries(this.#o.headers)) md.set(k.toLowerCase(), v);
    return new Promise((resolve) => {
      const call = this.#client.makeUnaryRequest<Buffer, Buffer>(
        EXPORT_METHOD[this.#o.signal],
        identity,
        identity,
        Buffer.from(body.buffer, body.byteOffset, body.byteLength),
        md,
        { deadline: Date.now() + this.#o.timeoutMs },
        (err, res) => {
          abort.removeEventListener('abort', cancel);
          if (!err) {
            try {
              const partial = res ? decodeResponse(this.#o.signal, res, 'protobuf') : undefined;
              resolve(partial ? { kind: 'ok', partial } : { kind: 'ok' });
            } catch {
              resolve({ kind: 'ok' });
            }
            return;
          }
          const message = `${this.#o.endpoint} ${EXPORT_METHOD[this.#o.signal]}: ${err.message}`;
          const details = err.metadata?.get('grpc-status-details-bin')[0];
          const retryAfterMs = retryInfoDelayMs(typeof details === 'string' ? undefined : details);
          const retryable =
            RETRYABLE.has(err.code) || (err.code === status.RESOURCE_EXHAUSTED && retryAfterMs !== undefined);
          if (!retryable) resolve({ kind: 'permanent', message });
          // The server's delay replaces the backoff's, as the Collector's throttle retry does.
          else if (retryAfterMs) resolve({ kind: 'retryable', message, retryAfterMs });
          else resolve({ kind: 'retryable', message });
        },
      );
      const cancel = () => call.cancel();
      abort.addEventListener('abort', cancel, { once: true });
    });
  }

  async close(): Promise<void> {
    this.#client.close();
  }
}
