import { createHmac } from 'node:crypto';
import { type Action, type FailClosedReason, failClosedToken, hashToken, maskToken } from './entities.ts';
import { backslashes, isJson, jsonEscaped, rawOffsets, stringLiteralEnd } from './json.ts';
import { type GlobList, isStructuralKey } from './keys.ts';
import type { Finding, Scanner } from './scanner.ts';

/** How a key's value is treated. Nested values inherit `allowed` and `secret` from their parent key. */
export interface KeyInfo {
  /** Never scanned (allow-list). */
  readonly allowed: boolean;
  /** Identifier: only self-identifying entities are looked for. */
  readonly id: boolean;
  /** Replaced whole as entity `secret`, unscanned. */
  readonly secret: boolean;
  /** Protocol vocabulary (`role`, `finish_reason`): never scanned. */
  readonly structural: boolean;
}

export const PLAIN: KeyInfo = { allowed: false, id: false, secret: false, structural: false };

/** Counts of one request, flushed to /metrics by the processor; never written on the data. */
export class Tally {
  /** The `key` label for redactions counted now (set by the walker per attribute or field). */
  metricKey = 'other';
  readonly redactions = new Map<string, number>();
  readonly failClosed = new Map<FailClosedReason, number>();
  /** Per item (span, log record), for the optional summary attribute. */
  itemCount = 0;
  readonly itemEntities = new Set<string>();

  add(entity: string): void {
    const k = `${entity}\u0000${this.metricKey}`;
    this.redactions.set(k, (this.redactions.get(k) ?? 0) + 1);
    this.itemCount++;
    this.itemEntities.add(entity);
  }

  fail(reason: FailClosedReason): void {
    this.failClosed.set(reason, (this.failClosed.get(reason) ?? 0) + 1);
    this.itemCount++;
    this.itemEntities.add('redacted');
  }

  startItem(): void {
    this.itemCount = 0;
    this.itemEntities.clear();
  }
}

export interface TextResult {
  readonly text: string;
  readonly changed: boolean;
  /** An entity whose action is `drop` was found: the attribute holding this value should go. */
  readonly drop: boolean;
  /**
   * When `text` is the value with these regions (ascending, in the value's offsets) replaced by
   * these tokens: lets the JSON walk splice the tokens into the literal instead of re-encoding it.
   */
  readonly replacements?: readonly Replacement[];
}

export interface Replacement {
  readonly start: number;
  readonly end: number;
  readonly token: string;
}

export interface RedactorOptions {
  readonly scanner: Scanner;
  readonly defaultAction: Action;
  readonly actions: ReadonlyMap<string, Action>;
  readonly hmac: { readonly key: Buffer; readonly keyId: string } | undefined;
  readonly maxScanBytes: number;
  /** Whether entity `secret` is selected (secret-named keys are replaced whole). */
  readonly secretKeysEnabled: boolean;
  readonly allowedKeys: GlobList;
  readonly idKeys: GlobList;
  readonly secretKeys: GlobList;
  readonly allowedValues: ReadonlySet<string>;
}

/** Nested JSON inside JSON strings (tool-call arguments inside output messages) is followed this deep. */
const MAX_JSON_NESTING = 4;
const UNCHANGED = (text: string): TextResult => ({ text, changed: false, drop: false });
const TAG_ALPHABET = 'abcdefghijklmnop';

function isJsonSpace(c: number): boolean {
  return c === 32 || c === 9 || c === 10 || c === 13;
}

/** Digits, `.`, `e`, `E`, `+`, `-`: the characters of a JSON number. */
function isNumberChar(c: number): boolean {
  return (c >= 48 && c <= 57) || c === 46 || c === 101 || c === 69 || c === 43 || c === 45;
}

/**
 * Redacts one string value: JSON-aware when it parses as a JSON object or array, plain otherwise.
 * Fails closed: a value over the scan cap, or one whose scan throws, is replaced whole and counted.
 */
export class Redactor {
  readonly #o: RedactorOptions;
  readonly #keys = new Map<string, KeyInfo>();

  constructor(opts: RedactorOptions) {
    this.#o = opts;
  }

