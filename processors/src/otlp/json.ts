import type protobuf from 'protobufjs';
import { BadRequestError } from './errors.ts';
import { hexToId, ID_FIELDS } from './ids.ts';

/** Deeper than any real payload; bounds the recursion a hostile AnyValue can cause. */
export const MAX_JSON_DEPTH = 128;

function camel(key: string): string {
  return key.includes('_') ? key.replace(/_([a-z0-9])/g, (_m, c: string) => c.toUpperCase()) : key;
}

function kindOf(v: unknown): string {
  return v === null ? 'null' : Array.isArray(v) ? 'array' : typeof v;
}

function wrongType(key: string, want: string, v: unknown): BadRequestError {
  return new BadRequestError(`${key} must be ${want}, got ${kindOf(v)}`);
}

const INT = /^-?\d+$/;
const RANGE_32: Readonly<Record<string, readonly [number, number]>> = {
  int32: [-(2 ** 31), 2 ** 31 - 1],
  sint32: [-(2 ** 31), 2 ** 31 - 1],
  sfixed32: [-(2 ** 31), 2 ** 31 - 1],
  uint32: [0, 2 ** 32 - 1],
  fixed32: [0, 2 ** 32 - 1],
};
const RANGE_64: Readonly<Record<string, readonly [bigint, bigint]>> = {
  int64: [-(2n ** 63n), 2n ** 63n - 1n],
  sint64: [-(2n ** 63n), 2n ** 63n - 1n],
  sfixed64: [-(2n ** 63n), 2n ** 63n - 1n],
  uint64: [0n, 2n ** 64n - 1n],
  fixed64: [0n, 2n ** 64n - 1n],
};
const FLOAT_WORDS = new Set(['NaN', 'Infinity', '-Infinity']);

/**
 * LogRecord.severity_number is the SeverityNumber enum in OTLP, an int32 in our trimmed .proto; senders
 * may spell it by name (`SEVERITY_NUMBER_INFO`), as the Collector accepts.
 */
const SEVERITY_NUMBERS: ReadonlyMap<string, number> = new Map([
  ['SEVERITY_NUMBER_UNSPECIFIED', 0],
  ...['TRACE', 'DEBUG', 'INFO', 'WARN', 'ERROR', 'FATAL'].flatMap((level, i) =>
    ['', '2', '3', '4'].map((n, j): [string, number] => [`SEVERITY_NUMBER_${level}${n}`, 1 + 4 * i + j]),
  ),
]);

/**
 * One scalar as the protobuf JSON mapping allows it (integers as numbers or decimal strings, floats also
 * as "NaN"/"Infinity", enums as numbers or names). protobufjs' fromObject would coerce anything instead
 * (a name of 123 becomes "123", a timestamp of "abc" becomes 0), where the Collector answers 400.
 */
function scalar(field: protobuf.Field, key: string, v: unknown): unknown {
  const t = field.type;
  const enumType = field.resolvedType && 'values' in field.resolvedType ? field.resolvedType : undefined;
  if (enumType) {
    if (typeof v === 'string' && v in enumType.values) return v;
    if (typeof v === 'number' && Number.isInteger(v)) return v;
    throw wrongType(key, `one of the ${enumType.name} names or numbers`, v);
  }
  if (t === 'string' || t === 'bytes') {
    if (typeof v !== 'string') throw wrongType(key, 'a string', v);
    return v;
  }
  if (t === 'bool') {
    if (typeof v !== 'boolean') throw wrongType(key, 'true or false', v);
    return v;
  }
  if (t === 'double' || t === 'float') {
    if (typeof v === 'number') return v;
    if (typeof v === 'string' && (FLOAT_WORDS.has(v) || (v.trim() !== '' && Number.isFinite(Number(v)))))
      return Number(v);
    throw wrongType(key, 'a number', v);
  }
  const r32 = RANGE_32[t];
  if (r32) {
    const severity = key === 'severityNumber' && typeof v === 'string' ? SEVERITY_NUMBERS.get(v) : undefined;
    if (severity !== undefined) return severity;
    const n = typeof v === 'string' && INT.test(v) ? Number(v) : v;
    if (typeof n !== 'number' || !Number.isInteger(n) || n < r32[0] || n > r32[1])
      throw new BadRequestError(`${key} must be a ${t}, got ${JSON.stringify(v)?.slice(0, 40)}`);
    return n;
  }
  const r64 = RANGE_64[t];
  if (r64) {
    const text = typeof v === 'number' && Number.isInteger(v) ? BigInt(v).toString() : v;
    if (typeof text !== 'string' || !INT.test(text) || BigInt(text) < r64[0] || BigInt(text) > r64[1])
      throw new BadRequestError(`${key} must be a ${t}, got ${JSON.stringify(v)?.slice(0, 40)}`);
    return text;
  }
  return v;
}

