import { endianness } from 'node:os';
import type { KeyValue, Span, TracesRequest } from './model.ts';
import { DoubleValue, IntValue, StringValue } from './scalar-values.ts';
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
  readonly spans: Map<Span, readonly KeyValue[]>;
  changed: boolean;
}

/**
 * The log is kept on the request object under a symbol (protobufjs encodes only the fields it knows),
 * not in a WeakMap: a WeakMap's table lives in the old generation, and V8's young-generation GC then
 * kept every logged span (and the request around it) alive until a full GC — in the cost pipeline that
 * was two thirds of its CPU (timed in-process on the benchmark's payload: 14 µs of GC per span, 1 µs
 * after).
 */
const LOG = Symbol('llmobs.span-appends');
type WithLog = TracesRequest & { [LOG]?: AppendLog };

function logOf(req: TracesRequest): AppendLog {
  let log = (req as WithLog)[LOG];
  if (!log) {
    log = { spans: new Map(), changed: false };
    (req as WithLog)[LOG] = log;
  }
  return log;
}

/**
 * Appends attributes to a span of `req` (visible to later processors at once) and records them.
 * The log keeps `kvs` itself: the caller hands over a list it does not change afterwards.
 */
export function appendSpanAttributes(req: TracesRequest, span: Span, kvs: readonly KeyValue[]): void {
  const attrs = span.attributes;
  for (let i = 0; i < kvs.length; i++) attrs.push(kvs[i] as KeyValue);
  const log = logOf(req);
  if (log.changed) return;
  const list = log.spans.get(span);
  log.spans.set(span, list ? [...list, ...kvs] : kvs);
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
  const log = (req as WithLog)[LOG];
  if (!log) return bytes;
  if (log.changed) return undefined;
  if (log.spans.size === 0) return bytes;
  // Where each appended span sits — resourceSpans[i].scopeSpans[j].spans[k], in the order decoding
  // saw, which is the order of the bytes — and its new attributes, encoded one after the other.
  const extras = sharedEncoder;
  extras.length = 0;
  const plan: number[] = [];
  const rss = req.resourceSpans;
  for (let i = 0; i < rss.length; i++) {
    const scopes = (rss[i] as (typeof rss)[number]).scopeSpans;
    for (let j = 0; j < scopes.length; j++) {
      const spans = (scopes[j] as (typeof scopes)[number]).spans;
      for (let k = 0; k < spans.length; k++) {
        const kvs = log.spans.get(spans[k] as Span);
        if (!kvs) continue;
        const from = extras.length;
        for (const kv of kvs) extras.spanAttribute(kv);
        plan.push(i, j, k, from, extras.length);
      }
    }
  }
  try {
    return new Splice(bytes, plan, extras.bytes()).run();
  } catch {
    return undefined;
  }
}

/** `attributes` is field 9 of Span, length-delimited: tag 9 << 3 | 2. */
const SPAN_ATTRIBUTES_TAG = (9 << 3) | 2;
/** The length-delimited field holding the next level down: resourceSpans (1) in the request, scopeSpans (2), spans (2). */
const CHILD_FIELD = [1, 2, 2] as const;
const OP_COPY = 0;
const OP_VARINT = 1;
const OP_EXTRA = 2;

/**
 * One splice: a walk of the received bytes three levels down that records what to write as a flat
 * list of operations (copy a range of the input, write a varint, copy a range of the encoded
 * attributes), then one allocation and the copies. Nothing per field is allocated: the walk used to
 * slice the input per span and concatenate, and that cost as much as pricing the span.
 */
class Splice {
  readonly #buf: Uint8Array;
  readonly #plan: readonly number[];
  readonly #extra: Uint8Array;
  /** Triples (op, a, b). */
  readonly #ops: number[] = [];
  /** The plan entry (index of its first number) the walk looks for next. */
  #next = 0;
  /** The occurrence index of the message being walked at each level. */
  readonly #at = [0, 0, 0];
  #pos = 0;