  /** Classifies a key (cached; the cache is bounded since keys come from senders). */
  keyInfo(key: string): KeyInfo {
    let info = this.#keys.get(key);
    if (info) return info;
    info = {
      allowed: this.#o.allowedKeys.matches(key),
      id: this.#o.idKeys.matches(key),
      secret: this.#o.secretKeysEnabled && this.#o.secretKeys.matches(key),
      structural: isStructuralKey(key),
    };
    if (this.#keys.size >= 4096) this.#keys.clear();
    this.#keys.set(key, info);
    return info;
  }

  /** A child key's treatment inside a parent's value. */
  childInfo(parent: KeyInfo, key: string): KeyInfo {
    const own = this.keyInfo(key);
    if (!parent.allowed && !parent.secret) return own;
    return { ...own, allowed: own.allowed || parent.allowed, secret: own.secret || parent.secret };
  }

  /** The replacement for a whole value under a secret key. */
  secretValue(value: string, tally: Tally): TextResult {
    return this.#replaceWhole('secret', value, tally);
  }

  /**
   * Redacts a string. `key` is the attribute (or JSON) key it is the value of, for keyword context
   * and identifier treatment; `info` its classification.
   */
  text(value: string, key: string | undefined, info: KeyInfo, tally: Tally): TextResult {
    if (info.allowed || info.structural || value.length === 0) return UNCHANGED(value);
    if (info.secret) return this.secretValue(value, tally);
    if (this.#allowedWhole(value)) return UNCHANGED(value);
    if (this.#tooLarge(value)) return this.#failClosed('too_large', tally);
    try {
      return this.#text(value, key, info, tally, 0);
    } catch {
      return this.#failClosed('error', tally);
    }
  }

  /** Digits of an integer value (a card number sent as an int): scanned as text, replaced by a string token. */
  integer(digits: string, key: string | undefined, info: KeyInfo, tally: Tally): TextResult {
    if (info.allowed || info.structural) return UNCHANGED(digits);
    if (info.secret) return this.secretValue(digits, tally);
    if (digits.replace('-', '').length < 7) return UNCHANGED(digits);
    return this.text(digits, key, info, tally);
  }

  #tooLarge(value: string): boolean {
    const max = this.#o.maxScanBytes;
    if (value.length > max) return true;
    if (value.length * 3 <= max) return false;
    return Buffer.byteLength(value, 'utf8') > max;
  }

  #allowedWhole(value: string): boolean {
    return this.#o.allowedValues.size > 0 && this.#o.allowedValues.has(value.toLowerCase());
  }

  #failClosed(reason: FailClosedReason, tally: Tally): TextResult {
    tally.fail(reason);
    return { text: failClosedToken(reason), changed: true, drop: false };
  }

