import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { RE2JS } from 're2js';
import type { FieldError } from '../../component/factory.ts';
import { DURATION, durationField, sizeField } from '../../config/schema-helpers.ts';
import { type CustomPatternSpec, CustomPatterns, unsupportedConstruct } from './custom.ts';
import { BUILTIN_DETECTORS, type Detector } from './detectors.ts';
import {
  type Action,
  BUILTIN_ENTITIES,
  type BuiltinEntity,
  ENTITY_SELECTION,
  isBuiltinEntity,
  KEY_ID_PATTERN,
} from './entities.ts';
import {
  DEFAULT_ID_KEYS,
  DEFAULT_METRIC_KEYS,
  DEFAULT_SECRET_KEYS,
  GlobList,
  LOCATION_KEYS,
} from './keys.ts';
import { Redactor } from './redactor.ts';
import { Scanner } from './scanner.ts';
import { OtlpRedaction } from './walk.ts';

/** The compiled configuration of one `llm_redaction` processor: every rule is built here, once. */
export interface RedactionConfig {
  /** Effective entities (built-in after group expansion, then custom), for logs and tests. */
  readonly entities: readonly string[];
  readonly redactor: Redactor;
  readonly walker: OtlpRedaction;
  /** The key id written into pseudonyms, when hashing is configured. */
  readonly keyId: string | undefined;
  /** Worker threads that redact requests off the pipeline's thread; 0: inline. */
  readonly workers: number;
  /** A request a worker has not answered in this long is refused and the worker replaced. */
  readonly workerTimeoutMs: number;
  /** The block this was compiled from: each worker compiles its own copy from it. */
  readonly block: Readonly<Record<string, unknown>>;
}

export const DEFAULTS = {
  action: 'mask' as Action,
  minScore: 0.5,
  contextWindow: 30,
  maxScanBytes: 1024 * 1024,
  summary: false,
  workers: 0,
  workerTimeoutMs: 5000,
};

const ACTIONS = ['mask', 'hash', 'drop'] as const;
const STRINGS = { type: 'array', items: { type: 'string', minLength: 1 } } as const;

export const CONFIG_SCHEMA = {
  type: 'object',
  additionalProperties: false,
  properties: {
    entities: { type: 'array', items: { enum: [...BUILTIN_ENTITIES] }, uniqueItems: true },
    action: { enum: [...ACTIONS] },
    actions: { type: 'object', additionalProperties: { enum: [...ACTIONS] } },
    custom_patterns: {
      type: 'array',
      maxItems: 64,
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['name', 'regex'],
        properties: {
          name: { type: 'string', pattern: '^[a-z][a-z0-9_]*$', maxLength: 63 },
          regex: { type: 'string', minLength: 1, maxLength: 4096 },
          action: { enum: [...ACTIONS] },
          group: { type: 'integer', minimum: 0 },
          keywords: STRINGS,
        },
      },
    },
    hmac: {
      type: 'object',
      additionalProperties: false,
      required: ['key_file'],
      properties: { key_file: { type: 'string', minLength: 1 }, key_id: { type: 'string' } },
    },
    allowed_keys: STRINGS,
    allowed_values: STRINGS,
    allowed_value_patterns: STRINGS,
    id_keys: STRINGS,
    secret_keys: STRINGS,
    metric_keys: STRINGS,
    min_score: { type: 'number', minimum: 0, maximum: 1 },
    context_window: { type: 'integer', minimum: 0, maximum: 256 },
    max_scan_bytes: { type: ['string', 'integer'] },
    summary: { type: 'boolean' },
    workers: { type: 'integer', minimum: 0, maximum: 64 },
    worker_timeout: DURATION,
  },
} as const;

function strings(v: unknown): string[] {
  return Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : [];
}

/** `k` + 7 letters from the key's SHA-256: identifies a key without revealing anything usable. */
export function keyFingerprint(key: Buffer): string {
  const d = createHash('sha256').update(key).digest();
  let s = 'k';
  for (let i = 0; s.length < 8; i++) s += 'abcdefghijklmnop'[(d[i] ?? 0) & 15];
  return s;
}