  constructor(buf: Uint8Array, plan: readonly number[], extra: Uint8Array) {
    this.#buf = buf;
    this.#plan = plan;
    this.#extra = extra;
  }

  run(): Uint8Array {
    const length = this.#level(0, this.#buf.length, 0);
    if (this.#next !== this.#plan.length) throw new Error('the request has fewer spans than decoded');
    const out = Buffer.allocUnsafe(length);
    const ops = this.#ops;
    const src = this.#buf;
    const extra = this.#extra;
    let o = 0;
    for (let i = 0; i < ops.length; i += 3) {
      const op = ops[i] as number;
      const a = ops[i + 1] as number;
      const b = ops[i + 2] as number;
      if (op === OP_VARINT) o = writeVarint(out, o, a);
      else o = copyRange(out, o, op === OP_COPY ? src : extra, a, b);
    }
    if (o !== length) throw new Error('splice length mismatch');
    return out;
  }

  /** Whether the plan's next entry lies inside occurrence `n` at `depth` (and the walk's ancestors). */
  #targets(depth: number, n: number): boolean {
    const p = this.#next;
    if (p >= this.#plan.length || this.#plan[p + depth] !== n) return false;
    for (let d = 0; d < depth; d++) if (this.#plan[p + d] !== this.#at[d]) return false;
    return true;
  }

  /** Records the operations writing message body [start, end) at `depth`; returns their length. */
  #level(start: number, end: number, depth: number): number {
    const field = CHILD_FIELD[depth] as number;
    let length = 0;
    let copyFrom = start;
    let n = 0;
    this.#pos = start;
    while (this.#pos < end) {
      const fieldStart = this.#pos;
      const tag = this.#varint(end);
      const wire = tag & 7;
      if (wire === 2) {
        const len = this.#varint(end);
        const bodyStart = this.#pos;
        const bodyEnd = bodyStart + len;
        if (bodyEnd > end) throw new Error('truncated');
        this.#pos = bodyEnd;
        if (tag >>> 3 !== field) continue;
        const index = n++;
        if (!this.#targets(depth, index)) continue;
        // This occurrence holds an appended span: copy up to its tag and length prefix, then write
        // it with its new length.
        const tagEnd = fieldStart + varintSize(tag);
        this.#op(OP_COPY, copyFrom, tagEnd);
        length += fieldStart - copyFrom;
        const lengthOp = this.#ops.length;
        this.#op(OP_VARINT, 0, 0);
        let inner: number;
        if (depth === 2) {
          const p = this.#next;
          this.#op(OP_COPY, bodyStart, bodyEnd);
          this.#op(OP_EXTRA, this.#plan[p + 3] as number, this.#plan[p + 4] as number);
          inner = len + (this.#plan[p + 4] as number) - (this.#plan[p + 3] as number);
          this.#next += 5;
        } else {
          this.#at[depth] = index;
          inner = this.#level(bodyStart, bodyEnd, depth + 1);
          this.#pos = bodyEnd;
        }
        this.#ops[lengthOp + 1] = inner;
        length += tagEnd - fieldStart + varintSize(inner) + inner;
        copyFrom = bodyEnd;
      } else if (wire === 0) this.#varint(end);
      else if (wire === 1) this.#pos += 8;
      else if (wire === 5) this.#pos += 4;
      else throw new Error(`wire type ${wire}`);
    }
    if (this.#pos !== end) throw new Error('truncated');
    if (copyFrom < end) {
      this.#op(OP_COPY, copyFrom, end);
      length += end - copyFrom;
    }
    return length;
  }

  #op(op: number, a: number, b: number): void {
    this.#ops.push(op, a, b);
  }

  /** Reads a varint at the walk's position (at most 2^53: lengths and tags), advancing it. */
  #varint(end: number): number {
    const buf = this.#buf;
    let value = 0;
    let scale = 1;
    let p = this.#pos;
    for (;;) {
      if (p >= end) throw new Error('truncated');
      const b = buf[p++] as number;
      value += (b & 0x7f) * scale;
      if (b < 0x80) break;
      scale *= 128;
      if (scale > 2 ** 49) throw new Error('varint too long');
    }
    this.#pos = p;
    return value;
  }
}

/**
 * Copies src[a, b) into out at `o`: a tag's byte or two in a loop, the rest with TypedArray#set, since
 * Buffer#copy costs ~100 ns a call before it copies anything (a splice makes several per span).
 */
function copyRange(out: Uint8Array, o: number, src: Uint8Array, a: number, b: number): number {
  const n = b - a;
  if (n <= 4) {
    for (let i = 0; i < n; i++) out[o + i] = src[a + i] as number;
  } else out.set(src.subarray(a, b), o);
  return o + n;
}

function varintSize(n: number): number {
  let size = 1;
  for (let v = n; v >= 0x80; v = Math.floor(v / 0x80)) size++;
  return size;
}

function writeVarint(out: Uint8Array, at: number, n: number): number {
  let o = at;
  let v = n;
  while (v >= 0x80) {
    out[o++] = (v % 0x80) | 0x80;
    v = Math.floor(v / 0x80);
  }
  out[o++] = v;
  return o;
}

const F64 = new Float64Array(1);
const F64_BYTES = new Uint8Array(F64.buffer);
/** protobuf's fixed64 is little-endian: the scratch's bytes are only usable as they are on such a CPU. */
const LITTLE_ENDIAN = endianness() === 'LE';
const KEY_TAG = (1 << 3) | 2;
const VALUE_TAG = (2 << 3) | 2;
const STRING_TAG = (1 << 3) | 2;
const INT_TAG = 3 << 3;
const DOUBLE_TAG = (4 << 3) | 1;

/**
 * Encodings of what processors append again and again — the same keys on every span, the same short
 * string values (currency, status, model names) — cached whole, so appending one is a single
 * TypedArray#set: copying byte by byte from buffers of several kinds costs V8 a polymorphic access
 * per byte, several times the copy. Bounded; past the bound attributes are encoded each time.
 */
const MAX_CACHED = 4096;
const LONGEST_CACHED_VALUE = 96;
let cached = 0;
/** key → its KeyValue.key field (tag, length, UTF-8). */
const keyFields = new Map<string, Uint8Array>();
/** key → a double attribute up to its 8 value bytes. */
const doubleHeads = new Map<string, Uint8Array>();
/** key → value → the whole string attribute. */
const stringAttributes = new Map<string, Map<string, Uint8Array>>();

function remember<K, V>(map: Map<K, V>, k: K, v: V): V {
  if (cached < MAX_CACHED) {
    map.set(k, v);
    cached++;
  }
  return v;
}

function keyField(key: string): Uint8Array {
  const hit = keyFields.get(key);
  if (hit) return hit;
  const utf8 = Buffer.from(key, 'utf8');
  const out = new Uint8Array(1 + varintSize(utf8.length) + utf8.length);
  out[0] = KEY_TAG;
  out.set(utf8, writeVarint(out, 1, utf8.length));
  return remember(keyFields, key, out);
}

function doubleHead(key: string): Uint8Array {
  const hit = doubleHeads.get(key);
  if (hit) return hit;
  const k = keyField(key);
  const keyValue = k.length + 2 + 9;
  const out = new Uint8Array(1 + varintSize(keyValue) + k.length + 3);
  out[0] = SPAN_ATTRIBUTES_TAG;
  let o = writeVarint(out, 1, keyValue);
  out.set(k, o);
  o += k.length;
  out[o++] = VALUE_TAG;
  out[o++] = 9;
  out[o] = DOUBLE_TAG;
  return remember(doubleHeads, key, out);
}

/** A whole string attribute, encoded (and cached when its value is short). */
function stringAttribute(key: string, value: string): Uint8Array {
  let byValue = stringAttributes.get(key);
  const hit = byValue?.get(value);
  if (hit) return hit;
  const k = keyField(key);
  const v = Buffer.from(value, 'utf8');
  const anyValue = 1 + varintSize(v.length) + v.length;
  const keyValue = k.length + 1 + varintSize(anyValue) + anyValue;
  const out = new Uint8Array(1 + varintSize(keyValue) + keyValue);
  out[0] = SPAN_ATTRIBUTES_TAG;
  let o = writeVarint(out, 1, keyValue);
  out.set(k, o);
  o += k.length;
  out[o++] = VALUE_TAG;
  o = writeVarint(out, o, anyValue);
  out[o++] = STRING_TAG;
  o = writeVarint(out, o, v.length);
  out.set(v, o);
  if (value.length > LONGEST_CACHED_VALUE) return out;
  if (!byValue) byValue = remember(stringAttributes, key, new Map<string, Uint8Array>());
  return remember(byValue, value, out);
}

/**
 * Encodes appended span attributes (each as a Span `attributes` field) into one growing buffer: the
 * typed values processors append (scalar-values.ts: strings, doubles, non-negative integers) by hand,
 * anything else through protobufjs.
 */
class AttributeEncoder {
  #buf = Buffer.allocUnsafe(16384);
  length = 0;

  bytes(): Uint8Array {
    return this.#buf.subarray(0, this.length);
  }

  spanAttribute(kv: KeyValue): void {
    const v = kv.value;
    if (v instanceof DoubleValue) {
      const head = doubleHead(kv.key);
      this.#reserve(head.length + 8);
      const buf = this.#buf;
      buf.set(head, this.length);
      let o = this.length + head.length;
      if (LITTLE_ENDIAN) {
        F64[0] = v.doubleValue;
        for (let i = 0; i < 8; i++) buf[o + i] = F64_BYTES[i] as number;
        o += 8;
      } else o = buf.writeDoubleLE(v.doubleValue, o);
      this.length = o;
    } else if (v instanceof StringValue) this.#put(stringAttribute(kv.key, v.stringValue));
    else if (v instanceof IntValue && v.intValue >= 0 && Number.isSafeInteger(v.intValue)) {
      const k = keyField(kv.key);
      const anyValue = 1 + varintSize(v.intValue);
      const keyValue = k.length + 1 + varintSize(anyValue) + anyValue;
      this.#reserve(1 + varintSize(keyValue) + keyValue);
      const buf = this.#buf;
      buf[this.length] = SPAN_ATTRIBUTES_TAG;
      let o = writeVarint(buf, this.length + 1, keyValue);
      buf.set(k, o);
      o += k.length;
      buf[o++] = VALUE_TAG;
      o = writeVarint(buf, o, anyValue);
      buf[o++] = INT_TAG;
      this.length = writeVarint(buf, o, v.intValue);
    } else {
      // Anything else (a value of another kind or shape, no value at all): as protobufjs encodes it.
      const encoded = otlpTypes.keyValue.encode(kv as never).finish();
      this.#reserve(11 + encoded.length);
      this.length = writeVarint(this.#buf, this.length, SPAN_ATTRIBUTES_TAG);
      this.length = writeVarint(this.#buf, this.length, encoded.length);
      this.#put(encoded);
    }
  }

  #put(bytes: Uint8Array): void {
    this.#reserve(bytes.length);
    this.#buf.set(bytes, this.length);
    this.length += bytes.length;
  }

  #reserve(n: number): void {
    if (this.length + n <= this.#buf.length) return;
    const grown = Buffer.allocUnsafe(Math.max(this.#buf.length * 2, this.length + n));
    this.#buf.copy(grown, 0, 0, this.length);
    this.#buf = grown;
  }
}

/**
 * One encoder for every splice: a splice is synchronous and copies what it encoded into its output
 * before it returns, so the buffer (grown to the largest request seen) is reused instead of allocated.
 */
const sharedEncoder = new AttributeEncoder();
