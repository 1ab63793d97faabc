import { TRACE_MARK } from './generator.ts';

/**
 * Offsets of the trace ids the generator marked (TRACE_MARK right after a Span's traceId tag 0x0a and
 * length 16): one per span. Content is printable text, so the mark cannot occur elsewhere.
 */
export function traceIdOffsets(body: Uint8Array): number[] {
  const out: number[] = [];
  const needle = Buffer.from([0x0a, 0x10, ...TRACE_MARK]);
  const buf = Buffer.from(body.buffer, body.byteOffset, body.byteLength);
  for (let at = buf.indexOf(needle); at >= 0; at = buf.indexOf(needle, at + needle.length)) out.push(at + 2);
  return out;
}

/**
 * A copy of `body` whose trace ids belong to send number `generation`: bytes 0..3 become the
 * generation (so no id repeats across sends), and the low bytes, whose randomness consistent
 * sampling reads, are mixed with it (so the kept share is not the same slots every cycle). Spans of
 * one trace keep one id; ids keep their length, so the protobuf stays valid.
 */
export function withGeneration(body: Uint8Array, offsets: readonly number[], generation: number): Buffer {
  const out = Buffer.from(body);
  const mix = Math.imul(generation ^ 0x9e3779b9, 0x85ebca6b) >>> 0;
  for (const at of offsets) {
    out.writeUInt32BE(generation >>> 0, at);
    out.writeUInt32BE((out.readUInt32BE(at + 12) ^ mix) >>> 0, at + 12);
  }
  return out;
}
