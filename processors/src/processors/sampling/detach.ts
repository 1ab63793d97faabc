import type { AnyValue, KeyValue, Resource, Span } from '../../otlp/model.ts';

/**
 * Decoded `bytes` fields (span and trace ids, bytes attribute values, unknown fields kept by the
 * decoder) are views into the received request body, not copies: one held span would keep its whole
 * body alive — hundreds of KB for a 16-byte id, for as long as the trace waits for its decision, and
 * outside any byte budget. Everything the sampler holds is first copied out, so a body is freed as
 * soon as the request has been buffered.
 */

/** A copy of `v` that owns its bytes (an empty or absent field stays as it is). */
function own(v: Uint8Array): Uint8Array {
  return v.length === 0 ? v : new Uint8Array(v);
}

interface WithUnknowns {
  $unknowns?: Uint8Array[];
}

function detachUnknowns(m: object): void {
  const u = (m as WithUnknowns).$unknowns;
  if (u) for (let i = 0; i < u.length; i++) u[i] = own(u[i] as Uint8Array);
}

function detachValue(v: AnyValue | null | undefined): void {
  if (!v) return;
  detachUnknowns(v);
  // Not else-if: a decoded value can carry an empty default for the members it does not use.
  if (v.bytesValue) v.bytesValue = own(v.bytesValue);
  if (v.arrayValue) for (const x of v.arrayValue.values) detachValue(x);
  if (v.kvlistValue) detachAttributes(v.kvlistValue.values);
}

export function detachAttributes(kvs: readonly KeyValue[]): void {
  for (const kv of kvs) {
    detachUnknowns(kv);
    const v = kv.value;
    // Only a bytes value, an array, a map or an unknown field can point into the body: strings and
    // numbers are decoded into values of their own.
    if (v && (v.bytesValue || v.arrayValue || v.kvlistValue || (v as WithUnknowns).$unknowns)) detachValue(v);
  }
}

export function detachResource(r: Resource | null | undefined): void {
  if (r) detachAttributes(r.attributes);
}

/**
 * Copies every byte field of `s` out of the buffer it was decoded from. `traceId`, already copied
 * for the trace, is shared by all its spans (one copy a trace, not one a span).
 */
export function detachSpan(s: Span, traceId: Uint8Array | undefined): void {
  if (traceId) s.traceId = traceId;
  else if (s.traceId) s.traceId = own(s.traceId);
  if (s.spanId) s.spanId = own(s.spanId);
  if (s.parentSpanId) s.parentSpanId = own(s.parentSpanId);
  detachAttributes(s.attributes);
  for (const e of s.events) detachAttributes(e.attributes);
  for (const l of s.links) {
    if (l.traceId) l.traceId = own(l.traceId);
    if (l.spanId) l.spanId = own(l.spanId);
    detachAttributes(l.attributes);
  }
}

/** A copy of a trace id, to be shared by the spans of its trace (see detachSpan). */
export const ownedId = own;
