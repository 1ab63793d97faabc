import type { Logger } from 'pino';
import { BackpressureError, PermanentError } from '../../component/errors.ts';
import { decodeRequest, type Encoding } from '../../otlp/codec.ts';
import { countItems } from '../../otlp/count.ts';
import { BadRequestError } from '../../otlp/errors.ts';
import { rememberReceivedBytes } from '../../otlp/received-bytes.ts';
import type { Signal } from '../../otlp/schema.ts';
import type { SelfTelemetry } from '../../telemetry/self-telemetry.ts';
import type { SignalConsumers } from './consumers.ts';

/** How an export request ended, independent of transport; each transport maps it to its statuses. */
export type ExportOutcome =
  | { readonly kind: 'accepted' }
  | { readonly kind: 'bad_request'; readonly message: string }
  | { readonly kind: 'backpressure'; readonly message: string; readonly retryAfterSeconds: number }
  | { readonly kind: 'failed'; readonly message: string };

export interface ExportContext {
  readonly receiverId: string;
  readonly transport: 'http' | 'grpc';
  readonly telemetry: SelfTelemetry;
  readonly logger: Logger;
}

/** Decode once, push through the pipelines, and classify the result for the sender. */
export async function handleExport(
  ctx: ExportContext,
  consumers: SignalConsumers,
  signal: Signal,
  body: Uint8Array,
  encoding: Encoding,
): Promise<ExportOutcome> {
  let data: ReturnType<typeof decodeRequest>;
  try {
    data = decodeRequest(signal, body, encoding);
    if (encoding === 'protobuf') rememberReceivedBytes(data, body);
  } catch (err) {
    const message = err instanceof BadRequestError ? err.message : `cannot decode request: ${String(err)}`;
    ctx.logger.debug({ signal, error: message }, 'rejected undecodable request');
    return { kind: 'bad_request', message };
  }
  const items = countItems(signal, data);
  const consumer = consumers[signal] as { consume(d: typeof data): Promise<void> } | undefined;
  if (!consumer) return { kind: 'failed', message: `no ${signal} pipeline` };
  try {
    await consumer.consume(data);
    ctx.telemetry.receiverAccepted(ctx.receiverId, ctx.transport, signal, items);
    return { kind: 'accepted' };
  } catch (err) {
    ctx.telemetry.receiverRefused(ctx.receiverId, ctx.transport, signal, items);
    if (err instanceof BackpressureError) {
      return { kind: 'backpressure', message: err.message, retryAfterSeconds: err.retryAfterSeconds };
    }
    if (err instanceof PermanentError) {
      ctx.telemetry.drop(ctx.receiverId, signal, 'processor_error', items);
      return { kind: 'bad_request', message: err.message };
    }
    ctx.telemetry.drop(ctx.receiverId, signal, 'processor_error', items);
    ctx.logger.error({ err, signal }, 'pipeline failed');
    return { kind: 'failed', message: `internal error: ${(err as Error).message}` };
  }
}
