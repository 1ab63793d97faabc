import type protobuf from 'protobufjs';
import { BadRequestError } from './errors.ts';
import { hexToId, ID_FIELDS } from './ids.ts';

/** Deeper than any real payload; bounds the recursion a hostile AnyValue can cause. */
export const MAX_JSON_DEPTH = 128;

function camel(key: string): string {
  return key.includes('_') ? key.replace(/_([a-z0-9])/g, (_m, c: string) => c.toUpperCase()) : key;
}

/**
 * Rewrites parsed OTLP/JSON into what protobufjs' fromObject expects: proto field names accepted
 * alongside lowerCamelCase (as the protobuf JSON mapping requires), hex ids turned into bytes.
 */
function normalize(value: unknown, depth: number): unknown {
  if (depth > MAX_JSON_DEPTH) throw new BadRequestError(`payload nests deeper than ${MAX_JSON_DEPTH} levels`);
  if (Array.isArray(value)) return value.map((v) => normalize(v, depth + 1));
  if (value === null || typeof value !== 'object') return value;
  const out: Record<string, unknown> = {};
  for (const [rawKey, v] of Object.entries(value)) {
    const key = camel(rawKey);
    if (ID_FIELDS.has(key) && typeof v === 'string') out[key] = hexToId(key, v);
    else out[key] = normalize(v, depth + 1);
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
    return type.fromObject(normalize(parsed, 0) as Record<string, unknown>);
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
