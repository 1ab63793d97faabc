import type { AnyValue, KeyValue, Span } from '../../otlp/model.ts';

/**
 * A trace id as a Map key: 16 one-byte characters (a flat 16-byte string in V8, half a hex key).
 * Undefined for a missing or malformed id (OTLP requires 16 bytes, not all zero).
 */
export function traceKey(id: Uint8Array | undefined): string | undefined {
  if (id?.length !== 16) return undefined;
  let any = 0;
  for (let i = 0; i < 16; i++) any |= id[i] ?? 0;
  if (any === 0) return undefined;
  return String.fromCharCode(
    id[0] ?? 0,
    id[1] ?? 0,
    id[2] ?? 0,
    id[3] ?? 0,
    id[4] ?? 0,
    id[5] ?? 0,
    id[6] ?? 0,
    id[7] ?? 0,
    id[8] ?? 0,
    id[9] ?? 0,
    id[10] ?? 0,
    id[11] ?? 0,
    id[12] ?? 0,
    id[13] ?? 0,
    id[14] ?? 0,
    id[15] ?? 0,
  );
}

export function sameId(a: Uint8Array, b: Uint8Array): boolean {
  if (a === b) return true;
  if (a.length !== b.length) return false;
  for (let i = a.length - 1; i >= 0; i--) if (a[i] !== b[i]) return false;
  return true;
}

// What decoded OTLP costs on the V8 heap, measured on protobufjs-decoded requests (Node 24): a span
// with its ids, timestamps and status about 800 bytes; each attribute about 180 plus its key and
// value (a KeyValue, an AnyValue, a key string, a Long or a number); each event about 650 and each
// link about 450 before their attributes; strings a byte per Latin-1 character.
const SPAN_OVERHEAD = 800;
const ATTRIBUTE_OVERHEAD = 180;
const EVENT_OVERHEAD = 650;
const LINK_OVERHEAD = 450;
const ELEMENT_OVERHEAD = 60;
const SCALAR = 16;
/**
 * What the sampler itself adds for a held trace: its entry (fields, the Map slot, the 16-character
 * key, the copied trace id, its place in the decision queues), measured the same way.
 */
export const TRACE_OVERHEAD = 480;
/** A run of spans of one trace from one scope of one request: an object and its array. */
export const CHUNK_OVERHEAD = 100;

function valueSize(v: AnyValue | null | undefined): number {
  if (!v) return 0;
  if (typeof v.stringValue === 'string') return v.stringValue.length;
  if (v.bytesValue) return v.bytesValue.length + ELEMENT_OVERHEAD;
  if (v.arrayValue) {
    let n = 0;
    for (const x of v.arrayValue.values) n += ELEMENT_OVERHEAD + valueSize(x);
    return n;
  }
  if (v.kvlistValue) return attributesSize(v.kvlistValue.values);
  return SCALAR;
}

function attributesSize(kvs: readonly KeyValue[]): number {
  let n = 0;
  for (const kv of kvs) n += ATTRIBUTE_OVERHEAD + kv.key.length + valueSize(kv.value);
  return n;
}

/**
 * About the heap a decoded span holds, from object counts and string lengths: one pass over its
 * attributes, no encoding. Within ~15 % of what V8 reports for typical spans; text outside Latin-1
 * (two bytes a character in V8) is undercounted by up to half.
 */
export function spanSize(s: Span): number {
  let n = SPAN_OVERHEAD + (s.name?.length ?? 0) + (s.traceState?.length ?? 0) + attributesSize(s.attributes);
  if (s.status?.message) n += s.status.message.length;
  for (const e of s.events) n += EVENT_OVERHEAD + (e.name?.length ?? 0) + attributesSize(e.attributes);
  for (const l of s.links) n += LINK_OVERHEAD + (l.traceState?.length ?? 0) + attributesSize(l.attributes);
  return n;
}

/** FNV-1a over a key's characters, with a chosen offset basis so two calls give independent hashes. */
function fnv(key: string, basis: number): number {
  let h = basis;
  for (let i = 0; i < key.length; i++) {
    h ^= key.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** Decision kept per trace id: bit 0 keep, the rest the reason index. */
export type Decision = number;
export const decision = (keep: boolean, reason: number): Decision => (keep ? 1 : 0) | (reason << 1);
export const kept = (d: Decision): boolean => (d & 1) === 1;
export const reasonOf = (d: Decision): number => d >>> 1;

/**
 * Decisions of recent traces, so spans arriving after their trace was decided follow it. Bounded:
 * least recently used first out (a hit moves the id to the back). Ids it forgets leave a 32-bit
 * fingerprint in a direct-mapped table of the same size, so a span of a forgotten trace can be
 * counted as late rather than mistaken for a new trace (an approximation: a slot holds the latest
 * id hashed to it; false matches have odds of 2^-32).
 */
export class DecisionCache {
  readonly #max: number;
  readonly #map = new Map<string, Decision>();
  readonly #forgotten: Uint32Array;

  constructor(max: number) {
    this.#max = max;
    this.#forgotten = new Uint32Array(max);
  }

  get size(): number {
    return this.#map.size;
  }

  get(key: string): Decision | undefined {
    const d = this.#map.get(key);
    if (d !== undefined) {
      this.#map.delete(key);
      this.#map.set(key, d);
    }
    return d;
  }

  set(key: string, d: Decision): void {
    if (this.#max === 0) return;
    this.#map.delete(key);
    this.#map.set(key, d);
    if (this.#map.size > this.#max) {
      const oldest = this.#map.keys().next().value;
      if (oldest !== undefined) {
        this.#map.delete(oldest);
        this.#forgotten[this.#slot(oldest)] = fnv(oldest, 0x811c9dc5) | 1;
      }
    }
  }

  /** True when `key` was decided and then forgotten (approximately, see the class comment). */
  wasForgotten(key: string): boolean {
    if (this.#max === 0) return false;
    return this.#forgotten[this.#slot(key)] === (fnv(key, 0x811c9dc5) | 1) >>> 0;
  }

  #slot(key: string): number {
    return fnv(key, 0x2f6b1e3d) % this.#max;
  }
}
