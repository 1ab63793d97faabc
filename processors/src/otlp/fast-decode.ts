import protobuf from 'protobufjs';

/**
 * Hand-written decoders for the two messages every OTLP request is mostly made of, KeyValue and
 * AnyValue, installed over protobufjs's generated ones (the generated decoders of the messages around
 * them call `types[i].decode` at each use, so they pick these up). They decode to exactly what the
 * generated code does — same objects, same errors, same nesting limit, unknown fields kept — and
 * differ in two ways that matter for speed:
 *
 * - **Attribute keys are interned.** The same few hundred keys arrive on every span; instead of
 *   decoding each to a fresh string, the key's bytes are looked up in a table of keys seen before and
 *   the one string is shared. Besides the decoding saved, every later lookup of that key (the GenAI
 *   dialect index, redaction's key rules, metric dimensions) hashes a string whose hash V8 has kept,
 *   instead of first flattening a new one.
 * - **A scalar AnyValue is built without the oneof setter.** The generated code assigns the virtual
 *   `value` property, whose setter deletes each of the six other fields; on a fresh object there is
 *   nothing to delete, and the getter reads the fields themselves.
 */

/** The Reader methods the generated decoders use that protobufjs's typings leave out. */
type Reader = protobuf.Reader & {
  tag(): number;
  size(): number;
  raw(start: number, end: number): Uint8Array;
  skipType(wire: number, depth: number, tag: number): Reader;
  discardUnknown?: boolean;
};
type Decode = (
  r: Reader | Uint8Array,
  l?: number,
  z?: number,
  q?: number,
  g?: object,
  intern?: boolean,
) => object;
interface MessageObject {
  [field: string]: unknown;
  $unknowns?: Uint8Array[];
}

const { Reader } = protobuf;
/** protobufjs keeps it on Reader at run time; its typings do not say so. */
const recursionLimit = (): number => (Reader as unknown as { recursionLimit: number }).recursionLimit;

/** Open-addressing table of interned keys: bounded, never evicts; a full or colliding table decodes as usual. */
const TABLE_BITS = 13;
const TABLE_SIZE = 1 << TABLE_BITS;
const MAX_PROBES = 8;
/** Longer keys are decoded as usual: keys worth interning are short, and hashing costs per byte. */
const MAX_INTERNED_BYTES = 128;
const internedBytes: (Uint8Array | undefined)[] = new Array(TABLE_SIZE).fill(undefined);
const internedStrings: string[] = new Array(TABLE_SIZE).fill('');
let internedCount = 0;
/** Interning stops at three quarters full, keeping probe sequences short for the keys already in. */
const MAX_INTERNED = (TABLE_SIZE * 3) >> 2;

/** Reads a length-delimited string field at the reader's position, sharing one string per distinct key. */
function readKey(r: Reader): string {
  const lengthAt = r.pos;
  const len = r.size();
  const start = r.pos;
  const end = start + len;
  if (len === 0 || len > MAX_INTERNED_BYTES || end > r.len) {
    r.pos = lengthAt;
    return r.string();
  }
  const buf = r.buf;
  let h = len | 0;
  for (let i = start; i < end; i++) h = Math.imul(h ^ (buf[i] as number), 0x01000193);
  h ^= h >>> 15;
  let slot = h & (TABLE_SIZE - 1);
  for (let probe = 0; probe < MAX_PROBES; probe++) {
    const known = internedBytes[slot];
    if (known === undefined) {
      r.pos = lengthAt;
      const key = r.string();
      if (internedCount < MAX_INTERNED) {
        // A copy: a view would keep the whole received body alive for as long as the key is interned.
        internedBytes[slot] = new Uint8Array(buf.subarray(start, end));
        internedStrings[slot] = internalize(key);
        internedCount++;
      }
      return key;
    }
    if (known.length === len) {
      let same = true;
      for (let i = 0; i < len; i++) {
        if (known[i] !== buf[start + i]) {
          same = false;
          break;
        }
      }
      if (same) {
        r.pos = end;
        return internedStrings[slot] as string;
      }
    }
    slot = (slot + 1) & (TABLE_SIZE - 1);
  }
  r.pos = lengthAt;
  return r.string();
}

/** For tests: the memory behind every interned string's bytes. */
export function internedBuffers(): ArrayBufferLike[] {
  return internedBytes.flatMap((b) => (b ? [b.buffer] : []));
}

/** Keys whose (short) string values are interned like keys: see `internValuesOf`. */
const internedValueKeys = new Set<string>();

/**
 * Interns the string values of these attribute keys too: values from a small set that later code
 * looks up by (model and provider names, operation names — the keys of derived metrics' groups and of
 * the price index). High-cardinality values (ids, content) must not be registered: they would fill
 * the table, after which interning simply stops.
 */
export function internValuesOf(keys: Iterable<string>): void {
  for (const k of keys) internedValueKeys.add(internalize(k));
}

/** The flat, internalized copy of `s` V8 keeps for property names: hashed once, compared by pointer. */
function internalize(s: string): string {
  const holder: Record<string, number> = { [s]: 0 };
  for (const k in holder) return k;
  return s;
}

/**
 * Limits the reader to the `l` bytes of a length-delimited message (none at the top level, `l`
 * undefined); returns the limit to restore, as the generated decoders do.
 */