function fieldValue(field: protobuf.Field, key: string, v: unknown, depth: number): unknown {
  if (ID_FIELDS.has(key)) {
    if (typeof v !== 'string') throw wrongType(key, 'a string', v);
    return hexToId(key, v);
  }
  const resolved = field.resolvedType;
  if (resolved && 'fields' in resolved) return message(resolved, key, v, depth + 1);
  return scalar(field, key, v);
}

/**
 * Checks parsed OTLP/JSON against the message type and rewrites it into what protobufjs' fromObject
 * expects: proto field names accepted alongside lowerCamelCase (as the protobuf JSON mapping requires),
 * hex ids turned into bytes, null taken as the default (absent), unknown fields left out.
 */
function message(type: protobuf.Type, key: string, value: unknown, depth: number): Record<string, unknown> {
  if (depth > MAX_JSON_DEPTH) throw new BadRequestError(`payload nests deeper than ${MAX_JSON_DEPTH} levels`);
  if (value === null || typeof value !== 'object' || Array.isArray(value))
    throw wrongType(key, 'an object', value);
  const out: Record<string, unknown> = {};
  for (const [rawKey, v] of Object.entries(value)) {
    const name = camel(rawKey);
    // Own properties only: `__proto__` or `constructor` must not find Object.prototype's.
    const field = Object.hasOwn(type.fields, name) ? type.fields[name] : undefined;
    if (v === null || !field) continue;
    if (field.repeated) {
      if (!Array.isArray(v)) throw wrongType(name, 'an array', v);
      if (depth + 1 > MAX_JSON_DEPTH)
        throw new BadRequestError(`payload nests deeper than ${MAX_JSON_DEPTH} levels`);
      out[name] = v.map((item) => fieldValue(field, name, item, depth + 1));
    } else out[name] = fieldValue(field, name, v, depth);
  }
  return out;
}

export function fromOtlpJson(type: protobuf.Type, text: string): protobuf.Message {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw new BadRequestError(`invalid JSON: ${(err as Error).message}`);
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new BadRequestError('OTLP/JSON body must be a JSON object');
  }
  try {
    return type.fromObject(message(type, type.name, parsed, 0));
  } catch (err) {
    if (err instanceof BadRequestError) throw err;
    throw new BadRequestError(`invalid OTLP/JSON: ${(err as Error).message}`);
  }
}

function idsToHex(value: unknown): unknown {
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) value[i] = idsToHex(value[i]);
    return value;
  }
  if (value === null || typeof value !== 'object') return value;
  const obj = value as Record<string, unknown>;
  for (const key of Object.keys(obj)) {
    const v = obj[key];
    if (ID_FIELDS.has(key) && typeof v === 'string') obj[key] = Buffer.from(v, 'base64').toString('hex');
    else idsToHex(v);
  }
  return obj;
}

/** OTLP/JSON: lowerCamelCase names, int64 as decimal strings, enums as integers, ids as hex. */
export function toOtlpJson(type: protobuf.Type, message: protobuf.Message): string {
  const obj = type.toObject(message, {
    longs: String,
    enums: Number,
    bytes: String,
    defaults: false,
    oneofs: false,
  });
  return JSON.stringify(idsToHex(obj));
}
