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

function serviceFor(signal: Signal): ServiceDefinition {
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
    });
    for (const signal of ['traces', 'metrics', 'logs'] as const) {
      if (!this.#consumers[signal]) continue;
      server.addService(serviceFor(signal), {
        Export: (call: ServerUnaryCall<Buffer, Buffer>, cb: sendUnaryData<Buffer>) => {
          void handleExport(this.#ctx, this.#consumers, signal, call.request, 'protobuf').then((outcome) => {
            switch (outcome.kind) {
              case 'accepted':
                return cb(null, Buffer.from(encodeResponse(signal, 'protobuf')));
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
