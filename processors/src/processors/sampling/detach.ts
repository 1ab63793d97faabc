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

/**
 * Replaces field `f` of `m` with a copy that owns its bytes — only when `m` has a non-empty value of its
 * own there: decoded messages inherit empty defaults from their prototype, and assigning one back would
 * make it an own field that protobufjs then encodes (for AnyValue, a second oneof member that wins over
 * the real one when decoded again, turning a string attribute into empty bytes).
 */
function ownField<K extends string>(m: { [k in K]?: Uint8Array | null }, f: K): void {
  const v = m[f];
  if (v && v.length > 0 && Object.hasOwn(m, f)) m[f] = own(v);
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
  ownField(v, 'bytesValue');
  if (v.arrayValue) for (const x of v.arrayValue.values) detachValue(x);
  if (v.kvlistValue) detachAttributes(v.kvlistValue.values);
}

export function detachAttributes(kvs: readonly KeyValue[]): void {
  for (const kv of kvs) {
    detachUnknowns(kv);
    const v = kv.value;
    // Only a bytes value, an array, a map or an unknown field can point into the body: strings and
    // numbers are decoded into values of their own.
    if (v && (v.bytesValue?.length || v.arrayValue || v.kvlistValue || (v as WithUnknowns).$unknowns))
      detachValue(v);
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
  else ownField(s, 'traceId');
  ownField(s, 'spanId');
  ownField(s, 'parentSpanId');
  detachAttributes(s.attributes);
  for (const e of s.events) detachAttributes(e.attributes);
  for (const l of s.links) {
    ownField(l, 'traceId');
    ownField(l, 'spanId');
    detachAttributes(l.attributes);
  }
}

/** A copy of a trace id, to be shared by the spans of its trace (see detachSpan). */
export const ownedId = own;
