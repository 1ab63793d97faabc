/**
 * Canonical identity of an attribute set: the key every limiter, cap and merge in this folder uses.
 * On the hot path (once per data point), so it is plain string building, no hashing, no JSON.
 */
import { createHash } from 'node:crypto';
import type Long from 'long';
import type { AnyValue, Int64, KeyValue } from '../../otlp/model.ts';

/** Nested arrays / kvlists below this depth are all encoded alike (protobuf decoding already caps depth). */
const MAX_DEPTH = 16;

/** Keys longer than this are stored as a SHA-256 digest by {@link boundedKey}. */
export const MAX_STORED_KEY_CHARS = 256;

/**
 * True when the field is really set. protobufjs-decoded messages carry defaults on their prototype
 * (`stringValue` is `''`, `intValue` is Long 0), so only own, non-null fields count, as in the
 * redaction walker.
 */
export function has(v: object, field: string): boolean {
  return Object.hasOwn(v, field) && (v as Record<string, unknown>)[field] != null;
}

function int64Text(v: Int64): string {
  if (typeof v === 'number') return String(v);
  const l = v as Long;
  return l.high === 0 && l.low >= 0 ? String(l.low) : l.toString();
}

/**
 * Type-tagged, self-delimiting encoding of one value: `s<len>:<text>`, `i<int>;`, `d<double>;`,
 * `t`/`f`, `y<len>:<base64>`, `a<n>[…]`, `m<n>{…}` (kvlist, canonicalised like an attribute set),
 * `n` for no value. Every form can be read back unambiguously, so distinct values never share an
 * encoding: `"1"` (string), `1` (int) and `1.0` (double) are three different values.
 */
export function valueKey(v: AnyValue | null | undefined, depth = 0): string {
  if (!v) return 'n';
  if (depth > MAX_DEPTH) return 'z';
  if (has(v, 'stringValue')) {
    const s = v.stringValue as string;
    return `s${s.length}:${s}`;
  }
  if (has(v, 'intValue')) return `i${int64Text(v.intValue as Int64)};`;
  if (has(v, 'doubleValue')) return `d${v.doubleValue};`;
  if (has(v, 'boolValue')) return v.boolValue ? 't' : 'f';
  if (has(v, 'bytesValue')) {
    const b = v.bytesValue as Uint8Array;
    const text = Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('base64');
    return `y${text.length}:${text}`;
  }
  if (has(v, 'arrayValue')) {
    const values = v.arrayValue?.values ?? [];
    let out = `a${values.length}[`;
    for (const el of values) out += valueKey(el, depth + 1);
    return `${out}]`;
  }
  if (has(v, 'kvlistValue')) {
    const values = v.kvlistValue?.values ?? [];
    return `m${values.length}{${setKey(values, depth + 1)}}`;
  }
  return 'n';
}

/** One attribute: `<key length>:<key><value encoding>`, self-delimiting. */
function entry(kv: KeyValue, depth: number): string {
  const k = kv.key ?? '';
  return `${k.length}:${k}${valueKey(kv.value, depth)}`;
}

function setKey(attrs: readonly KeyValue[], depth: number): string {
  const n = attrs.length;
  if (n === 0) return '';
  const first = attrs[0];
  if (n === 1) return first ? entry(first, depth) : '';
  const parts: string[] = new Array(n);
  let sorted = true;
  for (let i = 0; i < n; i++) {
    const kv = attrs[i];
    const e = kv ? entry(kv, depth) : '';
    parts[i] = e;
    if (i > 0 && sorted && e < (parts[i - 1] as string)) sorted = false;
  }
  if (!sorted) parts.sort();
  return parts.join('');
}

/**
 * The canonical key of an attribute set: each attribute encoded as `<key length>:<key><typed value>`
 * and the encodings sorted, so the key is the same whatever order the attributes come in (duplicate
 * keys, which OTLP forbids, are also order-independent), different for any other set, and stable
 * across processes and versions of Node (no hashing, no object identity). The empty set is `''`.
 */
export function seriesKey(attrs: readonly KeyValue[] | null | undefined): string {
  return attrs ? setKey(attrs, 0) : '';
}

/**
 * What a limiter stores for a key: the key itself up to {@link MAX_STORED_KEY_CHARS}, else `#` and
 * the SHA-256 of its UTF-16 code units (a plain key never starts with `#`: it is empty or starts with
 * a digit). Bounds memory per tracked series whatever the size of attribute values.
 */
export function boundedKey(key: string): string {
  if (key.length <= MAX_STORED_KEY_CHARS) return key;
  return `#${createHash('sha256').update(key, 'utf16le').digest('base64')}`;
}
