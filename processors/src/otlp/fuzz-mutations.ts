import fc from 'fast-check';

/**
 * Mutations of valid encoded requests, for the fuzz tests only. Random bytes rarely get past a
 * decoder's first tag; mutating real requests reaches the nested parts where bugs live.
 */

interface LengthPrefix {
  /** Where the varint length starts. */
  readonly at: number;
  /** How many bytes the varint takes. */
  readonly size: number;
  readonly value: number;
}

function readVarint(b: Uint8Array, at: number): { value: number; size: number } | undefined {
  let value = 0;
  let scale = 1;
  for (let i = 0; i < 10 && at + i < b.length; i++) {
    const byte = b[at + i] ?? 0;
    value += (byte & 0x7f) * scale;
    scale *= 128;
    if (byte < 0x80) return { value, size: i + 1 };
  }
  return undefined;
}

function writeVarint(n: number): number[] {
  const out: number[] = [];
  let v = n;
  while (v > 127) {
    out.push((v % 128) | 128);
    v = Math.floor(v / 128);
  }
  out.push(v);
  return out;
}

/**
 * The length prefixes of every length-delimited field, found by walking the bytes as protobuf; a
 * payload that parses as a message is walked too, so nested lengths are found as well.
 */
export function lengthPrefixes(
  b: Uint8Array,
  start = 0,
  end = b.length,
  depth = 0,
): LengthPrefix[] | undefined {
  const found: LengthPrefix[] = [];
  let at = start;
  while (at < end) {
    const tag = readVarint(b, at);
    if (!tag || tag.value < 8) return undefined;
    at += tag.size;
    const wire = tag.value % 8;
    if (wire === 0) {
      const v = readVarint(b, at);
      if (!v) return undefined;
      at += v.size;
    } else if (wire === 1) at += 8;
    else if (wire === 5) at += 4;
    else if (wire === 2) {
      const len = readVarint(b, at);
      if (!len || at + len.size + len.value > end) return undefined;
      found.push({ at, size: len.size, value: len.value });
      const inner =
        depth < 64 ? lengthPrefixes(b, at + len.size, at + len.size + len.value, depth + 1) : undefined;
      if (inner) found.push(...inner);
      at += len.size + len.value;
    } else return undefined;
  }
  return at === end ? found : undefined;
}

const MUTATIONS = ['flip', 'truncate', 'length', 'splice', 'insert', 'duplicate', 'overwrite'] as const;

/** One mutation of `base`, chosen and placed by fast-check (so it shrinks to the simplest case). */
export function mutateBytes(base: Uint8Array, other: Uint8Array): fc.Arbitrary<Uint8Array> {
  const n = Math.max(base.length, 1);
  return fc
    .record({
      kind: fc.constantFrom(...MUTATIONS),
      pos: fc.nat(n - 1),
      pos2: fc.nat(Math.max(other.length - 1, 0)),
      bit: fc.nat(7),
      delta: fc.oneof(
        fc.integer({ min: -4, max: 4 }),
        fc.constantFrom(2 ** 31, 2 ** 32, 2 ** 35, -(2 ** 20)),
      ),
      junk: fc.uint8Array({ minLength: 1, maxLength: 16 }),
    })
    .map(({ kind, pos, pos2, bit, delta, junk }) => {
      const b = Uint8Array.from(base);
      switch (kind) {
        case 'flip':
          if (b.length > 0) b[pos] = (b[pos] ?? 0) ^ (1 << bit);
          return b;
        case 'truncate':
          return b.subarray(0, pos);
        case 'length': {
          const prefixes = lengthPrefixes(base) ?? [];
          const p = prefixes[pos % Math.max(prefixes.length, 1)];
          if (!p) return b;
          const value = Math.max(p.value + delta, 0);
          return Uint8Array.from([
            ...base.subarray(0, p.at),
            ...writeVarint(value),
            ...base.subarray(p.at + p.size),
          ]);
        }
        case 'splice':
          return Uint8Array.from([...base.subarray(0, pos), ...other.subarray(pos2)]);
        case 'insert':
          return Uint8Array.from([...base.subarray(0, pos), ...junk, ...base.subarray(pos)]);
        case 'duplicate':
          return Uint8Array.from([...base, ...base.subarray(pos)]);
        default:
          b.set(junk.subarray(0, Math.max(b.length - pos, 0)), pos);
          return b;
      }
    });
}

/** Any JSON value, with the shapes OTLP/JSON uses often enough to hit its fields. */
export const anyJson: fc.Arbitrary<unknown> = fc.jsonValue({ maxDepth: 4 });

/** A path to one node of a parsed JSON document (keys and indexes from the root). */
function paths(value: unknown, prefix: (string | number)[] = [], out: (string | number)[][] = []) {
  out.push(prefix);
  if (Array.isArray(value)) for (const [i, v] of value.entries()) paths(v, [...prefix, i], out);
  else if (value !== null && typeof value === 'object')
    for (const [k, v] of Object.entries(value)) paths(v, [...prefix, k], out);
  return out;
}

function setAt(root: unknown, path: readonly (string | number)[], value: unknown): unknown {
  if (path.length === 0) return value;
  const copy = structuredClone(root) as Record<string | number, unknown>;
  let node = copy;
  for (const key of path.slice(0, -1)) node = node[key] as Record<string | number, unknown>;
  const last = path.at(-1) as string | number;
  if (value === undefined) {
    if (Array.isArray(node)) node.splice(Number(last), 1);
    else delete node[last];
  } else node[last] = value;
  return copy;
}

/**
 * One field of a valid document replaced by a value of another type (or removed, or given as an
 * id of the wrong length): the "wrong type for every field" half of the JSON fuzzing.
 */
export function mutateJson(doc: unknown): fc.Arbitrary<unknown> {
  const all = paths(doc);
  return fc
    .record({
      at: fc.nat(all.length - 1),
      value: fc.oneof(
        anyJson,
        fc.constant(undefined),
        fc.constantFrom('', 'zz', '0'.repeat(31), '0'.repeat(34), 'AAAAAAAAAAAAAAAAAAAAAA==', '-1', '1e400'),
        fc.constantFrom(-1, 2 ** 64, 1.5, Number.MAX_SAFE_INTEGER, true, null, [], {}),
      ),
    })
    .map(({ at, value }) => setAt(doc, all[at] ?? [], value));
}
