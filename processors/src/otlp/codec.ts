import type protobuf from 'protobufjs';
import { BadRequestError } from './errors.ts';
import { checkIdLengths } from './id-lengths.ts';
import { fromOtlpJson, toOtlpJson } from './json.ts';
import type { RequestBySignal } from './model.ts';
import { otlpTypes, type Signal } from './schema.ts';

/** The two OTLP encodings; both travel over HTTP, gRPC always uses protobuf. */
export type Encoding = 'protobuf' | 'json';

export const CONTENT_TYPE: Readonly<Record<Encoding, string>> = {
  protobuf: 'application/x-protobuf',
  json: 'application/json',
};

/** Maps a request Content-Type to its encoding; undefined when OTLP does not define it. */
export function encodingOf(contentType: string | undefined): Encoding | undefined {
  const base = contentType?.split(';')[0]?.trim().toLowerCase();
  if (base === 'application/x-protobuf' || base === 'application/protobuf') return 'protobuf';
  if (base === 'application/json') return 'json';
  return undefined;
}

export interface PartialSuccess {
  readonly rejected: number;
  readonly errorMessage: string;
}

const REJECTED_FIELD: Readonly<Record<Signal, string>> = {
  traces: 'rejectedSpans',
  metrics: 'rejectedDataPoints',
  logs: 'rejectedLogRecords',
};

export function decodeRequest<S extends Signal>(
  signal: S,
  body: Uint8Array,
  encoding: Encoding,
): RequestBySignal[S] {
  const type = otlpTypes[signal].request;
  if (encoding === 'json')
    return fromOtlpJson(type, Buffer.from(body).toString('utf8')) as unknown as RequestBySignal[S];
  try {
    const req = type.decode(body) as unknown as RequestBySignal[S];
    checkIdLengths(signal, req);
    return req;
  } catch (err) {
    // Includes RangeError from a hostile nesting depth: the sender gets a 400, the process stays up.
    throw new BadRequestError(`invalid OTLP protobuf: ${(err as Error).message}`);
  }
}

export function encodeRequest<S extends Signal>(
  signal: S,
  request: RequestBySignal[S],
  encoding: Encoding,
): Uint8Array {
  const type = otlpTypes[signal].request;
  if (encoding === 'json') return Buffer.from(toOtlpJson(type, request as unknown as protobuf.Message));
  return type.encode(request as unknown as protobuf.Message).finish();
}

export function encodeResponse(signal: Signal, encoding: Encoding, partial?: PartialSuccess): Uint8Array {
  const type = otlpTypes[signal].response;
  const body =
    partial && (partial.rejected > 0 || partial.errorMessage !== '')
      ? { partialSuccess: { [REJECTED_FIELD[signal]]: partial.rejected, errorMessage: partial.errorMessage } }
      : {};
  const msg = type.fromObject(body);
  return encoding === 'json' ? Buffer.from(toOtlpJson(type, msg)) : type.encode(msg).finish();
}

/** Reads an export response (from a downstream receiver), for its partial_success. */
export function decodeResponse(
  signal: Signal,
  body: Uint8Array,
  encoding: Encoding,
): PartialSuccess | undefined {
  if (body.length === 0) return undefined;
  const type = otlpTypes[signal].response;
  const msg =
    encoding === 'json' ? fromOtlpJson(type, Buffer.from(body).toString('utf8')) : type.decode(body);
  const obj = type.toObject(msg, { longs: Number }) as {
    partialSuccess?: Record<string, number | string | undefined>;
  };
  const ps = obj.partialSuccess;
  if (!ps) return undefined;
  return { rejected: Number(ps[REJECTED_FIELD[signal]] ?? 0), errorMessage: String(ps.errorMessage ?? '') };
}

/** google.rpc.Status, the body OTLP/HTTP puts on every error response. */
export function encodeStatus(encoding: Encoding, code: number, message: string): Uint8Array {
  const type = otlpTypes.rpcStatus;
  const msg = type.fromObject({ code, message });
  return encoding === 'json' ? Buffer.from(toOtlpJson(type, msg)) : type.encode(msg).finish();
}
