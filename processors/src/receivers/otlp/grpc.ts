import type { Http2Server, ServerHttp2Session } from 'node:http2';
import {
  Server,
  ServerCredentials,
  type ServerUnaryCall,
  type ServiceDefinition,
  type sendUnaryData,
  status,
} from '@grpc/grpc-js';
import { EXPORT_METHOD } from '../../exporters/otlpgrpc/sender.ts';
import { encodeResponse } from '../../otlp/codec.ts';
import type { Signal } from '../../otlp/schema.ts';
import type { SignalConsumers } from './consumers.ts';
import { type ExportContext, handleExport } from './handle.ts';

export interface OtlpGrpcServerOptions {
  readonly host: string;
  readonly port: number;
  readonly maxRecvMsgSizeBytes: number;
}

const identity = (b: Buffer) => b;

/**
 * HTTP/2 flow control for the receiving side. Node's defaults (64 KiB per stream and connection,
 * 16 KiB frames) make a client stop after every 64 KiB of a request and wait for the server's
 * WINDOW_UPDATE: a 500 KB export took 8 round trips, and the receiver alone spent 3–4× the CPU on it
 * that OTLP/HTTP spends on the same bytes. grpc-go (the Collector) grows its windows up to 16 MiB by
 * estimating bandwidth-delay; these fixed windows let a default-sized (4 MiB) message arrive without a
 * stop, and still bound what a client can send ahead of the reader: CONNECTION_WINDOW per connection.
 */
export const STREAM_WINDOW_BYTES = 4 * 1024 * 1024;
export const CONNECTION_WINDOW_BYTES = 16 * 1024 * 1024;
export const MAX_FRAME_BYTES = 1024 * 1024;

/** grpc-go's server keepalive defaults, which the Collector keeps: a ping after 2 h idle, 20 s to answer. */
const KEEPALIVE_TIME_MS = 2 * 60 * 60 * 1000;
const KEEPALIVE_TIMEOUT_MS = 20_000;

/** The empty Export…ServiceResponse of each signal, encoded once (it is the same bytes for every call). */
const ACCEPTED: Readonly<Record<Signal, Buffer>> = {
  traces: Buffer.from(encodeResponse('traces', 'protobuf')),
  metrics: Buffer.from(encodeResponse('metrics', 'protobuf')),
  logs: Buffer.from(encodeResponse('logs', 'protobuf')),
};

function widenWindows(session: ServerHttp2Session): void {
  if (session.destroyed) return;
  session.settings({ initialWindowSize: STREAM_WINDOW_BYTES, maxFrameSize: MAX_FRAME_BYTES });
  session.setLocalWindowSize(CONNECTION_WINDOW_BYTES);
}

/**
 * grpc-js has no option for HTTP/2 settings beyond max_concurrent_streams, so the windows are set on
 * each session of the http2 servers it created. It keeps them in a field its typings call private;
 * if a later grpc-js renames it, the receiver still works at the default windows, and grpc.test.ts
 * fails on the settings it no longer sees.
 */
function http2ServersOf(server: Server): Iterable<Http2Server> | undefined {
  const servers = (server as unknown as { http2Servers?: unknown }).http2Servers;
  return servers instanceof Map ? (servers.keys() as Iterable<Http2Server>) : undefined;
}

/** A signal's OTLP Export service on raw bytes: grpc-js hands over the body, the codec decodes it once. */
export function otlpGrpcService(signal: Signal): ServiceDefinition {
  return {
    Export: {
      path: EXPORT_METHOD[signal],
      requestStream: false,
      responseStream: false,
      requestSerialize: identity,
      requestDeserialize: identity,
      responseSerialize: identity,
      responseDeserialize: identity,
    },
  };
}

/**
 * The OTLP/gRPC receiver: the three Export services, gzip handled by grpc-js. Pipeline push-back
 * becomes UNAVAILABLE, which every OTLP client retries (RESOURCE_EXHAUSTED is only retried with
 * RetryInfo, so it would turn back-pressure into loss).
 */
export class OtlpGrpcServer {
  readonly #o: OtlpGrpcServerOptions;
  readonly #ctx: ExportContext;
  readonly #consumers: SignalConsumers;
  #server: Server | undefined;
  #port = 0;

  constructor(o: OtlpGrpcServerOptions, ctx: ExportContext, consumers: SignalConsumers) {
    this.#o = o;
    this.#ctx = ctx;
    this.#consumers = consumers;
  }

  get port(): number {
    return this.#port;
  }

  async start(): Promise<void> {
    const server = new Server({
      'grpc.max_receive_message_length': this.#o.maxRecvMsgSizeBytes,
      'grpc.keepalive_time_ms': KEEPALIVE_TIME_MS,
      'grpc.keepalive_timeout_ms': KEEPALIVE_TIMEOUT_MS,
      // channelz (grpc-js's introspection service, which nothing here serves) costs bookkeeping per call.
      'grpc.enable_channelz': 0,
    });
    for (const signal of ['traces', 'metrics', 'logs'] as const) {
      if (!this.#consumers[signal]) continue;
      server.addService(otlpGrpcService(signal), {
        Export: (call: ServerUnaryCall<Buffer, Buffer>, cb: sendUnaryData<Buffer>) => {
          void handleExport(this.#ctx, this.#consumers, signal, call.request, 'protobuf').then((outcome) => {
            switch (outcome.kind) {
              case 'accepted':
                return cb(null, ACCEPTED[signal]);
              case 'bad_request':
                this.#ctx.telemetry.rejectedRequest(this.#ctx.receiverId, 'grpc', signal, 'invalid');
                return cb({ code: status.INVALID_ARGUMENT, details: outcome.message });
              case 'backpressure':
                return cb({ code: status.UNAVAILABLE, details: outcome.message });
              case 'failed':
                return cb({ code: status.INTERNAL, details: outcome.message });
            }
          });
        },
      });
    }
    this.#port = await new Promise<number>((resolve, reject) => {
      server.bindAsync(`${this.#o.host}:${this.#o.port}`, ServerCredentials.createInsecure(), (err, port) =>
        err
          ? reject(
              new Error(
                `otlp receiver cannot listen on ${this.#o.host}:${this.#o.port} (grpc): ${err.message}`,
              ),
            )
          : resolve(port),
      );
    });
    this.#server = server;
    const h2 = http2ServersOf(server);
    if (h2) for (const h of h2) h.on('session', widenWindows);
    else this.#ctx.logger.warn('grpc-js http2 servers not found: OTLP/gRPC runs with HTTP/2 default windows');
  }

  async shutdown(deadline: number): Promise<void> {
    const s = this.#server;
    if (!s) return;
    this.#server = undefined;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(
        () => {
          s.forceShutdown();
          resolve();
        },
        Math.max(deadline - Date.now(), 0),
      );
      s.tryShutdown(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }
}