function readKey(path: string, errors: FieldError[]): Buffer | undefined {
  let raw: Buffer;
  try {
    raw = readFileSync(path);
  } catch (err) {
    errors.push({ path: 'hmac.key_file', message: `cannot read ${path}: ${(err as Error).message}` });
    return undefined;
  }
  // Secrets written with `echo` end in a newline that is not part of the key.
  let end = raw.length;
  if (raw[end - 1] === 10) end--;
  if (raw[end - 1] === 13) end--;
  const key = raw.subarray(0, end);
  if (key.length < 16) {
    errors.push({ path: 'hmac.key_file', message: `key must be at least 16 bytes (got ${key.length})` });
    return undefined;
  }
  return Buffer.from(key);
}

/** Checks what the schema cannot and compiles every rule; returns all errors at once. */
export function parseRedactionConfig(
  block: Record<string, unknown>,
  /** Extra detectors (tests inject a failing one to prove fail-closed). */
  extraDetectors: readonly Detector[] = [],
): RedactionConfig | FieldError[] {
  const errors: FieldError[] = [];

  // Entities: config names expand to detectors (api_key selects every credential shape).
  const selected = new Set<BuiltinEntity>();
  const names = block.entities === undefined ? [...BUILTIN_ENTITIES] : strings(block.entities);
  for (const name of names)
    if (isBuiltinEntity(name)) for (const e of ENTITY_SELECTION[name]) selected.add(e);

  // Custom patterns: RE2 only, lookaround and backreferences rejected with the pattern's name.
  const specs: (CustomPatternSpec & { action?: Action })[] = Array.isArray(block.custom_patterns)
    ? (block.custom_patterns as Record<string, unknown>[]).map((p) => ({
        name: String(p.name),
        regex: String(p.regex),
        ...(p.group !== undefined ? { group: Number(p.group) } : {}),
        ...(p.keywords !== undefined ? { keywords: strings(p.keywords) } : {}),
        ...(p.action !== undefined ? { action: p.action as Action } : {}),
      }))
    : [];
  const seen = new Set<string>();
  specs.forEach((s, i) => {
    if (isBuiltinEntity(s.name))
      errors.push({
        path: `custom_patterns.${i}.name`,
        message: `"${s.name}" is a built-in entity; choose another name`,
      });
    else if (seen.has(s.name))
      errors.push({ path: `custom_patterns.${i}.name`, message: `duplicate name "${s.name}"` });
    seen.add(s.name);
  });
  const custom = CustomPatterns.compile(specs);
  if (Array.isArray(custom))
    for (const e of custom) errors.push({ path: `custom_patterns.${e.index}.regex`, message: e.message });

  // Actions: a default, per-entity overrides, per-pattern actions.
  const defaultAction = (block.action as Action | undefined) ?? DEFAULTS.action;
  const actions = new Map<string, Action>();
  const overrides = (block.actions ?? {}) as Record<string, Action>;
  for (const [entity, action] of Object.entries(overrides)) {
    if (!isBuiltinEntity(entity) && !seen.has(entity)) {
      errors.push({
        path: `actions.${entity}`,
        message: `unknown entity (valid: ${[...BUILTIN_ENTITIES, ...seen].join(', ')})`,
      });
      continue;
    }
    if (isBuiltinEntity(entity))
      for (const e of ENTITY_SELECTION[entity]) if (!(e in overrides)) actions.set(e, action);
    actions.set(entity, action);
  }
  for (const s of specs) if (s.action) actions.set(s.name, s.action);
  const entities = [...BUILTIN_ENTITIES.filter((e) => selected.has(e)), ...specs.map((s) => s.name)];
  const hashing = entities.some((e) => (actions.get(e) ?? defaultAction) === 'hash');

  // Keyed pseudonyms: HMAC-SHA256 with a key from a file (a mounted Secret), named by a key id.
  let hmac: { key: Buffer; keyId: string } | undefined;
  const hmacBlock = block.hmac as { key_file?: string; key_id?: string } | undefined;
  if (hashing && !hmacBlock) {
    errors.push({
      path: 'hmac.key_file',
      message: 'must be set when an action is hash (pseudonyms are keyed)',
    });
  } else if (hmacBlock?.key_file) {
    const key = readKey(hmacBlock.key_file, errors);
    const keyId = hmacBlock.key_id ?? (key ? keyFingerprint(key) : '');
    if (hmacBlock.key_id !== undefined && !KEY_ID_PATTERN.test(hmacBlock.key_id))
      errors.push({ path: 'hmac.key_id', message: 'must be 1–32 characters of A-Z a-z 0-9 _ -' });
    if (key) hmac = { key, keyId };
  }

  // Allowed values: literals, and RE2 patterns matched against the whole detected text.
  const allowedValuePatterns: RE2JS[] = [];
  strings(block.allowed_value_patterns).forEach((p, i) => {
    const bad = unsupportedConstruct(p);
    if (bad) {
      errors.push({
        path: `allowed_value_patterns.${i}`,
        message: `uses ${bad}, which RE2 does not support`,
      });
      return;
    }
    try {
      allowedValuePatterns.push(RE2JS.compile(p));
    } catch (err) {
      errors.push({
        path: `allowed_value_patterns.${i}`,
        message: `not valid RE2 syntax: ${(err as Error).message}`,
      });
    }
  });
  const allowedValues = new Set(strings(block.allowed_values).map((v) => v.toLowerCase()));

  const maxScanBytes =
    block.max_scan_bytes === undefined
      ? DEFAULTS.maxScanBytes
      : sizeField('max_scan_bytes', block.max_scan_bytes as string | number, errors);
  if (block.max_scan_bytes !== undefined && maxScanBytes < 1)
    errors.push({ path: 'max_scan_bytes', message: 'must be at least 1 byte' });

  const workerTimeoutMs =
    block.worker_timeout === undefined
      ? DEFAULTS.workerTimeoutMs
      : durationField('worker_timeout', block.worker_timeout as string, errors);
  if (block.worker_timeout !== undefined && workerTimeoutMs <= 0)
    errors.push({ path: 'worker_timeout', message: 'must be longer than 0' });

  if (errors.length > 0 || Array.isArray(custom)) return errors;

  const detectors: Detector[] = [
    ...(Object.keys(BUILTIN_DETECTORS) as BuiltinEntity[])
      .filter((e) => selected.has(e))
      .map((e) => BUILTIN_DETECTORS[e]),
    ...custom.detectors(),
    ...extraDetectors,
  ];
  const scanner = new Scanner({
    detectors,
    minScore: (block.min_score as number | undefined) ?? DEFAULTS.minScore,
    contextWindow: (block.context_window as number | undefined) ?? DEFAULTS.contextWindow,
    allowedValues,
    allowedValuePatterns,
  });
  const redactor = new Redactor({
    scanner,
    defaultAction,
    actions,
    hmac,
    maxScanBytes,
    secretKeysEnabled: selected.has('secret'),
    allowedKeys: new GlobList(strings(block.allowed_keys)),
    idKeys: new GlobList([...DEFAULT_ID_KEYS, ...strings(block.id_keys)]),
    secretKeys: new GlobList([...DEFAULT_SECRET_KEYS, ...strings(block.secret_keys)]),
    allowedValues,
  });
  const walker = new OtlpRedaction(redactor, {
    metricKeys: new Set([...DEFAULT_METRIC_KEYS, ...strings(block.metric_keys), ...LOCATION_KEYS]),
    summary: (block.summary as boolean | undefined) ?? DEFAULTS.summary,
  });
  return {
    entities,
    redactor,
    walker,
    keyId: hmac?.keyId,
    workers: (block.workers as number | undefined) ?? DEFAULTS.workers,
    workerTimeoutMs,
    block: structuredClone(block),
  };
}
