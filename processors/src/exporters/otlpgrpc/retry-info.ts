import protobuf from 'protobufjs';

const RETRY_INFO_TYPE_URL = 'type.googleapis.com/google.rpc.RetryInfo';

/** Field `field` (length-delimited) of each message in `bytes`, or of the message itself. */
function* fields(bytes: Uint8Array, wanted: number): Generator<Uint8Array> {
  const r = protobuf.Reader.create(bytes);
  while (r.pos < r.len) {
    const tag = r.uint32();
    if (tag >>> 3 === wanted && (tag & 7) === 2) yield r.bytes();
    else r.skipType(tag & 7);
  }
}

function stringField(bytes: Uint8Array, field: number): string | undefined {
  for (const b of fields(bytes, field)) return Buffer.from(b).toString('utf8');
  return undefined;
}

/** google.protobuf.Duration in ms: seconds (1, int64) and nanos (2, int32). */
function durationMs(bytes: Uint8Array): number {
  const r = protobuf.Reader.create(bytes);
  let seconds = 0;
  let nanos = 0;
  while (r.pos < r.len) {
    const tag = r.uint32();
    if (tag === 1 << 3) seconds = Number(r.int64());
    else if (tag === 2 << 3) nanos = r.int32();
    else r.skipType(tag & 7);
  }
  return Math.max(seconds * 1000 + nanos / 1e6, 0);
}

/**
 * The server's `google.rpc.RetryInfo` from a call's `grpc-status-details-bin` trailer (a google.rpc.Status
 * whose `details` are Any messages): undefined when the server sent none, else its retry delay in ms
 * (0 when it sent RetryInfo without a delay). The Collector's otlp exporter retries RESOURCE_EXHAUSTED
 * only when this is present, and waits the delay it names.
 */
export function retryInfoDelayMs(statusDetails: Uint8Array | undefined): number | undefined {
  if (!statusDetails || statusDetails.length === 0) return undefined;
  try {
    for (const any of fields(statusDetails, 3)) {
      if (stringField(any, 1) !== RETRY_INFO_TYPE_URL) continue;
      let delay = 0;
      for (const value of fields(any, 2)) for (const d of fields(value, 1)) delay = durationMs(d);
      return delay;
    }
  } catch {
    // A trailer we cannot read is treated as absent: the code alone decides.
  }
  return undefined;
}
