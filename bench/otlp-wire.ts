/**
 * Counts the spans in an OTLP ExportTraceServiceRequest by walking the protobuf wire format three
 * levels deep (resource_spans → scope_spans → spans) and skipping everything else by length, so the
 * sink can check every span arrived without paying for a full decode. Concatenated requests (what a
 * batching exporter sends) are valid protobuf and count correctly.
 */

const WIRE_VARINT = 0;
const WIRE_I64 = 1;
const WIRE_LEN = 2;
const WIRE_I32 = 5;

class Cursor {
  pos: number;
  readonly buf: Uint8Array;
  readonly end: number;
  constructor(buf: Uint8Array, start: number, end: number) {
    this.buf = buf;
    this.pos = start;
    this.end = end;
  }
  varint(): number {
    let result = 0;
    let shift = 1;
    for (let i = 0; i < 10; i++) {
      if (this.pos >= this.end) throw new Error('truncated varint');
      const b = this.buf[this.pos++] ?? 0;
      result += (b & 0x7f) * shift;
      if (b < 0x80) return result;
      shift *= 128;
    }
    throw new Error('varint too long');
  }
  /** Skips the value of a field of `wire` type; returns [start, end) of a LEN field's bytes. */
  skip(wire: number): [number, number] {
    switch (wire) {
      case WIRE_VARINT:
        this.varint();
        return [this.pos, this.pos];
      case WIRE_I64:
        this.pos += 8;
        break;
      case WIRE_I32:
        this.pos += 4;
        break;
      case WIRE_LEN: {
        const len = this.varint();
        const start = this.pos;
        this.pos += len;
        if (this.pos > this.end) throw new Error('truncated field');
        return [start, this.pos];
      }
      default:
        throw new Error(`unsupported wire type ${wire}`);
    }
    if (this.pos > this.end) throw new Error('truncated field');
    return [this.pos, this.pos];
  }
}

/** Calls `each(start, end)` for every occurrence of LEN field `field` in buf[start, end). */
function forEachField(
  buf: Uint8Array,
  start: number,
  end: number,
  field: number,
  each: (s: number, e: number) => void,
): void {
  const c = new Cursor(buf, start, end);
  while (c.pos < end) {
    const tag = c.varint();
    const wire = tag & 7;
    const [s, e] = c.skip(wire);
    if (tag >>> 3 === field && wire === WIRE_LEN) each(s, e);
  }
}

/** Spans in an encoded ExportTraceServiceRequest; throws on malformed protobuf. */
export function countSpans(buf: Uint8Array): number {
  let n = 0;
  // ExportTraceServiceRequest.resource_spans = 1; ResourceSpans.scope_spans = 2; ScopeSpans.spans = 2.
  forEachField(buf, 0, buf.length, 1, (rs, re) =>
    forEachField(buf, rs, re, 2, (ss, se) =>
      forEachField(buf, ss, se, 2, () => {
        n++;
      }),
    ),
  );
  return n;
}
