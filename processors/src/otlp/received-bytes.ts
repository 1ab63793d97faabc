import type { RequestBySignal } from './model.ts';
import type { Signal } from './schema.ts';

/**
 * The protobuf bytes a request was decoded from, kept beside it. A pipeline whose processors never
 * change data can hand these to protobuf exporters instead of encoding the same request again
 * (re-encoding was a quarter of a pass-through pipeline's CPU). Only the pipeline decides that the
 * bytes are still valid: a request that went through a data-changing processor is never sent raw.
 */
const received = new WeakMap<object, Uint8Array>();

export function rememberReceivedBytes<S extends Signal>(data: RequestBySignal[S], bytes: Uint8Array): void {
  received.set(data, bytes);
}

export function receivedBytes<S extends Signal>(data: RequestBySignal[S]): Uint8Array | undefined {
  return received.get(data);
}