function limit(r: Reader, l: number | undefined): number | undefined {
  if (l === undefined) return undefined;
  const end = r.pos + l;
  if (end > r.len) throw RangeError('index out of range');
  const outer = r.len;
  r.len = end;
  return outer;
}

function unlimit(r: Reader, outer: number | undefined, z: number | undefined): void {
  if (outer !== undefined) {
    if (r.pos !== r.len) throw RangeError('index out of range');
    r.len = outer;
  }
  if (z !== undefined) throw Error('missing end group');
}

function keepUnknown(r: Reader, m: MessageObject, start: number): void {
  if (r.discardUnknown) return;
  protobuf.util.makeProp(m, '$unknowns', false);
  if (!m.$unknowns) m.$unknowns = [];
  m.$unknowns.push(r.raw(start, r.pos));
}

/** Installs the decoders over `keyValue` and its `value` type (AnyValue). Idempotent. */
export function installFastDecoders(keyValue: protobuf.Type): void {
  const anyValue = keyValue.fields.value?.resolvedType as protobuf.Type | null | undefined;
  if (!(anyValue instanceof protobuf.Type)) throw new Error('KeyValue.value is not a message');
  const arrayValue = anyValue.fields.arrayValue?.resolvedType as protobuf.Type;
  const kvlistValue = anyValue.fields.kvlistValue?.resolvedType as protobuf.Type;
  // Built now, so protobufjs's lazy setup does not replace these on first use.
  keyValue.setup();
  anyValue.setup();
  arrayValue.setup();
  kvlistValue.setup();
  const KeyValueCtor = keyValue.ctor as unknown as new () => MessageObject;
  const AnyValueCtor = anyValue.ctor as unknown as new () => MessageObject;
  const decodeArray = arrayValue.decode as unknown as Decode;
  const decodeKvlist = kvlistValue.decode as unknown as Decode;

  const decodeAnyValue: Decode = (input, l, z, q = 0, g, intern = false) => {
    const r = (input instanceof Reader ? input : Reader.create(input)) as Reader;
    if (q > recursionLimit()) throw Error('max depth exceeded');
    const outer = limit(r, l);
    const end = r.len;
    // Merging into an existing value goes through the oneof setter, which clears the other fields;
    // so does a second member of the oneof in one message (a hostile or odd sender): the last wins.
    let setter = g != null;
    let member: string | undefined;
    const m = (g as MessageObject | undefined) ?? new AnyValueCtor();
    while (r.pos < end) {
      const start = r.pos;
      const t = r.tag();
      if (t === z) {
        z = undefined;
        break;
      }
      const wire = t & 7;
      let name: string | undefined;
      switch (t >>> 3) {
        case 1:
          if (wire !== 2) break;
          m.stringValue = intern ? readKey(r) : r.string();
          name = 'stringValue';
          break;
        case 2:
          if (wire !== 0) break;
          m.boolValue = r.bool();
          name = 'boolValue';
          break;
        case 3:
          if (wire !== 0) break;
          m.intValue = r.int64();
          name = 'intValue';
          break;
        case 4:
          if (wire !== 1) break;
          m.doubleValue = r.double();
          name = 'doubleValue';
          break;
        case 5:
          if (wire !== 2) break;
          m.arrayValue = decodeArray(r, r.size(), undefined, q + 1, m.arrayValue as object | undefined);
          name = 'arrayValue';
          setter = true;
          break;
        case 6:
          if (wire !== 2) break;
          m.kvlistValue = decodeKvlist(r, r.size(), undefined, q + 1, m.kvlistValue as object | undefined);
          name = 'kvlistValue';
          setter = true;
          break;
        case 7:
          if (wire !== 2) break;
          m.bytesValue = r.bytes();
          name = 'bytesValue';
          break;
      }
      if (name !== undefined) {
        if (setter || (member !== undefined && member !== name)) m.value = name;
        member = name;
        continue;
      }
      r.skipType(wire, q, t >>> 3);
      keepUnknown(r, m, start);
    }
    unlimit(r, outer, z);
    return m;
  };

  const decodeKeyValue: Decode = (input, l, z, q = 0, g) => {
    const r = (input instanceof Reader ? input : Reader.create(input)) as Reader;
    if (q > recursionLimit()) throw Error('max depth exceeded');
    const outer = limit(r, l);
    const end = r.len;
    const m = (g as MessageObject | undefined) ?? new KeyValueCtor();
    let key: string | undefined;
    while (r.pos < end) {
      const start = r.pos;
      const t = r.tag();
      if (t === z) {
        z = undefined;
        break;
      }
      const wire = t & 7;
      const field = t >>> 3;
      if (field === 1 && wire === 2) {
        key = readKey(r);
        if (key.length) m.key = key;
        else delete m.key;
        continue;
      }
      if (field === 2 && wire === 2) {
        const intern = key !== undefined && internedValueKeys.has(key);
        m.value = decodeAnyValue(r, r.size(), undefined, q + 1, m.value as object | undefined, intern);
        continue;
      }
      r.skipType(wire, q, t >>> 3);
      keepUnknown(r, m, start);
    }
    unlimit(r, outer, z);
    return m;
  };

  (keyValue as unknown as { decode: Decode }).decode = decodeKeyValue;
  (anyValue as unknown as { decode: Decode }).decode = decodeAnyValue;
}
