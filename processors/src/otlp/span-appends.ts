import protobuf from 'protobufjs';
import type { KeyValue, Span, TracesRequest } from './model.ts';
import { otlpTypes } from './schema.ts';

/**
 * Attributes processors appended to the spans of a received request, recorded beside it so the
 * exporters can send the received protobuf bytes with those attributes spliced in, instead of
 * encoding the whole request again (encoding is the largest cost of a pipeline that changes data).
 * Protobuf allows it: the fields of a message may come in any order and a repeated field's items
 * may be anywhere, so a span's extra `attributes` can follow its other fields; only the length
 * prefixes of the span and its enclosing ScopeSpans and ResourceSpans change.
 *
 * A processor that changes a request in any other way calls `markChanged`, and the request is
 * encoded as usual.
 */
interface AppendLog {
  readonly spans: Map<Span, KeyValue[]>;
  changed: boolean;
}

const logs = new WeakMap<TracesRequest, AppendLog>();

function logOf(req: TracesRequest): AppendLog {
  let log = logs.get(req);
  if (!log) {
    log = { spans: new Map(), changed: false };
    logs.set(req, log);
  }
  return log;
}

/** Appends attributes to a span of `req` (visible to later processors at once) and records them. */
export function appendSpanAttributes(req: TracesRequest, span: Span, kvs: readonly KeyValue[]): void {
  for (const kv of kvs) span.attributes.push(kv);
  const log = logOf(req);
  if (log.changed) return;
  const list = log.spans.get(span);
  if (list) for (const kv of kvs) list.push(kv);
  else log.spans.set(span, [...kvs]);
}

export function appendSpanAttribute(req: TracesRequest, span: Span, kv: KeyValue): void {
  appendSpanAttributes(req, span, [kv]);
}

/** The request was changed in a way appends cannot describe: it must be encoded whole. */
export function markChanged(req: TracesRequest): void {
  const log = logOf(req);
  log.changed = true;
  log.spans.clear();
}

/**
 * The bytes to send for a request received as `bytes` and changed only by appends: `bytes` itself
 * when nothing was appended, the patched bytes otherwise, undefined when it was changed otherwise
 * (or its bytes do not have the shape decoding gave it, which would be a bug: encode then).
 */
export function patchedBytes(req: TracesRequest, bytes: Uint8Array): Uint8Array | undefined {
  const log = logs.get(req);
  if (!log) return bytes;
  if (log.changed) return undefined;
  if (log.spans.size === 0) return bytes;
  // Where each appended span sits: resourceSpans[i].scopeSpans[j].spans[k], the order decoding saw.
  const where = new Map<number, Map<number, Map<number, KeyValue[]>>>();
  req.resourceSpans.forEach((rs, i) => {
    rs.scopeSpans.forEach((ss, j) => {
      ss.spans.forEach((s, k) => {
        const kvs = log.spans.get(s);
        if (!kvs) return;
        let r = where.get(i);
        if (!r) {
          r = new Map();
          where.set(i, r);
        }
        let sc = r.get(j);
        if (!sc) {
          sc = new Map();
          r.set(j, sc);
        }
        sc.set(k, kvs);
      });
    });
  });
  try {
    const out = patchMessage(bytes, 1, where, (rsBytes, rs) =>
      patchMessage(rsBytes, 2, rs, (ssBytes, ss) =>
        patchMessage(ssBytes, 2, ss, (spanBytes, kvs) => {
          const extra = encodeAttributes(kvs);
          return { chunks: [spanBytes, extra], length: spanBytes.length + extra.length };
        }),
      ),
    );
    return Buffer.concat(out.chunks, out.length);
  } catch {
    return undefined;
  }
}

/** `attributes` is field 9 of Span, length-delimited: tag 9 << 3 | 2. */
const SPAN_ATTRIBUTES_TAG = (9 << 3) | 2;

/** The span's new `attributes` fields, encoded one after the other into one buffer. */
function encodeAttributes(kvs: readonly KeyValue[]): Uint8Array {
  const w = protobuf.Writer.create();
  for (const kv of kvs) {
    w.uint32(SPAN_ATTRIBUTES_TAG).fork();
    otlpTypes.keyValue.encode(kv as never, w);
    w.ldelim();
  }
  return w.finish();
}

interface Chunks {
  readonly chunks: Uint8Array[];
  readonly length: number;
}

/**
 * The fields of message `buf`, with the n-th occurrence of length-delimited field `field` replaced by
 * `patch(its bytes, targets.get(n))` when targets has an entry for n; everything else (other fields,
 * unknown fields) is passed through as slices of `buf`, so only the final concatenation copies.
 */
function patchMessage<T>(
  buf: Uint8Array,
  field: number,
  targets: ReadonlyMap<number, T>,
  patch: (bytes: Uint8Array, target: T) => Chunks,
): Chunks {
  const chunks: Uint8Array[] = [];
  let length = 0;
  let copyFrom = 0;
  let pos = 0;
  let n = 0;
  const end = buf.length;
  while (pos < end) {
    const fieldStart = pos;
    const [tag, afterTag] = readVarint(buf, pos);
    pos = afterTag;
    const wire = tag & 7;
    if (wire === 2) {
      const [len, bodyStart] = readVarint(buf, pos);
      const bodyEnd = bodyStart + len;
      if (bodyEnd > end) throw new Error('truncated');
      pos = bodyEnd;
      if (tag >>> 3 === field) {
        const target = targets.get(n++);
        if (target !== undefined) {
          if (fieldStart > copyFrom) {
            chunks.push(buf.subarray(copyFrom, fieldStart));
            length += fieldStart - copyFrom;
          }
          const inner = patch(buf.subarray(bodyStart, bodyEnd), target);
          const head = Uint8Array.from([...varint(tag), ...varint(inner.length)]);
          chunks.push(head);
          for (const c of inner.chunks) chunks.push(c);
          length += head.length + inner.length;
          copyFrom = pos;
        }
      }
    } else if (wire === 0) pos = readVarint(buf, pos)[1];
    else if (wire === 1) pos += 8;
    else if (wire === 5) pos += 4;
    else throw new Error(`wire type ${wire}`);
  }
  if (pos !== end) throw new Error('truncated');
  if (copyFrom < end) {
    chunks.push(buf.subarray(copyFrom, end));
    length += end - copyFrom;
  }
  return { chunks, length };
}

function readVarint(buf: Uint8Array, pos: number): [number, number] {
  let value = 0;
  let shift = 0;
  let p = pos;
  for (;;) {
    if (p >= buf.length) throw new Error('truncated');
    const b = buf[p++] as number;
    value += (b & 0x7f) * 2 ** shift;
    if (b < 0x80) return [value, p];
    shift += 7;
    if (shift > 63) throw new Error('varint too long');
  }
}

function varint(n: number): number[] {
  const out: number[] = [];
  let v = n;
  while (v >= 0x80) {
    out.push((v % 0x80) | 0x80);
    v = Math.floor(v / 0x80);
  }
  out.push(v);
  return out;
}