  #text(value: string, key: string | undefined, info: KeyInfo, tally: Tally, depth: number): TextResult {
    if (depth < MAX_JSON_NESTING) {
      const json = this.#json(value, tally, depth);
      if (json) return json;
    }
    return this.#apply(value, this.#o.scanner.scan(value, key, info.id), tally);
  }

  #action(entity: string): Action {
    return this.#o.actions.get(entity) ?? this.#o.defaultAction;
  }

  #token(entity: string, normalized: string): string {
    const hmac = this.#o.hmac;
    if (this.#action(entity) !== 'hash' || !hmac) return maskToken(entity);
    const digest = createHmac('sha256', hmac.key).update(entity).update('\u0000').update(normalized).digest();
    let tag = '';
    for (let i = 0; i < 8; i++) {
      const b = digest[i] ?? 0;
      tag += (TAG_ALPHABET[b >> 4] ?? '') + (TAG_ALPHABET[b & 15] ?? '');
    }
    return hashToken(entity, hmac.keyId, tag);
  }

  #replaceWhole(entity: string, value: string, tally: Tally): TextResult {
    tally.add(entity);
    return { text: this.#token(entity, value), changed: true, drop: this.#action(entity) === 'drop' };
  }

  #apply(text: string, findings: readonly Finding[], tally: Tally): TextResult {
    if (findings.length === 0) return UNCHANGED(text);
    let out = '';
    let last = 0;
    let drop = false;
    const replacements: Replacement[] = [];
    for (const f of findings) {
      const token = this.#token(f.entity, f.normalized);
      out += text.slice(last, f.start) + token;
      replacements.push({ start: f.start, end: f.end, token });
      last = f.end;
      tally.add(f.entity);
      if (f.entities.some((e) => this.#action(e) === 'drop')) drop = true;
    }
    return { text: out + text.slice(last), changed: true, drop, replacements };
  }

  /**
   * JSON-aware redaction: the text is validated with JSON.parse, then walked token by token; only
   * string (and long number) leaves are rewritten, everything else is copied byte for byte, so
   * the output is valid JSON of the same shape, key order and formatting. Leaves under structural
   * keys (`role`, `finish_reason`, `type`) are left alone and leaves under id keys only get the
   * self-identifying detectors. A leaf that is itself JSON is followed. Iterative: no recursion
   * on nesting depth except for JSON inside strings (bounded).
   */
  #json(text: string, tally: Tally, depth: number): TextResult | undefined {
    let first = 0;
    while (first < text.length && isJsonSpace(text.charCodeAt(first))) first++;
    const open = text[first];
    if (open !== '{' && open !== '[') return undefined;
    if (!isJson(text)) return undefined;
    interface Frame {
      readonly obj: boolean;
      expectKey: boolean;
      key: string | undefined;
      info: KeyInfo;
      readonly parent: KeyInfo;
      renamed?: Map<string, number>;
    }
    const stack: Frame[] = [];
    const escapes = backslashes(text);
    let out = '';
    let last = 0;
    let changed = false;
    let drop = false;
    const replace = (a: number, b: number, s: string) => {
      out += text.slice(last, a) + s;
      last = b;
      changed = true;
    };
    // The key and treatment of the value starting now.
    const valueSite = (): { key: string | undefined; info: KeyInfo } => {
      const top = stack[stack.length - 1];
      return top ? { key: top.key, info: top.info } : { key: undefined, info: PLAIN };
    };
    let i = first;
    const n = text.length;
    while (i < n) {
      const c = text.charCodeAt(i);
      if (c === 123 /* { */ || c === 91 /* [ */) {
        const site = valueSite();
        const obj = c === 123;
        stack.push({ obj, expectKey: obj, key: site.key, info: site.info, parent: site.info });
        i++;
      } else if (c === 125 /* } */ || c === 93 /* ] */) {
        stack.pop();
        i++;
      } else if (c === 44 /* , */) {
        const top = stack[stack.length - 1];
        if (top?.obj) top.expectKey = true;
        i++;
      } else if (c === 58 /* : */) {
        const top = stack[stack.length - 1];
        if (top) top.expectKey = false;
        i++;
      } else if (c === 34 /* " */) {
        const j = stringLiteralEnd(text, i);
        if (j < 0) throw new Error('unterminated string in validated JSON');
        // A literal without escapes is its own value: a slice, not a copy of a long prompt.
        const escaped = escapes.within(i + 1, j - 1);
        const str = escaped ? (JSON.parse(text.slice(i, j)) as string) : text.slice(i + 1, j - 1);
        const top = stack[stack.length - 1];
        if (top?.obj && top.expectKey) {
          top.key = str;
          top.info = this.childInfo(top.parent, str);
          // Keys are scanned too (an email used as a map key); a renamed key stays unique.
          if (!top.parent.allowed && !top.parent.secret) {
            const r = this.#apply(str, this.#o.scanner.scan(str, undefined, false), tally);
            if (r.changed) {
              top.renamed ??= new Map();
              const seen = (top.renamed.get(r.text) ?? 0) + 1;
              top.renamed.set(r.text, seen);
              replace(i, j, JSON.stringify(seen === 1 ? r.text : `${r.text}#${seen}`));
              if (r.drop) drop = true;
            }
          }
        } else {
          const site = valueSite();
          const r = this.#leaf(str, site.key, site.info, tally, depth);
          if (r.changed && r.replacements) {
            // Tokens go into the literal as written: the rest of it is kept byte for byte.
            const reps = r.replacements;
            const bounds = reps.flatMap((x) => [x.start, x.end]);
            const at = escaped ? rawOffsets(text, i + 1, bounds) : bounds.map((b) => i + 1 + b);
            for (let k = 0; k < reps.length; k++)
              replace(at[2 * k] ?? i + 1, at[2 * k + 1] ?? j - 1, jsonEscaped(reps[k]?.token ?? ''));
          } else if (r.changed) replace(i, j, JSON.stringify(r.text));
          if (r.drop) drop = true;
        }
        i = j;
      } else if (c === 45 /* - */ || (c >= 48 && c <= 57)) {
        let j = i + 1;
        while (j < n && isNumberChar(text.charCodeAt(j))) j++;
        const num = text.slice(i, j);
        if (/^-?\d{7,}$/.test(num)) {
          const site = valueSite();
          const r = this.#leaf(num, site.key, site.info, tally, MAX_JSON_NESTING);
          // A number that is an entity becomes a string token: still valid JSON, nothing leaks.
          if (r.changed) replace(i, j, JSON.stringify(r.text));
          if (r.drop) drop = true;
        }
        i = j;
      } else {
        i++; // whitespace, true, false, null
      }
    }
    if (!changed) return { text, changed: false, drop };
    return { text: out + text.slice(last), changed: true, drop };
  }

  #leaf(value: string, key: string | undefined, info: KeyInfo, tally: Tally, depth: number): TextResult {
    if (info.allowed || info.structural || value.length === 0) return UNCHANGED(value);
    if (info.secret) return this.secretValue(value, tally);
    if (this.#allowedWhole(value)) return UNCHANGED(value);
    return this.#text(value, key, info, tally, depth + 1);
  }
}
